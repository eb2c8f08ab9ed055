import {Worker as NodeWorker} from 'node:worker_threads'
import {RemoteDBM, type ConnectOptions} from '../client/remote-dbm.js'
import type {RemoteStream} from '../client/remote-stream.js'
import {Code, StatusError} from '../engine/status.js'
import {makeRandom} from './local.js'

/** Latency percentiles of a phase, in milliseconds. */
export interface Latency {
  p50: number
  p99: number
  p999: number
  max: number
}

export interface RemotePhaseResult {
  name: string
  operations: number
  /** Seconds. */
  elapsed: number
  qps: number
  latency: Latency
}

/** The sequence phases, and `mixed`: sets, gets and removes drawn at random (the parallel scenario). */
export type RemotePhase = 'echo' | 'set' | 'get' | 'iterate' | 'remove' | 'mixed'

export interface RemoteTarget {
  address: string
  connect: ConnectOptions
  index: number
}

export interface RemoteSequenceOptions {
  /** Operations per worker. */
  iterations: number
  /** Worker threads the workers are spread over (1: all in this thread). */
  processes?: number
  valueSize: number
  /** Concurrent workers. */
  threads: number
  /** One channel per worker instead of one shared channel. */
  separate: boolean
  seed: number
  randomKey: boolean
  randomValue: boolean
  phases: RemotePhase[]
  /** Pipelined calls on a Stream instead of unary calls. */
  stream: boolean
  /** With stream: updates ask for no response. */
  ignoreResult: boolean
  /** Records per *Multi call; 1 for single-record calls. */
  multi: number
  onPhase?: (result: RemotePhaseResult) => void
  /** Called with the number of operations just completed. */
  onProgress?: (completed: number) => void
}

/** Percentiles of latencies in milliseconds (sorts the array). */
export function percentiles(samples: Float64Array): Latency {
  if (samples.length === 0) return {p50: 0, p99: 0, p999: 0, max: 0}
  samples.sort()
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]
  return {p50: at(0.5), p99: at(0.99), p999: at(0.999), max: samples[samples.length - 1]}
}

/** The benchmark's key for a number: eight digits, as the reference tools write them. */
export function perfKey(n: number): string {
  return String(n).padStart(8, '0')
}

interface Worker {
  db: RemoteDBM
  stream?: RemoteStream
}

/**
 * Echo, set, get, iterate and remove phases against a server, one after another, each run
 * by `threads` concurrent workers, like the reference `sequence` scenario. Every call's
 * latency is recorded; each phase reports its throughput and percentiles.
 */
export async function runRemoteSequence(target: RemoteTarget, options: RemoteSequenceOptions): Promise<RemotePhaseResult[]> {
  const threads = Math.max(1, options.threads)
  const processes = Math.min(threads, Math.max(1, options.processes ?? 1))
  const pool = processes > 1 ? await ThreadPool.start(target, options, processes) : await LocalPool.start(target, options)
  try {
    const results: RemotePhaseResult[] = []
    for (const phase of options.phases) {
      const started = performance.now()
      const outcome = await pool.run(phase)
      const elapsed = (performance.now() - started) / 1000
      const result = {name: phase, operations: outcome.operations, elapsed, qps: outcome.operations / elapsed, latency: percentiles(outcome.samples)}
      results.push(result)
      options.onPhase?.(result)
    }
    return results
  } finally {
    await pool.close()
  }
}

/** What a pool of workers did in one phase. */
export interface PhaseOutcome {
  operations: number
  samples: Float64Array
}

/** Options that can cross into a worker thread (no callbacks). */
export type PlainSequenceOptions = Omit<RemoteSequenceOptions, 'onPhase' | 'onProgress'>

/** Workers in this thread: worker t of `ids` runs its own share of each phase. */
export class LocalPool {
  private constructor(
    private readonly workers: Worker[],
    private readonly ids: number[],
    private readonly options: PlainSequenceOptions & {onProgress?: (completed: number) => void},
    private readonly shared: RemoteDBM | undefined,
  ) {}

  static async start(target: RemoteTarget, options: PlainSequenceOptions & {onProgress?: (completed: number) => void}, ids?: number[]): Promise<LocalPool> {
    const workerIds = ids ?? Array.from({length: Math.max(1, options.threads)}, (_, t) => t)
    const shared = options.separate ? undefined : await RemoteDBM.connect(target.address, target.connect)
    shared?.setDBMIndex(target.index)
    const workers: Worker[] = []
    try {
      for (let n = 0; n < workerIds.length; n++) {
        const db = shared ?? (await RemoteDBM.connect(target.address, target.connect))
        if (!shared) db.setDBMIndex(target.index)
        workers.push({db})
      }
    } catch (error) {
      shared?.close()
      for (const worker of workers) if (worker.db !== shared) worker.db.close()
      throw error
    }
    return new LocalPool(workers, workerIds, options, shared)
  }

  async run(phase: RemotePhase): Promise<PhaseOutcome> {
    const options = this.options
    const samples = new Float64Array(options.iterations * this.workers.length)
    let recorded = 0
    const record = (started: number, count = 1) => {
      const latency = performance.now() - started
      for (let i = 0; i < count && recorded < samples.length; i++) samples[recorded++] = latency
      options.onProgress?.(count)
    }
    if (options.stream) for (const worker of this.workers) worker.stream = worker.db.makeStream()
    const counts = await Promise.all(this.workers.map((worker, n) => runPhase(phase, worker, this.ids[n], options, record)))
    // Responses not asked for: one round trip on each stream makes sure the server has caught up.
    if (options.stream) {
      for (const worker of this.workers) {
        await worker.stream!.echo('')
        worker.stream!.close()
        worker.stream = undefined
      }
    }
    return {operations: counts.reduce((a, b) => a + b, 0), samples: samples.subarray(0, recorded)}
  }

  async close(): Promise<void> {
    for (const worker of this.workers) worker.stream?.close()
    if (this.shared) this.shared.close()
    else for (const worker of this.workers) worker.db.close()
  }
}

/** Workers spread over worker threads, so that one client core does not cap the numbers. */
class ThreadPool {
  private constructor(
    private readonly threads: NodeWorker[],
    private readonly onProgress?: (completed: number) => void,
  ) {}

  static async start(target: RemoteTarget, options: RemoteSequenceOptions, processes: number): Promise<ThreadPool> {
    const {onPhase: _onPhase, onProgress, ...plain} = options
    const threads: NodeWorker[] = []
    for (let p = 0; p < processes; p++) {
      const ids: number[] = []
      for (let t = p; t < Math.max(1, options.threads); t += processes) ids.push(t)
      threads.push(new NodeWorker(new URL('./remote-thread.js', import.meta.url), {workerData: {target, options: plain, ids}}))
    }
    const pool = new ThreadPool(threads, onProgress)
    await Promise.all(threads.map((thread) => pool.next(thread, 'ready')))
    return pool
  }

  /** The next message of a kind from a thread; progress messages are passed on meanwhile. */
  private next(thread: NodeWorker, kind: string): Promise<{operations?: number; samples?: Float64Array}> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: {kind: string; completed?: number; error?: string; operations?: number; samples?: Float64Array}) => {
        if (message.kind === 'progress') return this.onProgress?.(message.completed ?? 0)
        thread.off('message', onMessage)
        thread.off('error', onError)
        if (message.kind === 'error') reject(new StatusError(Code.NETWORK_ERROR, message.error ?? 'a worker thread failed'))
        else if (message.kind === kind) resolve(message)
      }
      const onError = (error: Error) => {
        thread.off('message', onMessage)
        reject(error)
      }
      thread.on('message', onMessage)
      thread.once('error', onError)
    })
  }

  async run(phase: RemotePhase): Promise<PhaseOutcome> {
    const outcomes = await Promise.all(
      this.threads.map((thread) => {
        const done = this.next(thread, 'done')
        thread.postMessage({kind: 'run', phase})
        return done
      }),
    )
    const operations = outcomes.reduce((sum, outcome) => sum + (outcome.operations ?? 0), 0)
    const samples = new Float64Array(outcomes.reduce((sum, outcome) => sum + (outcome.samples?.length ?? 0), 0))
    let at = 0
    for (const outcome of outcomes) {
      samples.set(outcome.samples ?? new Float64Array(0), at)
      at += outcome.samples?.length ?? 0
    }
    return {operations, samples}
  }

  async close(): Promise<void> {
    await Promise.all(
      this.threads.map(async (thread) => {
        const closed = this.next(thread, 'closed').catch(() => ({}))
        thread.postMessage({kind: 'close'})
        await closed
        await thread.terminate()
      }),
    )
  }
}

/** One worker's share of a phase; returns the operations it did. */
async function runPhase(
  phase: RemotePhase,
  worker: Worker,
  t: number,
  options: PlainSequenceOptions,
  record: (started: number, count?: number) => void,
): Promise<number> {
  const {iterations, multi} = options
  const random = makeRandom(options.seed + t + 1)
  const valueRandom = makeRandom(options.seed + 1000 + t)
  const span = iterations * Math.max(1, options.threads)
  const keyOf = (i: number) => perfKey(options.randomKey ? Math.floor(random() * span) : t * iterations + i)
  const fullValue = Buffer.alloc(options.valueSize, 0x78)
  const valueOf = () => (options.randomValue ? fullValue.subarray(0, Math.floor(valueRandom() * (options.valueSize + 1))) : fullValue)
  const {db, stream} = worker
  if (phase === 'iterate') return iterateShare(worker, t, options, record)
  let done = 0
  if (multi > 1 && !stream && phase !== 'echo') {
    for (let i = 0; i < iterations; i += multi) {
      const keys: string[] = []
      for (let j = i; j < Math.min(iterations, i + multi); j++) keys.push(keyOf(j))
      const started = performance.now()
      if (phase === 'set') await db.setMulti(keys.map((key) => [key, valueOf()]))
      else if (phase === 'get') await db.getMulti(keys)
      else await db.removeMulti(keys).catch(ignoreNotFound(options.randomKey))
      record(started, keys.length)
      done += keys.length
    }
    return done
  }
  const mixRandom = makeRandom(options.seed * 31 + t + 7)
  for (let i = 0; i < iterations; i++) {
    const key = keyOf(i)
    // In the mixed phase: half sets, three tenths gets, a fifth removes.
    const r = phase === 'mixed' ? mixRandom() : 0
    const kind = phase !== 'mixed' ? phase : r < 0.5 ? 'set' : r < 0.8 ? 'get' : 'remove'
    const started = performance.now()
    if (stream) {
      if (kind === 'echo') await stream.echo(key)
      else if (kind === 'set') await stream.set(key, valueOf(), true, options.ignoreResult)
      else if (kind === 'get') await stream.get(key)
      else await stream.remove(key, options.ignoreResult).catch(ignoreNotFound(options.randomKey || phase === 'mixed'))
    } else if (kind === 'echo') await db.echo(key)
    else if (kind === 'set') await db.set(key, valueOf())
    else if (kind === 'get') await db.get(key)
    else await db.remove(key).catch(ignoreNotFound(options.randomKey || phase === 'mixed'))
    record(started)
    done++
  }
  return done
}

/** Steps a cursor through this worker's range of keys (or from the first record, for one worker). */
async function iterateShare(worker: Worker, t: number, options: PlainSequenceOptions, record: (started: number) => void): Promise<number> {
  const iter = worker.db.makeIterator()
  try {
    if (t === 0) await iter.first()
    else await iter.jump(perfKey(t * options.iterations)).catch(() => iter.first())
    let done = 0
    while (done < options.iterations) {
      const started = performance.now()
      const found = await iter.step()
      if (!found) break
      record(started)
      done++
    }
    return done
  } finally {
    iter.close()
  }
}

/** Random keys may name records already removed: NOT_FOUND is expected then. */
function ignoreNotFound(expected: boolean): (error: unknown) => void {
  return (error) => {
    if (!expected || !(error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR)) throw error
  }
}
