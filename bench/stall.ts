// `npm run stall`: the longest pause of `kv serve` while it runs a long operation. A
// server holds a large database; one client sends Get calls back to back and notes when
// each answer arrives, while another asks for the long operation. The report gives the
// longest gap between two answers during the operation, its duration, and the verdict
// against the budget (50 ms): the server must keep answering while it saves or copies.
// STALL_TINY_RECORDS (default 1000000) records in a TinyDBM file, synchronized;
// STALL_HASH_MB (default 320) megabytes of records in a .tkh file, backed up (make_backup).
// STALL_BACKUP_RECORDS (default 1000000) records in a .tkh file, backed up while 4 clients write with update logging on.
// STALL_SWEEP_RECORDS (default 1000000) records with expiration, half expired, swept by the server.
// STALL_TREE_RECORDS (default 1000000) records in a .tkt file, rebuilt, then backed up.
// STALL_SKIP_RECORDS (default 1000000) records in a .tks file, with as many updates queued and synchronized, and
// as many written in order (insert_in_order) and synchronized.
// STALL_KV_BIN: the kv to measure (default: this build's).
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {RemoteDBM} from '../src/client/remote-dbm.js'
import type {ExpiringDBM} from '../src/engine/expiry/expiring-dbm.js'
import {openDBM} from '../src/engine/poly.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
// STALL_KV_BIN runs another build's bin/run.js instead, for a before-and-after comparison.
const KV = process.env.STALL_KV_BIN ?? path.join(ROOT, 'bin', 'run.js')
const BUDGET_MS = 50
const TINY_RECORDS = Number(process.env.STALL_TINY_RECORDS ?? 1_000_000)
const HASH_MB = Number(process.env.STALL_HASH_MB ?? 320)
const TREE_RECORDS = Number(process.env.STALL_TREE_RECORDS ?? 1_000_000)
const SKIP_RECORDS = Number(process.env.STALL_SKIP_RECORDS ?? 1_000_000)
const BACKUP_RECORDS = Number(process.env.STALL_BACKUP_RECORDS ?? 1_000_000)
const SWEEP_RECORDS = Number(process.env.STALL_SWEEP_RECORDS ?? 1_000_000)

function startServer(file: string, extra: string[] = []): Promise<{address: string; stop: () => Promise<number | null>}> {
  return new Promise((resolve, reject) => {
    const child = spawn(KV, ['serve', '--address', '127.0.0.1:0', ...extra, file], {stdio: ['ignore', 'pipe', 'pipe']})
    let log = ''
    const exited = new Promise<number | null>((done) => child.on('exit', done))
    const onData = (chunk: Buffer) => {
      log += chunk.toString()
      const match = /listening on (\S+)/.exec(log)
      if (match) resolve({address: match[1], stop: () => (child.kill('SIGTERM'), exited)})
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}: ${log}`)))
  })
}

/**
 * Runs the operation while a client sends Gets (and `writers` more clients send Sets);
 * returns the longest gap between answers while it ran.
 */
async function measure(
  file: string,
  operation: (client: RemoteDBM) => Promise<void>,
  options: {writers?: number; serverArgs?: string[]} = {},
): Promise<{gapMs: number; tookMs: number; answers: number; writes?: number}> {
  const server = await startServer(file, options.serverArgs)
  const reader = await RemoteDBM.connect(server.address, {timeout: 60})
  const admin = await RemoteDBM.connect(server.address, {timeout: 600})
  const writerClients = await Promise.all(Array.from({length: options.writers ?? 0}, () => RemoteDBM.connect(server.address, {timeout: 60})))
  try {
    // Warm up the connection and the code paths first.
    for (let i = 0; i < 2000; i++) await reader.get(`key${i}`)
    let running = true
    let last = performance.now()
    let gap = 0
    let answers = 0
    const reading = (async () => {
      while (running) {
        await reader.get(`key${answers % 1000}`)
        const now = performance.now()
        gap = Math.max(gap, now - last)
        last = now
        answers++
      }
    })()
    let writes = 0
    const writing = writerClients.map(async (client, w) => {
      for (let i = 0; running; i++) {
        await client.set(`key${(i * 7919 + w * 104729) % 1000000}`, `written${w}-${i}`)
        writes++
      }
    })
    const started = performance.now()
    last = started
    await operation(admin)
    const tookMs = performance.now() - started
    running = false
    await Promise.all([reading, ...writing])
    return {gapMs: gap, tookMs, answers, writes: writerClients.length > 0 ? writes : undefined}
  } finally {
    reader.close()
    admin.close()
    for (const client of writerClients) client.close()
    await server.stop()
  }
}

function report(name: string, result: {gapMs: number; tookMs: number; answers: number; writes?: number}): boolean {
  const ok = result.gapMs <= BUDGET_MS
  const writes = result.writes === undefined ? '' : ` and ${result.writes} Sets`
  console.log(
    `${name}: took ${result.tookMs.toFixed(0)} ms, ${result.answers} Gets${writes} answered meanwhile, longest gap ${result.gapMs.toFixed(1)} ms: ${ok ? 'ok' : 'TOO LONG'} (budget ${BUDGET_MS} ms)`,
  )
  return ok
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-stall-'))
  try {
    let ok = true
    const tiny = path.join(dir, 'casket.tkmt')
    const dbm = openDBM(tiny, new Map(), {writable: true})
    for (let i = 0; i < TINY_RECORDS; i++) dbm.set(`key${i}`, `value${i}`)
    dbm.close()
    const tinyResult = await measure(tiny, (client) => client.synchronize(false))
    ok = report(`Synchronize of a TinyDBM of ${TINY_RECORDS} records`, tinyResult) && ok

    const hash = path.join(dir, 'casket.tkh')
    const big = openDBM(hash, new Map([['num_buckets', '2000000']]), {writable: true})
    const value = Buffer.alloc(1000, 'v')
    const count = Math.ceil((HASH_MB * 2 ** 20) / 1024)
    for (let i = 0; i < count; i++) big.set(`key${i}`, value)
    big.close()
    const size = fs.statSync(hash).size
    const hashResult = await measure(hash, (client) => client.synchronize(false, {make_backup: 'stall'}))
    ok = report(`make_backup of a ${(size / 2 ** 20).toFixed(0)} MB HashDBM file`, hashResult) && ok
    const backup = fs.statSync(`${hash}.backup.stall`).size
    if (backup !== size) {
      console.log(`the backup has ${backup} bytes, the file ${size}`)
      ok = false
    }

    // A backup while four clients write, with update logging on: what the nightly job does.
    const logged = path.join(dir, 'logged.tkh')
    const filled = openDBM(logged, new Map(), {writable: true})
    for (let i = 0; i < BACKUP_RECORDS; i++) filled.set(`key${i}`, `value${i}`)
    filled.close()
    const busy = await measure(logged, (client) => client.synchronize(false, {make_backup: 'busy'}), {
      writers: 4,
      serverArgs: ['--ulog_prefix', path.join(dir, 'ulog')],
    })
    ok = report(`make_backup of a HashDBM of ${BACKUP_RECORDS} records while 4 clients write (update log on)`, busy) && ok

    // The sweep of expired records: half of them have expired when the server starts.
    const expiring = path.join(dir, 'expiring.tkh')
    const timed = openDBM(expiring, new Map([['expiration', 'true']]), {writable: true}) as ExpiringDBM
    const now = Math.floor(Date.now() / 1000)
    for (let i = 0; i < SWEEP_RECORDS; i++) timed.withExpiry(i % 2 ? now - 10 : now + 3600, () => timed.set(`key${i}`, `value${i}`))
    timed.close()
    const swept = await measure(
      `${expiring}#expiration=true`,
      async (client) => {
        while ((await client.count()) > SWEEP_RECORDS / 2) await new Promise((resolve) => setTimeout(resolve, 20))
      },
      {serverArgs: ['--sweep_interval', '4']},
    )
    ok = report(`Sweep of ${SWEEP_RECORDS} records, half of them expired`, swept) && ok

    const tree = path.join(dir, 'casket.tkt')
    const ordered = openDBM(tree, new Map(), {writable: true})
    for (let i = 0; i < TREE_RECORDS; i++) ordered.set(`key${(i * 7919) % TREE_RECORDS}`, `value${i}`)
    ordered.close()
    ok = report(`Rebuild of a TreeDBM of ${TREE_RECORDS} records`, await measure(tree, (client) => client.rebuild())) && ok
    ok = report(`make_backup of a TreeDBM of ${TREE_RECORDS} records`, await measure(tree, (client) => client.synchronize(false, {make_backup: 'stall'}))) && ok

    const skip = path.join(dir, 'casket.tks')
    const sorted = openDBM(skip, new Map(), {writable: true})
    for (let i = 0; i < SKIP_RECORDS; i++) sorted.set(`key${i}`, `value${i}`)
    sorted.close()
    const skipResult = await measure(skip, async (client) => {
      for (let i = 0; i < SKIP_RECORDS; i += 1000) {
        await client.setMulti(Array.from({length: Math.min(1000, SKIP_RECORDS - i)}, (_, j): [string, string] => [`key${(i + j) * 7}`, 'updated']))
      }
      await client.synchronize(false, {reducer: 'last'})
    })
    ok = report(`Loading and synchronizing ${SKIP_RECORDS} updates into a SkipDBM of ${SKIP_RECORDS} records`, skipResult) && ok

    // Records written in order go to a file of their own as they come; the synchronize merges it in.
    const inOrder = path.join(dir, 'in-order.tks')
    const base = openDBM(inOrder, new Map(), {writable: true})
    for (let i = 0; i < SKIP_RECORDS; i++) base.set(`key${i}`, `value${i}`)
    base.close()
    const inOrderResult = await measure(`${inOrder}#insert_in_order=true`, async (client) => {
      for (let i = 0; i < SKIP_RECORDS; i += 1000) {
        const batch = Array.from({length: Math.min(1000, SKIP_RECORDS - i)}, (_, j): [string, string] => [`keyz${String(i + j).padStart(9, '0')}`, 'added'])
        await client.setMulti(batch)
      }
      await client.synchronize(false)
    })
    ok = report(`Writing ${SKIP_RECORDS} records in order into a SkipDBM of ${SKIP_RECORDS} records, then synchronizing`, inOrderResult) && ok
    return ok ? 0 : 1
  } finally {
    fs.rmSync(dir, {recursive: true, force: true})
  }
}

process.exit(await main())
