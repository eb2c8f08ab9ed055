import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {tempDir} from '../helpers/cli.js'
import {frontEndPort, startServer, type RunningServer} from '../helpers/server.js'
import {freePortBelow} from '../../src/net/free-port.js'

// Kyoto Tycoon's own command-line client, ktremotemgr, against a real ktserver and against
// kv serve --kt: the same commands must print the same and exit the same. ktserver and
// ktremotemgr are found on PATH or in $KT_BIN; $KT_LIB is added to their LD_LIBRARY_PATH
// (for a build installed under a prefix, e.g. KT_BIN=/tmp/kt/inst/bin KT_LIB=/tmp/kt/inst/lib).

/**
 * The commands, run in this order against both servers. The reference's database is a
 * prototype tree ('+'), kv's an on-memory B+ tree with expiry times: both ordered, both keep xt.
 */
const SEQUENCE: string[][] = [
  ['clear'],
  ['set', 'a', '1'],
  ['set', '-add', 'a', '2'],
  ['set', '-add', 'b', '2'],
  ['set', '-rep', 'missing', '1'],
  ['set', '-rep', 'b', '3'],
  ['set', '-app', 'b', '4'],
  ['get', 'b'],
  ['set', '-xt', '100', 'x', 'expires'],
  ['get', '-pt', 'x'],
  ['get', '-pt', 'a'],
  ['get', 'missing'],
  ['get', '-px', 'a'],
  ['set', '-inci', 'n', '5'],
  ['set', '-inci', 'n', '3'],
  ['set', '-inci', 'n', '-10'],
  ['get', '-px', 'n'],
  ['set', '-incd', 'd', '1.5'],
  ['set', '-incd', 'd', '1.25'],
  ['set', '-incd', 'd', '0.9'],
  ['get', '-px', 'd'],
  ['set', '-inci', 'a', '1'],
  ['set', '-incd', 'a', '1'],
  ['remove', 'a'],
  ['remove', 'a'],
  ['list'],
  ['list', '-pv'],
  ['list', '-max', '2'],
  ['list', '-pv', '-pt'],
  ['list', '-des', '-pv'],
  ['list', '-pv', 'c'],
  ['list', '-px'],
  ['setbulk', 'k1', 'v1', 'k2', 'v2'],
  ['setbulk', '-bin', 'k3', 'v3', 'k4', 'v4'],
  ['setbulk', '-xt', '100', 'k5', 'v5'],
  ['setbulk', '-bin', '-xt', '100', 'k6', 'v6'],
  ['getbulk', 'k1', 'k2', 'k3', 'missing'],
  ['getbulk', '-bin', 'k1', 'k3', 'k4', 'k6', 'missing'],
  ['getbulk', '-px', 'k1'],
  ['removebulk', 'k1', 'missing'],
  ['removebulk', '-bin', 'k3', 'missing'],
  ['getbulk', '-bin', 'k1', 'k2', 'k3', 'k4'],
  ['list', '-pv', '-pt'],
  ['match', 'k'],
  ['match', '-limit', '1', 'k'],
  ['match', 'nothing'],
  ['regex', '^k[2-5]'],
  ['inform'],
  ['vacuum'],
  ['vacuum', '-step', '1'],
  ['sync'],
  ['sync', '-hard'],
  ['get', '-rm', 'b'],
  ['get', 'b'],
  ['set', '-sx', '00ff', '0a0d'],
  ['get', '-px', '-sx', '00ff'],
  ['remove', '-sx', '00ff'],
  ['list', '-max', '1', '-rm'],
  ['list'],
  ['get', '-db', '1', 'a'],
  ['clear'],
  ['list'],
  ['inform'],
  // The shared test script (test/fixtures/kt-functions.lua), over HTTP and binary.
  ['script', 'echo', 'k1', 'v1', 'k2', 'v2'],
  ['script', '-bin', 'echo', 'k1', 'v1'],
  ['script', 'failing'],
  ['script', '-bin', 'failing'],
  ['script', 'nosuch'],
]

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/kt-functions.lua')

function findProgram(name: string): string | undefined {
  const dirs = [process.env.KT_BIN, ...(process.env.PATH ?? '').split(path.delimiter)].filter((dir): dir is string => !!dir)
  for (const dir of dirs) {
    const candidate = path.join(dir, name)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

const env = {...process.env, LD_LIBRARY_PATH: [process.env.KT_LIB, process.env.LD_LIBRARY_PATH].filter((dir) => !!dir).join(path.delimiter)}
const ktserver = findProgram('ktserver')
const ktremotemgr = findProgram('ktremotemgr')

/** Why the test cannot run here, if it cannot. */
function unavailable(): string | undefined {
  if (!ktserver || !ktremotemgr) return 'ktserver and ktremotemgr are not on PATH or in $KT_BIN'
  // Without arguments it prints its usage and exits with 1; a missing library gives 127.
  const probe = spawnSync(ktremotemgr, [], {env, encoding: 'utf8'})
  if (probe.error || !/usage:/.test(probe.stderr + probe.stdout))
    return `ktremotemgr does not run (set KT_LIB?): ${probe.error?.message ?? probe.stderr.trim()}`
  return undefined
}
const skip = unavailable()

const {dir, cleanup} = tempDir()
const children: ChildProcess[] = []
const servers: RunningServer[] = []
after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
  cleanup()
})

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`ktserver exited with ${child.exitCode}`)
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await sleep(50)
  }
  throw new Error(`nothing listens on ${port}`)
}

interface Outcome {
  command: string
  status: number
  stdout: string
  stderr: string
}

/** Runs ktremotemgr with the server's address after the subcommand. */
function remote(port: number, args: string[]): {status: number; stdout: string; stderr: string} {
  const result = spawnSync(ktremotemgr!, [args[0], '-host', '127.0.0.1', '-port', String(port), ...args.slice(1)], {env, encoding: 'latin1', timeout: 20_000})
  return {status: result.status ?? -1, stdout: result.stdout ?? '', stderr: result.stderr ?? ''}
}

/** What must differ between two servers: the port in messages, absolute times, inform's size. */
function normalize(text: string, port: number): string {
  return text
    .replaceAll(`:${port}:`, ':<port>:')
    .replace(/\d{10,}/g, '<time>')
    .replace(/^size: \d+$/gm, 'size: <size>')
}

function runSequence(port: number): Outcome[] {
  return SEQUENCE.map((args) => {
    const {status, stdout, stderr} = remote(port, args)
    return {command: args.join(' '), status, stdout: normalize(stdout, port), stderr: normalize(stderr, port)}
  })
}

function reportKeys(port: number): Set<string> {
  const {status, stdout} = remote(port, ['report'])
  assert.equal(status, 0, stdout)
  return new Set(
    stdout
      .split('\n')
      .filter((line) => line.includes(':'))
      .map((line) => line.slice(0, line.indexOf(':'))),
  )
}

describe('ktremotemgr against ktserver and kv serve --kt', () => {
  let reference = 0
  let ours = 0

  async function start(): Promise<void> {
    if (reference) return
    reference = await freePortBelow(32768)
    const child = spawn(ktserver!, ['-host', '127.0.0.1', '-port', String(reference), '-log', path.join(dir, 'ktserver.log'), '-scr', SCRIPT, '+'], {
      env,
      stdio: 'ignore',
    })
    children.push(child)
    await waitForPort(reference, child)
    for (let attempt = 0; !ours; attempt++) {
      const port = await freePortBelow(32768)
      try {
        const server = await startServer(['--kt', `127.0.0.1:${port}`, '--script', SCRIPT, '#dbm=baby,expiration=true'])
        servers.push(server)
        ours = await frontEndPort(server, 'kt')
      } catch (error) {
        // The port was taken meanwhile: another one.
        if (attempt >= 5) throw error
      }
    }
  }

  it('prints the same and exits the same for every command', {skip}, async () => {
    await start()
    const theirs = runSequence(reference)
    const mine = runSequence(ours)
    assert.deepEqual(mine, theirs)
    // The sequence did something: errors where errors belong, output where it belongs.
    const outcome = (command: string) => theirs.find((entry) => entry.command === command)!
    assert.equal(outcome('set -add a 2').status, 1)
    assert.match(outcome('set -add a 2').stderr, /record duplication/)
    assert.equal(outcome('set -incd d 0.9').stdout, '3.650000\n')
    assert.equal(outcome('getbulk -bin k1 k3 k4 k6 missing').stdout, 'k1\tv1\nk3\tv3\nk4\tv4\nk6\tv6\n')
    assert.equal(outcome('get -pt x').stdout, 'expires\t<time>\n')
    assert.equal(outcome('script echo k1 v1 k2 v2').stdout, 'k1\tv1\nk2\tv2\n')
    assert.equal(outcome('script -bin echo k1 v1').stdout, 'k1\tv1\n')
    assert.equal(outcome('script failing').status, 1)
  })

  it('report gives every key the reference gives', {skip}, async () => {
    await start()
    const theirs = reportKeys(reference)
    const mine = reportKeys(ours)
    const missing = [...theirs].filter((key) => !mine.has(key))
    assert.deepEqual(missing, [], `kv's report lacks ${missing.join(', ')}`)
    const extra = [...mine].filter((key) => !theirs.has(key))
    assert.deepEqual(extra, [], `kv's report has keys the reference lacks: ${extra.join(', ')}`)
    for (const key of ['db_0', 'db_total_count', 'cnt_set', 'serv_proc_id', 'conf_kt_version']) assert.ok(mine.has(key), key)
  })
})
