// The side-by-side rows of `npm run bench`: kv next to Tkrzw-RPC's server and tools, the same
// driver for both, one at a time. Each row says what ran; a reference that is not on the
// PATH leaves its column empty.
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {freePortBelow} from '../src/net/free-port.js'

export interface SideBySideRow {
  /** What was measured, and with what driver. */
  workload: string
  /** The unit of both figures. */
  unit: string
  kv?: number
  reference?: number
  /** Which program the reference figure is. */
  referenceName: string
  /** Whether more is better (throughput) or less (time, CPU, memory). */
  higherIsBetter: boolean
  /** How the figures were taken, where a row needs saying (rounds, spread). */
  detail?: string
}

export function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout.trim()) || 100

/** CPU seconds a process has used so far (user and system). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** A probe that succeeds once a server at the address answers kv's echo. */
export function answersEcho(kv: string, address: string): () => boolean {
  return () => spawnSync(kv, ['remote', 'echo', '--address', address, '--timeout', '1', 'ping'], {stdio: 'ignore'}).status === 0
}

/** Starts a server and resolves once `probe` succeeds against it. */
export async function startServer(program: string, args: string[], probe: () => boolean): Promise<{child: ChildProcess; stop: () => Promise<void>}> {
  const child = spawn(program, args, {stdio: 'ignore'})
  const deadline = Date.now() + 20000
  while (!probe()) {
    if (child.exitCode !== null) throw new Error(`${program} exited with ${child.exitCode} before answering`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${program} did not answer within 20 s`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  return {
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done()
        child.on('exit', () => done())
        child.kill('SIGTERM')
      }),
  }
}

/** "Setting done: ... qps=N" of Tkrzw's perf tools (and kv's, which print the same lines). */
function qpsOf(text: string, label: string): number | undefined {
  const match = new RegExp(`^${label} done: .*?qps=(\\d+)`, 'm').exec(text)
  return match ? Number(match[1]) : undefined
}

function run(program: string, args: string[]): string {
  const result = spawnSync(program, args, {encoding: 'utf8', maxBuffer: 64 << 20, timeout: 600_000})
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${result.stderr || result.error?.message}`)
  return result.stdout
}

/** Runs a perf driver, reading the server's CPU time as each phase reports: phase label to throughput and CPU seconds. */
function phaseCpu(program: string, args: string[], serverPid: number): Promise<Map<string, {qps: number; cpu: number}>> {
  return new Promise((resolve, reject) => {
    const phases = new Map<string, {qps: number; cpu: number}>()
    let last = cpuSeconds(serverPid)
    const child = spawn(program, args, {stdio: ['ignore', 'pipe', 'pipe']})
    let pending = ''
    let errors = ''
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      let newline: number
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        const match = /^(\w+) done: .*?qps=(\d+)/.exec(line)
        if (!match) continue
        const now = cpuSeconds(serverPid)
        phases.set(match[1], {qps: Number(match[2]), cpu: now - last})
        last = now
      }
    })
    child.on('exit', (code) => (code === 0 ? resolve(phases) : reject(new Error(`${program} ${args.join(' ')} failed: ${errors}`))))
  })
}

/** Milliseconds a command takes, the median of `runs` (after one to warm the caches). */
function medianMillis(program: string, args: string[], runs = 7): number {
  const times: number[] = []
  for (let i = 0; i <= runs; i++) {
    const started = performance.now()
    const result = spawnSync(program, args, {stdio: 'ignore'})
    if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed`)
    if (i > 0) times.push(performance.now() - started)
  }
  return median(times)
}

interface ServerUnderTest {
  name: string
  start(port: number, dir: string): Promise<{child: ChildProcess; stop: () => Promise<void>}>
}

/**
 * The rows of the unary and streamed call path, the client and start-up: the reference
 * driver (tkrzw_dbm_remote_perf) against kv serve and tkrzw_server --threads 2, server CPU
 * per call, kv's own client against tkrzw_server, `kv remote get` and `kv --help`.
 */
export async function callPathRows(kv: string, dir: string, iterations: number, threads: number, note: (text: string) => void): Promise<SideBySideRow[]> {
  const rows: SideBySideRow[] = []
  const driver = has('tkrzw_dbm_remote_perf') ? 'tkrzw_dbm_remote_perf' : undefined
  const reference = has('tkrzw_server') ? 'tkrzw_server' : undefined
  const echo = (port: number) => answersEcho(kv, `127.0.0.1:${port}`)
  const servers: ServerUnderTest[] = [
    {
      name: 'kv',
      start: (port, where) => startServer(kv, ['serve', '--address', `127.0.0.1:${port}`, `${path.join(where, 'calls.tkh')}#num_buckets=1000000`], echo(port)),
    },
  ]
  if (reference) {
    servers.push({
      name: 'tkrzw_server',
      start: (port, where) =>
        startServer(
          'tkrzw_server',
          ['--address', `127.0.0.1:${port}`, '--threads', '2', `${path.join(where, 'calls-ref.tkh')}#num_buckets=1000000`],
          echo(port),
        ),
    })
  } else {
    note('tkrzw_server is not on the PATH: the call-path rows show kv alone')
  }
  const figures: {[server: string]: {[metric: string]: number}} = {}
  let port = 19790
  for (const server of servers) {
    const running = await server.start(port, dir)
    const address = `127.0.0.1:${port}`
    port++
    const mine: {[metric: string]: number} = {}
    figures[server.name] = mine
    try {
      if (driver) {
        note(`calls: ${driver} against ${server.name}`)
        const common = ['sequence', '--address', address, '--iter', String(iterations), '--threads', String(threads)]
        // The driver clears the database first, so set and get run in one sequence; the
        // server's CPU is read as each phase reports.
        const phases = await phaseCpu(driver, common, running.child.pid!)
        for (const label of ['Setting', 'Getting']) {
          const phase = phases.get(label)
          if (!phase) continue
          mine[`unary ${label}`] = phase.qps
          mine[`cpu ${label}`] = (phase.cpu / (iterations * threads)) * 1e6
        }
        const streamed = await phaseCpu(driver, [...common, '--stream'], running.child.pid!)
        for (const label of ['Setting', 'Getting']) {
          const phase = streamed.get(label)
          if (phase) mine[`stream ${label}`] = phase.qps
        }
      }
      if (server.name === 'tkrzw_server') {
        note('calls: kv perf (kv client) against tkrzw_server')
        const report = JSON.parse(
          run(kv, ['perf', 'sequence', '--address', address, '--iter', String(iterations), '--threads', String(threads), '--json']),
        ) as {
          phases: {name: string; qps: number}[]
        }
        for (const phase of report.phases) mine[`kv client ${phase.name}`] = phase.qps
        if (driver) {
          const text = run(driver, ['sequence', '--address', address, '--iter', String(iterations), '--threads', String(threads)])
          mine['reference client set'] = qpsOf(text, 'Setting') ?? 0
          mine['reference client get'] = qpsOf(text, 'Getting') ?? 0
        }
      }
      run(kv, ['remote', 'set', '--address', address, 'bench-key', 'bench-value'])
      mine['remote get ms'] = medianMillis(kv, ['remote', 'get', '--address', address, 'bench-key'])
      if (has('tkrzw_dbm_remote_util') && server.name === 'tkrzw_server') {
        mine['reference remote get ms'] = medianMillis('tkrzw_dbm_remote_util', ['get', '--address', address, 'bench-key'])
      }
    } finally {
      await running.stop()
    }
  }
  const kvFigures = figures.kv ?? {}
  const ref = figures.tkrzw_server ?? {}
  const threadsText = `--threads ${threads}`
  const add = (workload: string, unit: string, kv: number | undefined, reference: number | undefined, referenceName: string, higherIsBetter: boolean) =>
    rows.push({workload, unit, kv, reference, referenceName, higherIsBetter})
  if (driver) {
    const server = 'tkrzw_server --threads 2'
    add(`${driver} sequence ${threadsText}, unary set`, 'calls/s', kvFigures['unary Setting'], ref['unary Setting'], server, true)
    add(`${driver} sequence ${threadsText}, unary get`, 'calls/s', kvFigures['unary Getting'], ref['unary Getting'], server, true)
    add(`${driver} sequence ${threadsText} --stream, set`, 'calls/s', kvFigures['stream Setting'], ref['stream Setting'], server, true)
    add(`${driver} sequence ${threadsText} --stream, get`, 'calls/s', kvFigures['stream Getting'], ref['stream Getting'], server, true)
    add('server CPU per unary set', 'µs', kvFigures['cpu Setting'], ref['cpu Setting'], server, false)
    add('server CPU per unary get', 'µs', kvFigures['cpu Getting'], ref['cpu Getting'], server, false)
  } else {
    note('tkrzw_dbm_remote_perf is not on the PATH: no rows of the reference driver')
  }
  if (reference) {
    for (const phase of ['set', 'get']) {
      add(
        `kv perf sequence ${threadsText} against tkrzw_server, ${phase}`,
        'calls/s',
        ref[`kv client ${phase}`],
        ref[`reference client ${phase}`],
        driver ?? '-',
        true,
      )
    }
  }
  add('kv remote get, end to end (median of 7)', 'ms', kvFigures['remote get ms'], ref['reference remote get ms'], 'tkrzw_dbm_remote_util get', false)
  add('kv --help (median of 7)', 'ms', medianMillis(kv, ['--help']), undefined, '', false)
  return rows
}

/**
 * The engine rows: kv dbm perf sequence next to tkrzw_dbm_perf sequence, throughput and peak
 * memory. A run moves by a tenth from one to the next on this kind of machine, so each case
 * runs `rounds` times for each program, taking turns (which goes first alternates); a row
 * gives the medians and its detail the spread of the round-by-round ratios.
 */
export function engineRows(kv: string, dir: string, iterations: number, rounds: number, note: (text: string) => void): SideBySideRow[] {
  const rows: SideBySideRow[] = []
  const oracle = has('tkrzw_dbm_perf')
  if (!oracle) note('tkrzw_dbm_perf is not on the PATH: the engine rows show kv alone')
  const cases: [string, string[]][] = [
    ['hash', []],
    ['baby', []],
    ['baby', ['--random_key']],
    ['tiny', []],
    ['cache', []],
  ]
  for (const [dbm, extra] of cases) {
    const label = `${dbm}${extra.length ? ` ${extra.join(' ')}` : ''}`
    note(`engine: ${label}, ${iterations} records, ${rounds} rounds`)
    const file = (name: string) => (dbm === 'hash' ? ['--path', path.join(dir, name)] : [])
    const common = ['sequence', '--dbm', dbm, '--iter', String(iterations), ...extra]
    const measureKv = (): EngineFigures => {
      const mine = timed(kv, ['dbm', 'perf', ...common, ...file('kv.tkh')])
      fs.rmSync(path.join(dir, 'kv.tkh'), {force: true})
      return {set: qpsOf(mine.stdout, 'Setting'), get: qpsOf(mine.stdout, 'Getting'), peak: mine.peak / 1e6}
    }
    const measureTkrzw = (): EngineFigures => {
      // Tkrzw's cache benchmark does not finish the phases after get: it is cut after 30 s, its set and get kept.
      const theirs = timed('timeout', ['-s', 'KILL', '30', 'tkrzw_dbm_perf', ...common, ...file('ref.tkh')], dbm === 'cache')
      fs.rmSync(path.join(dir, 'ref.tkh'), {force: true})
      // Cut by the timeout, the cache run's peak is the timeout program's own: a set-only run gives the real one.
      const peak = dbm === 'cache' ? timed('tkrzw_dbm_perf', [...common, '--set_only']).peak : theirs.peak
      return {set: qpsOf(theirs.stdout, 'Setting'), get: qpsOf(theirs.stdout, 'Getting'), peak: peak / 1e6}
    }
    const mine: EngineFigures[] = []
    const theirs: EngineFigures[] = []
    for (let round = 0; round < rounds; round++) {
      if (oracle && round % 2 === 1) theirs.push(measureTkrzw())
      mine.push(measureKv())
      if (oracle && round % 2 === 0) theirs.push(measureTkrzw())
    }
    for (const [phase, field, unit, higherIsBetter] of [
      ['set', 'set', 'ops/s', true],
      ['get', 'get', 'ops/s', true],
      ['peak memory', 'peak', 'MB', false],
    ] as const) {
      const ours = mine.map((figures) => figures[field])
      const reference = theirs.map((figures) => figures[field])
      rows.push({
        workload: `${label}: ${phase}`,
        unit,
        kv: medianOfDefined(ours),
        reference: medianOfDefined(reference),
        referenceName: 'tkrzw_dbm_perf',
        higherIsBetter,
        detail: roundsDetail(ours, reference, rounds),
      })
    }
  }
  return rows
}

/** One run of an engine benchmark: set and get throughput, peak memory in MB. */
interface EngineFigures {
  set?: number
  get?: number
  peak: number
}

/** The median of the figures that are there; undefined when none is. */
function medianOfDefined(values: (number | undefined)[]): number | undefined {
  const present = values.filter((value): value is number => value !== undefined)
  return present.length > 0 ? median(present) : undefined
}

/** How a row of alternating rounds was taken: their count and the spread of the round-by-round ratios. */
function roundsDetail(ours: (number | undefined)[], theirs: (number | undefined)[], rounds: number): string {
  const ratios = ours.map((value, i) => (value ?? Number.NaN) / (theirs[i] ?? Number.NaN)).filter(Number.isFinite)
  if (ratios.length === 0) return `median of ${rounds} rounds`
  return `median of ${rounds} alternating rounds; round by round ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`
}

/** Runs a program under /usr/bin/time when present: its output and peak memory in bytes. */
function timed(program: string, args: string[], mayBeCut = false): {stdout: string; peak: number} {
  const withTime = fs.existsSync('/usr/bin/time')
  const result = withTime
    ? spawnSync('/usr/bin/time', ['-f', 'PEAK_KB=%M', program, ...args], {encoding: 'utf8', maxBuffer: 64 << 20})
    : spawnSync(program, args, {encoding: 'utf8', maxBuffer: 64 << 20})
  if (result.status !== 0 && !mayBeCut) throw new Error(`${program} ${args.join(' ')} failed: ${result.stderr}`)
  return {stdout: result.stdout, peak: Number(/PEAK_KB=(\d+)/.exec(result.stderr)?.[1] ?? 0) * 1024}
}

/** The rows as a Markdown table, with kv/reference ratios. */
export function sideBySideMarkdown(rows: SideBySideRow[]): string[] {
  const figure = (n: number | undefined, unit: string) =>
    n === undefined ? '' : unit === 'ms' || unit === 'µs' || unit === 'MB' ? n.toFixed(1) : Math.round(n).toLocaleString('en-US')
  const lines = ['| workload | unit | kv | reference | reference program | kv / reference | detail |', '|---|---|---|---|---|---|---|']
  for (const row of rows) {
    const ratio = row.kv !== undefined && row.reference ? (row.kv / row.reference).toFixed(2) : ''
    lines.push(
      `| ${row.workload} | ${row.unit} | ${figure(row.kv, row.unit)} | ${figure(row.reference, row.unit)} | ${row.referenceName} | ${ratio} | ${row.detail ?? ''} |`,
    )
  }
  return lines
}

/** Whether something accepts connections on the port. */
function listening(port: number): () => boolean {
  return () => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], {stdio: 'ignore'}).status === 0
}

/** The main phase's seconds in ktremotetest's output: the time line after "setting records:" or "geting records:" (so spelled). */
function ktPhaseSeconds(text: string): number | undefined {
  const match = /(?:setting|getting|geting) records:[\s\S]*?^time: ([\d.]+)/m.exec(text)
  return match ? Number(match[1]) : undefined
}

/** The median of some figures (the lower middle one of an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/**
 * The rows of Kyoto Tycoon's protocols: ktremotetest, one client thread (requests one at a
 * time), against kv serve --kt on an on-memory TinyDBM and against ktserver on its
 * on-memory hash database (StashDB): TSV-RPC set and get, and the binary protocol's set_bulk
 * and get_bulk with 100 records a request.
 *
 * One request at a time, a round takes about a second and moves by a tenth from one to the
 * next on this kind of machine. So both servers run side by side through the whole
 * measurement: one untimed round each to warm them, then `rounds` rounds that take turns
 * (which server goes first alternates). Each row gives the median of each server's rounds,
 * and its detail the spread of the round-by-round ratios.
 */
export async function ktRows(kv: string, records: number, rounds: number, note: (text: string) => void): Promise<SideBySideRow[]> {
  if (!has('ktremotetest')) {
    note('ktremotetest is not on the PATH: no Kyoto Tycoon rows')
    return []
  }
  const reference = has('ktserver')
  if (!reference) note('ktserver is not on the PATH: the Kyoto Tycoon rows show kv alone')
  const workloads: [string, string[], number][] = [
    ['TSV-RPC set, one at a time', ['order', '-th', '1', '-set'], records],
    ['TSV-RPC get, one at a time', ['order', '-th', '1', '-get'], records],
    ['binary set_bulk, 100 a request', ['bulk', '-th', '1', '-bin', '-set', '-bulk', '100'], records * 10],
    ['binary get_bulk, 100 a request', ['bulk', '-th', '1', '-bin', '-get', '-bulk', '100'], records * 10],
  ]
  const servers: {name: string; program: string; args: (port: number) => string[]}[] = [
    {name: 'kv', program: kv, args: (port) => ['serve', '--address', '127.0.0.1:0', '--kt', `127.0.0.1:${port}`, '#dbm=tiny']},
  ]
  if (reference) servers.push({name: 'ktserver', program: 'ktserver', args: (port) => ['-host', '127.0.0.1', '-port', String(port), '-th', '4', ':']})
  const running: {port: number; stop: () => Promise<void>}[] = []
  try {
    for (const server of servers) {
      const port = await freePortBelow(32768)
      running.push({port, stop: (await startServer(server.program, server.args(port), listening(port))).stop})
    }
    /** One round against a server: each workload's records a second (a get follows its set, so that it finds the records). */
    const round = (at: number): (number | undefined)[] =>
      workloads.map(([, driver, count]) => {
        const seconds = ktPhaseSeconds(run('ktremotetest', [...driver, '-port', String(running[at].port), String(count)]))
        return seconds ? count / seconds : undefined
      })
    const rates: (number | undefined)[][][] = servers.map(() => [])
    note(`kt: ktremotetest against ${servers.map(({name}) => name).join(' and ')}, ${records} records, ${rounds} rounds after a warm-up`)
    for (let r = -1; r < rounds; r++) {
      const order = r % 2 === 0 ? [...servers.keys()].reverse() : [...servers.keys()]
      for (const at of order) {
        const figures = round(at)
        if (r >= 0) rates[at].push(figures)
      }
    }
    const medianOf = (at: number | undefined, w: number): number | undefined =>
      at === undefined ? undefined : medianOfDefined(rates[at].map((figures) => figures[w]))
    const theirs = reference ? 1 : undefined
    return workloads.map(([workload], w) => ({
      workload: `ktremotetest ${workload}`,
      unit: 'records/s',
      kv: medianOf(0, w),
      reference: medianOf(theirs, w),
      referenceName: 'ktserver -th 4',
      higherIsBetter: true,
      detail: roundsDetail(
        rates[0].map((figures) => figures[w]),
        theirs === undefined ? [] : rates[theirs].map((figures) => figures[w]),
        rounds,
      ),
    }))
  } finally {
    for (const server of running) await server.stop()
  }
}
