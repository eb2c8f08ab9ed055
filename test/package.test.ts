import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, describe, it} from 'node:test'
import {tempDir} from './helpers/cli.js'

// kv as its users get it: the packed tarball, installed into a scratch package (from npm's
// cache where it can), used from JavaScript, TypeScript and the command line.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const {dir, cleanup} = tempDir()
after(cleanup)

function sh(command: string, args: string[], cwd: string): {status: number; stdout: string; stderr: string} {
  const result = spawnSync(command, args, {cwd, encoding: 'utf8', env: {...process.env, npm_config_loglevel: 'error'}})
  return {status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? ''}
}

describe('the npm package', () => {
  let tarball = ''

  it('packs what a user needs and nothing else', () => {
    // Without scripts: the tree is built already, and other tests are running from dist/.
    const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)
    assert.equal(packed.status, 0, packed.stderr)
    const [info] = JSON.parse(packed.stdout) as {filename: string; files: {path: string}[]}[]
    tarball = path.join(dir, info.filename)
    const files = info.files.map((file) => file.path)
    for (const wanted of [
      'LICENSE',
      'README.md',
      'bin/run.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'man/kv.1',
      'native/kvfile.c',
      'oclif.manifest.json',
    ]) {
      assert.ok(files.includes(wanted), `${wanted} is missing`)
    }
    assert.deepEqual(
      files.filter((file) => file.startsWith('dist/test') || file.startsWith('dist/bench') || file.endsWith('.map') || file.startsWith('test/')),
      [],
    )
  })

  it('installs into a scratch package and works as a library, with types, and as a command', () => {
    assert.ok(tarball, 'packed')
    const scratch = path.join(dir, 'scratch')
    fs.mkdirSync(scratch)
    fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({name: 'scratch', version: '1.0.0', type: 'module', private: true}))
    const installed = sh('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], scratch)
    assert.equal(installed.status, 0, installed.stderr)

    fs.writeFileSync(
      path.join(scratch, 'use.mjs'),
      `import {openConfig, StatusError, Code} from 'kv'
const dbm = openConfig('casket.tkh#num_buckets=1000')
dbm.set('apple', 'red')
console.log(dbm.get('apple').toString(), dbm.className)
dbm.close()
try { openConfig('x.unknown') } catch (error) { console.log(error instanceof StatusError && error.code === Code.INVALID_ARGUMENT_ERROR) }
`,
    )
    const used = sh(process.execPath, ['use.mjs'], scratch)
    assert.equal(used.stdout, 'red HashDBM\ntrue\n', used.stderr)

    fs.writeFileSync(
      path.join(scratch, 'use.ts'),
      `import {openConfig, RemoteDBM, type DBM, type WriteObserver} from 'kv'
const dbm: DBM = openConfig('typed.tkh')
const observer: WriteObserver = {afterWrite: (change) => console.log(change.op)}
dbm.addWriteObserver(observer)
const connect: typeof RemoteDBM.connect = RemoteDBM.connect
export {connect}
`,
    )
    fs.writeFileSync(
      path.join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node']},
        files: ['use.ts'],
      }),
    )
    const typed = sh(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], scratch)
    assert.equal(typed.status, 0, typed.stdout + typed.stderr)

    const command = sh(path.join(scratch, 'node_modules', '.bin', 'kv'), ['dbm', 'get', 'casket.tkh', 'apple'], scratch)
    assert.equal(command.stdout, 'red\n', command.stderr)
  })
})
