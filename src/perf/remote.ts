import {RemoteDBM, type ConnectOptions} from '../rpc/client/remote-dbm.js'
import type {RemoteStream} from '../rpc/client/remote-stream.js'
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

export type RemotePhase = 'echo' | 'set' | 'get' | 'iterate' | 'remove'

export interface RemoteTarget {
  address: string
  connect: ConnectOptions
  index: number
}

export interface RemoteSequenceOptions {
  /** Operations per worker. */
  iterations: number
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
  const shared = options.separate ? undefined : await RemoteDBM.connect(target.address, target.connect)
  const workers: Worker[] = []
  try {
    for (let t = 0; t < threads; t++) {
      const db = shared ?? (await RemoteDBM.connect(target.address, target.connect))
      if (!shared) db.setDBMIndex(target.index)
      workers.push({db})
    }
    shared?.setDBMIndex(target.index)
    const results: RemotePhaseResult[] = []
    const total = options.iterations * threads
    for (const phase of options.phases) {
      const samples = new Float64Array(total)
      let recorded = 0
      const record = (started: number, count = 1) => {
        const latency = performance.now() - started
        for (let i = 0; i < count && recorded < samples.length; i++) samples[recorded++] = latency
        options.onProgress?.(count)
      }
      if (options.stream) for (const worker of workers) worker.stream = worker.db.makeStream()
      const started = performance.now()
      const counts = await Promise.all(workers.map((worker, t) => runPhase(phase, worker, t, options, record)))
      // Responses not asked for: one round trip on each stream makes sure the server has caught up.
      if (options.stream) {
        for (const worker of workers) {
          await worker.stream!.echo('')
          worker.stream!.close()
          worker.stream = undefined
        }
      }
      const elapsed = (performance.now() - started) / 1000
      const operations = counts.reduce((a, b) => a + b, 0)
      const result = {name: phase, operations, elapsed, qps: operations / elapsed, latency: percentiles(samples.subarray(0, recorded))}
      results.push(result)
      options.onPhase?.(result)
    }
    return results
  } finally {
    for (const worker of workers) worker.stream?.close()
    if (shared) shared.close()
    else for (const worker of workers) worker.db.close()
  }
}

/** One worker's share of a phase; returns the operations it did. */
async function runPhase(
  phase: RemotePhase,
  worker: Worker,
  t: number,
  options: RemoteSequenceOptions,
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
  for (let i = 0; i < iterations; i++) {
    const key = keyOf(i)
    const started = performance.now()
    if (stream) {
      if (phase === 'echo') await stream.echo(key)
      else if (phase === 'set') await stream.set(key, valueOf(), true, options.ignoreResult)
      else if (phase === 'get') await stream.get(key)
      else await stream.remove(key, options.ignoreResult).catch(ignoreNotFound(options.randomKey))
    } else if (phase === 'echo') await db.echo(key)
    else if (phase === 'set') await db.set(key, valueOf())
    else if (phase === 'get') await db.get(key)
    else await db.remove(key).catch(ignoreNotFound(options.randomKey))
    record(started)
    done++
  }
  return done
}

/** Steps a cursor through this worker's range of keys (or from the first record, for one worker). */
async function iterateShare(worker: Worker, t: number, options: RemoteSequenceOptions, record: (started: number) => void): Promise<number> {
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
