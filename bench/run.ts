// `npm run bench`: measures kv side by side with Tkrzw's programs where they are on the PATH
// (see side-by-side.ts: the engine next to tkrzw_dbm_perf; the call path under
// tkrzw_dbm_remote_perf, next to tkrzw_server; kv's client; start-up), then the server under
// kv perf, and writes bench-report.md and bench-report.json.
// Sizes: BENCH_ITER (local, default 1000000), BENCH_REMOTE_ITER (per worker, default 10000),
// BENCH_THREADS (server workers, default 4), BENCH_KT_RECORDS (Kyoto Tycoon rows, default 20000),
// BENCH_KT_ROUNDS (their alternating rounds, default 5), BENCH_ENGINE_ROUNDS (the engine rows' rounds, default 3);
// BENCH_OUT, the directory for the report.
import {spawnSync} from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {answersEcho, callPathRows, engineRows, has, ktRows, sideBySideMarkdown, startServer, type SideBySideRow} from './side-by-side.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const KV = path.join(ROOT, 'bin', 'run.js')
const ITER = Number(process.env.BENCH_ITER ?? 1_000_000)
const REMOTE_ITER = Number(process.env.BENCH_REMOTE_ITER ?? 10_000)
const THREADS = Number(process.env.BENCH_THREADS ?? 4)
/** Records each Kyoto Tycoon row sets and gets one request at a time (ten times as many in bulk). */
const KT_RECORDS = Number(process.env.BENCH_KT_RECORDS ?? 20_000)
const KT_ROUNDS = Number(process.env.BENCH_KT_ROUNDS ?? 5)
const ENGINE_ROUNDS = Number(process.env.BENCH_ENGINE_ROUNDS ?? 3)
const OUT = path.resolve(process.env.BENCH_OUT ?? '.')

interface ServerRow {
  server: string
  database: string
  scenario: string
  qps: number
  p50: number
  p99: number
  errors: number
}

function note(text: string): void {
  process.stderr.write(`${text}\n`)
}

function kvPerf(address: string, args: string[]): {qps: number; p50: number; p99: number; errors: number}[] {
  const result = spawnSync(KV, ['perf', ...args, '--address', address, '--json'], {encoding: 'utf8', maxBuffer: 64 << 20})
  if (result.status !== 0 && !result.stdout) throw new Error(`kv perf ${args.join(' ')} failed: ${result.stderr}`)
  const report = JSON.parse(result.stdout) as {
    phases?: {qps: number; latency: {p50: number; p99: number}}[]
    qps?: number
    latency?: {p50: number; p99: number}
    errors?: string[]
  }
  const phases = report.phases ?? [report as {qps: number; latency: {p50: number; p99: number}}]
  return phases.map((phase) => ({qps: phase.qps, p50: phase.latency.p50, p99: phase.latency.p99, errors: report.errors?.length ?? 0}))
}

async function benchServer(
  name: string,
  program: string,
  argsFor: (address: string, dir: string) => string[],
  dir: string,
  port: number,
): Promise<ServerRow[]> {
  const address = `127.0.0.1:${port}`
  const server = await startServer(program, argsFor(address, dir), answersEcho(KV, address))
  const rows: ServerRow[] = []
  try {
    for (const [index, database] of [
      [0, 'tiny'],
      [1, 'hash'],
    ] as const) {
      note(`server: ${name}, ${database}`)
      const common = ['--index', String(index), '--iter', String(REMOTE_ITER), '--threads', String(THREADS), '--separate']
      const sequence = kvPerf(address, ['sequence', ...common, '--set_only'])
      rows.push({server: name, database, scenario: `set, ${THREADS} workers`, ...sequence[0]})
      const gets = kvPerf(address, ['sequence', ...common, '--get_only'])
      rows.push({server: name, database, scenario: `get, ${THREADS} workers`, ...gets[0]})
      const streamed = kvPerf(address, ['sequence', ...common, '--set_only', '--stream'])
      rows.push({server: name, database, scenario: `set in streams, ${THREADS} workers`, ...streamed[0]})
      const parallel = kvPerf(address, ['parallel', ...common, '--random_key'])
      rows.push({server: name, database, scenario: `parallel, ${THREADS} workers`, ...parallel[0]})
    }
    const queue = kvPerf(address, ['queue', '--iter', String(Math.ceil(REMOTE_ITER / 4)), '--threads', String(THREADS), '--notify'])
    rows.push({server: name, database: 'tiny', scenario: `queue, ${THREADS}+${THREADS} workers`, ...queue[0]})
  } finally {
    await server.stop()
  }
  return rows
}

const count = (n?: number): string => (n === undefined ? '' : Math.round(n).toLocaleString('en-US'))

function markdown(sideBySide: SideBySideRow[], server: ServerRow[]): string {
  const lines = [
    `# kv benchmark, ${new Date().toISOString()}`,
    '',
    `Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.cpus()[0]?.model ?? ''}`,
    '',
  ]
  lines.push(`## Side by side (engine: ${ITER} records; calls: ${REMOTE_ITER} per worker, ${THREADS} workers)`, '')
  lines.push(...sideBySideMarkdown(sideBySide))
  lines.push('', `## Server: \`kv perf\`, ${REMOTE_ITER} calls per worker`, '')
  lines.push('| server | database | scenario | calls/s | p50 ms | p99 ms | errors |', '|---|---|---|---|---|---|---|')
  for (const row of server)
    lines.push(`| ${row.server} | ${row.database} | ${row.scenario} | ${count(row.qps)} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} | ${row.errors} |`)
  return `${lines.join('\n')}\n`
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-bench-'))
try {
  const sideBySide = [
    ...engineRows(KV, dir, ITER, ENGINE_ROUNDS, note),
    ...(await callPathRows(KV, dir, REMOTE_ITER, THREADS, note)),
    ...(await ktRows(KV, KT_RECORDS, KT_ROUNDS, note)),
  ]
  const server = await benchServer('kv serve', KV, (address, where) => ['serve', '--address', address, '#dbm=tiny', path.join(where, 'server.tkh')], dir, 19781)
  if (has('tkrzw_server')) {
    server.push(
      ...(await benchServer(
        'tkrzw_server',
        'tkrzw_server',
        (address, where) => ['--address', address, '#dbm=tiny', path.join(where, 'tkrzw-server.tkh')],
        dir,
        19782,
      )),
    )
  } else {
    note('tkrzw_server is not on the PATH: the server rows show kv serve alone')
  }
  fs.mkdirSync(OUT, {recursive: true})
  fs.writeFileSync(
    path.join(OUT, 'bench-report.json'),
    `${JSON.stringify({iterations: ITER, remoteIterations: REMOTE_ITER, threads: THREADS, sideBySide, server}, null, 2)}\n`,
  )
  const report = markdown(sideBySide, server)
  fs.writeFileSync(path.join(OUT, 'bench-report.md'), report)
  process.stdout.write(report)
} finally {
  fs.rmSync(dir, {recursive: true, force: true})
}
