import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, describe, it} from 'node:test'
import {makeCerts} from './helpers/certs.js'
import {KV_COMMAND, hasProgram, tempDir} from './helpers/cli.js'

// Every shell example of the README runs as written, block by block, in one fresh
// directory. Lines that start kv serve start a server (on this test's socket, which
// KV_ADDRESS hands to every command) and check that it comes up; the other lines of a
// block run against the block's first server, or against an on-memory one when the block
// has none. npm lines are the quick start itself, which CI runs.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const {dir: root, cleanup} = tempDir()
after(cleanup)
// Each block runs in a fresh directory of its own: the examples of one do not lean on another's files.
let dir = root
const SOCKET = `unix:${path.join(root, 'kv.sock')}`
const ENV = {...process.env, KV_ADDRESS: SOCKET, NO_COLOR: '1', CI: '1'}

/** The sh blocks of the README, each a list of command lines without their comments. */
function shellBlocks(): {title: string; lines: string[]}[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const blocks: {title: string; lines: string[]}[] = []
  let title = ''
  let current: string[] | undefined
  for (const line of text.split('\n')) {
    if (current === undefined && line.startsWith('#')) title = line.replace(/^#+\s*/, '')
    if (line.startsWith('```')) {
      if (current) {
        blocks.push({title, lines: current})
        current = undefined
      } else if (line.trim() === '```sh') {
        current = []
      }
      continue
    }
    // A comment is set off by two spaces or more, so that a # inside an argument stays.
    const command = line.replace(/\s{2,}#.*$/, '').trim()
    if (current && command !== '') current.push(command)
  }
  return blocks
}

function runLine(line: string): {status: number; output: string} {
  const result = spawnSync('bash', ['-c', `set -o pipefail; kv() { ${KV_COMMAND} "$@"; }; ${line}`], {cwd: dir, env: ENV, encoding: 'utf8', timeout: 120_000})
  return {status: result.status ?? -1, output: `${result.stdout}${result.stderr}`}
}

/** Starts a kv serve line, resolves once it listens, and returns how to stop it. */
async function serve(line: string): Promise<() => Promise<void>> {
  // The test's socket instead of the address written (KV_ADDRESS is the default).
  const args = line.replace(/^kv serve\s*/, '').replace(/--address\s+\S+\s*/, '')
  if (/--daemon/.test(args)) {
    const started = runLine(`kv serve ${args}`)
    assert.equal(started.status, 0, `${line}: ${started.output}`)
    const pidFile = /--pid_file\s+(\S+)/.exec(args)?.[1]
    assert.ok(pidFile, `${line}: a daemon needs --pid_file to be stopped`)
    const pid = Number(fs.readFileSync(path.join(dir, pidFile), 'utf8'))
    return async () => {
      process.kill(pid, 'SIGTERM')
      for (let i = 0; i < 100 && fs.existsSync(path.join(dir, pidFile)); i++) await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  const child = spawn('bash', ['-c', `exec ${KV_COMMAND} serve ${args}`], {cwd: dir, env: ENV, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (/listening on /.test(output)) resolve()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${line} exited with ${code}: ${output}`)))
  })
  return async () => {
    child.kill('SIGTERM')
    await exited
  }
}

describe('the README', {skip: !hasProgram('openssl') && 'openssl is needed for the TLS example'}, () => {
  for (const [n, block] of shellBlocks().entries()) {
    it(`runs example block ${n + 1} (${block.title}) as written`, async () => {
      dir = path.join(root, `block-${n + 1}`)
      fs.mkdirSync(dir)
      if (block.lines.some((line) => line.includes('--auth'))) makeCerts(dir)
      const lines = block.lines.filter((line) => !line.startsWith('npm '))
      const servers = lines.filter((line) => line.startsWith('kv serve'))
      const others = lines.filter((line) => !line.startsWith('kv serve'))
      // Every server but the first comes up and goes again; the first serves the other lines.
      for (const line of servers.slice(1)) await (await serve(line))()
      const needsServer = others.some((line) => /^kv (remote|perf) /.test(line))
      const stop = servers.length > 0 ? await serve(servers[0]) : needsServer ? await serve('kv serve') : undefined
      try {
        for (const line of others) {
          const result = runLine(line)
          assert.equal(result.status, 0, `${line}\n${result.output}`)
        }
      } finally {
        await stop?.()
      }
    })
  }
})
