// `npm run soak`: many clients run mixed operations against `kv serve` on a hash file for a
// while; the run fails unless every call succeeds, every client reads back exactly what
// it wrote, and the server's memory stays flat after a warm-up.
// SOAK_CLIENTS (default 16), SOAK_SECONDS (default 60), SOAK_WARMUP (default 20).
// Flat means: the average over the last third of the run after the warm-up is within 15%
// of the average over its first third (garbage collection makes single samples jump).
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {RemoteDBM} from '../src/client/remote-dbm.js'
import {makeRandom} from '../src/perf/local.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const KV = path.join(ROOT, 'bin', 'run.js')
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 16)
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const WARMUP = Number(process.env.SOAK_WARMUP ?? 20)
// The server's own memory may grow this much between the end of the warm-up and the end:
// more is a leak. Pages of the mapped database file are the file's, not the process's,
// and grow with the data; they are reported apart.
const RSS_SLACK = 0.15

/** Resident memory of a process: its own (anonymous) and the mapped files' pages. */
function memoryOf(pid: number): {anon: number; file: number} {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024
  return {anon: field('RssAnon'), file: field('RssFile')}
}

function startServer(file: string): Promise<{address: string; pid: number; stop: () => Promise<number | null>}> {
  return new Promise((resolve, reject) => {
    const child = spawn(KV, ['serve', '--address', '127.0.0.1:0', file], {stdio: ['ignore', 'pipe', 'pipe']})
    let log = ''
    const exited = new Promise<number | null>((done) => child.on('exit', done))
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      const match = /listening on (\S+)/.exec(log)
      if (match) resolve({address: match[1], pid: child.pid!, stop: () => (child.kill('SIGTERM'), exited)})
    })
    child.on('exit', (code) => reject(new Error(`kv serve exited with ${code}: ${log}`)))
  })
}

interface ClientReport {
  operations: number
  errors: string[]
}

/** One client: its own keys, a model of them, and a mix of unary calls, streams and iteration. */
async function client(address: string, id: number, until: number): Promise<ClientReport> {
  const db = await RemoteDBM.connect(address, {timeout: 30})
  const random = makeRandom(id + 1)
  const model = new Map<string, string>()
  const report: ClientReport = {operations: 0, errors: []}
  const key = () => `c${id}:k${Math.floor(random() * 2000)}`
  const value = () => `${id}:${'v'.repeat(Math.floor(random() * 300))}`
  // Values that grew by appending start over, so that the data stays the same size.
  const appendable = (k: string) => (model.get(k)?.length ?? 0) < 1500
  try {
    while (Date.now() < until && report.errors.length < 10) {
      const roll = random()
      const k = key()
      try {
        if (roll < 0.35) {
          const v = value()
          await db.set(k, v)
          model.set(k, v)
        } else if (roll < 0.65) {
          const got = (await db.get(k))?.toString()
          if (got !== model.get(k)) report.errors.push(`get ${k}: ${got?.length} bytes, expected ${model.get(k)?.length}`)
        } else if (roll < 0.75) {
          if (model.has(k)) {
            await db.remove(k)
            model.delete(k)
          }
        } else if (roll < 0.85) {
          const v = value()
          if (appendable(k)) {
            await db.append(k, v, ',')
            model.set(k, model.has(k) ? `${model.get(k)},${v}` : v)
          } else {
            await db.set(k, v)
            model.set(k, v)
          }
        } else if (roll < 0.95) {
          // A burst on a stream.
          const stream = db.makeStream()
          const writes: Promise<void>[] = []
          for (let i = 0; i < 50; i++) {
            const sk = key()
            const v = value()
            writes.push(stream.set(sk, v))
            model.set(sk, v)
          }
          await Promise.all(writes)
          stream.close()
          report.operations += 49
        } else {
          await db.count()
          await db.echo('soak')
        }
        report.operations++
      } catch (error) {
        report.errors.push(`${(error as Error).message}`)
      }
    }
    // Everything this client wrote reads back.
    for (const [k, v] of model) {
      const got = (await db.get(k))?.toString()
      if (got !== v) report.errors.push(`final ${k}: ${got?.length} bytes, expected ${v.length}`)
    }
  } finally {
    db.close()
  }
  return report
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-soak-'))
  const server = await startServer(path.join(dir, 'soak.tkh'))
  const started = Date.now()
  const until = started + SECONDS * 1000
  const samples: {at: number; anon: number; file: number}[] = []
  const sampler = setInterval(() => samples.push({at: (Date.now() - started) / 1000, ...memoryOf(server.pid)}), 1000)
  let failed = false
  try {
    const reports = await Promise.all(Array.from({length: CLIENTS}, (_, id) => client(server.address, id, until)))
    clearInterval(sampler)
    const operations = reports.reduce((sum, r) => sum + r.operations, 0)
    const errors = reports.flatMap((r) => r.errors)
    const warm = samples.filter((s) => s.at >= WARMUP)
    const third = Math.max(1, Math.floor(warm.length / 3))
    const average = (part: typeof warm) => part.reduce((sum, s) => sum + s.anon, 0) / Math.max(1, part.length)
    const atWarm = average(warm.slice(0, third))
    const atEnd = average(warm.slice(-third))
    const peak = Math.max(...samples.map((s) => s.anon))
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`
    const every5 = (pick: (s: {anon: number; file: number}) => number) =>
      samples
        .filter((_, i) => i % 5 === 4)
        .map((s) => (pick(s) / 2 ** 20).toFixed(0))
        .join(' ')
    process.stdout.write(
      `${CLIENTS} clients, ${SECONDS} s: ${operations} operations (${Math.round(operations / SECONDS)}/s), ${errors.length} errors\n` +
        `server memory (RssAnon): ${mb(atWarm)} on average just after the ${WARMUP} s warm-up, ${mb(atEnd)} at the end, ${mb(peak)} at most\n` +
        `RssAnon each 5 s, MB: ${every5((s) => s.anon)}\n` +
        `RssFile (mapped database and code) each 5 s, MB: ${every5((s) => s.file)}\n`,
    )
    for (const error of errors.slice(0, 10)) process.stdout.write(`  error: ${error}\n`)
    if (errors.length > 0) failed = true
    if (atWarm > 0 && atEnd > atWarm * (1 + RSS_SLACK)) {
      process.stdout.write(`memory grew by ${(((atEnd - atWarm) / atWarm) * 100).toFixed(0)}% after the warm-up\n`)
      failed = true
    }
  } finally {
    clearInterval(sampler)
    const status = await server.stop()
    if (status !== 0) {
      process.stdout.write(`kv serve exited with ${status}\n`)
      failed = true
    }
    fs.rmSync(dir, {recursive: true, force: true})
  }
  process.exit(failed ? 1 : 0)
}

await main()
