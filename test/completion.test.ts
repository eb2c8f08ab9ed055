import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, describe, it} from 'node:test'
import {tempDir} from './helpers/cli.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SCRIPT = path.join(ROOT, 'completion', 'kv.bash')
const {dir, cleanup} = tempDir()
after(cleanup)

/** What bash completes for a command line typed so far, in `dir`. */
function complete(line: string): string[] {
  const words = line.split(' ')
  const result = spawnSync(
    'bash',
    ['-c', 'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _kv_complete; printf "%s\\n" "${COMPREPLY[@]}"', SCRIPT, ...words],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  )
  assert.equal(result.status, 0, result.stderr)
  return result.stdout.split('\n').filter(Boolean)
}

describe('bash completion', () => {
  it('matches the command definitions (run npm run man after changing a command)', () => {
    const result = spawnSync(process.execPath, ['scripts/gen-completion.js', '--check'], {cwd: ROOT, encoding: 'utf8'})
    assert.equal(result.status, 0, result.stderr)
  })

  it('completes commands, flags, the values of enumerated flags, and file names', () => {
    fs.writeFileSync(path.join(dir, 'casket.tkh'), '')
    fs.writeFileSync(path.join(dir, 'cache.tkmc'), '')
    assert.deepEqual(complete('kv d'), ['dbm'])
    assert.deepEqual(complete('kv dbm li'), ['list'])
    assert.deepEqual(complete('kv dbm perf '), ['parallel', 'rebuild', 'sequence', 'wicked'])
    assert.deepEqual(complete('kv dbm create --record_comp z'), ['zlib', 'zstd'])
    assert.deepEqual(complete('kv dbm get --dbm b'), ['baby'])
    assert.deepEqual(complete('kv serve --log_level w'), ['warn'])
    assert.deepEqual(complete('kv dbm get --no_'), ['--no_wait', '--no_lock'])
    assert.deepEqual(complete('kv dbm get ca').sort(), ['cache.tkmc', 'casket.tkh'])
    assert.deepEqual(complete('kv dbm perf sequence --path cas'), ['casket.tkh'])
    assert.deepEqual(complete('kv dbm get --params ca'), [], 'free text has nothing to offer')
    fs.writeFileSync(path.join(dir, 'my db.tkh'), '')
    assert.deepEqual(complete('kv dbm get my'), ['my db.tkh'], 'a file name with a space stays whole')
  })
})
