import * as os from 'node:os'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import type {DBM} from '../engine/dbm.js'
import {secondaryHash} from '../engine/io/hashing.js'
import {sleepSync} from '../engine/io/sleep.js'
import {Code, StatusError} from '../engine/status.js'
import {makeRandom} from './local.js'

export interface ParallelOptions {
  /** Operations per thread. */
  iterations: number
  threads: number
  valueSize: number
  randomValue: boolean
  /** Distinct keys at most (0: iterations times threads). */
  keys: number
  seed: number
  /** Rebuild now and then, when the database says it should be. */
  rebuild: boolean
  /** Microseconds to sleep between operations (0: none). */
  sleepMicros: number
}

export interface ParallelResult {
  operations: number
  elapsed: number
  qps: number
  errors: string[]
}

/** Where one thread's share of a parallel run goes: the whole database, or one shard of it. */
export interface ParallelShare {
  /** This thread's number, and how many share the keys (a key belongs to one thread). */
  thread: number
  threads: number
}

/**
 * The reference's parallel workload for one thread: random keys of eight digits, one
 * operation in five an append, one in five of the rest a removal, half of the rest sets and
 * half gets. With several threads each owns the keys that hash to its shard.
 */
export function runParallelShare(dbm: DBM, options: ParallelOptions, share: ParallelShare): ParallelResult {
  const random = makeRandom(options.seed + share.thread * 7919 + 1)
  const keySpace = options.keys > 0 ? options.keys : options.iterations * options.threads
  const value = Buffer.alloc(options.valueSize, 0x30 + (share.thread % 10))
  const errors: string[] = []
  const start = performance.now()
  let done = 0
  for (let i = 0; i < options.iterations; i++) {
    let key: Buffer
    // A key of this thread's shard: draw again until one hashes there.
    for (;;) {
      key = Buffer.from(String(Math.floor(random() * keySpace)).padStart(8, '0'))
      if (share.threads === 1 || secondaryHash(key, share.threads) === share.thread) break
    }
    if (options.rebuild && i % 100 === 0 && dbm.shouldBeRebuilt()) dbm.rebuild()
    const op = random()
    try {
      if (op < 0.2) dbm.append(key, 'a', ',')
      else if (op < 0.36) {
        try {
          dbm.remove(key)
        } catch (error) {
          if (!(error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR)) throw error
        }
      } else if (op < 0.68) dbm.set(key, options.randomValue ? value.subarray(0, Math.floor(random() * (options.valueSize + 1))) : value)
      else dbm.get(key)
    } catch (error) {
      if (errors.length < 20) errors.push((error as Error).message)
    }
    done++
    sleepSync(options.sleepMicros / 1000)
  }
  const elapsed = (performance.now() - start) / 1000
  return {operations: done, elapsed, qps: done / elapsed, errors}
}

/** Where a threaded run's database lives: one shard per thread, each opened by its own thread. */
export interface ShardedTarget {
  /** The path of the sharded database ('' for on-memory databases, one per thread). */
  path: string
  params: [string, string][]
}

/**
 * Runs the parallel workload on `threads` worker threads, each on its own shard of the
 * database (shard files path-0000T-of-0000N, or an on-memory database of its own): the
 * threads never share a structure, as the shards of a ShardDBM do not, so the run uses
 * every core. The result sums the threads' operations over the longest thread's time.
 */
export async function runParallelThreads(target: ShardedTarget, options: ParallelOptions): Promise<ParallelResult> {
  const results = await runShardThreads<ParallelResult>('local-parallel-thread.js', options.threads, (thread) => ({
    target,
    options,
    share: {thread, threads: options.threads},
  }))
  // The threads' own time, from their first operation to their last: starting a thread
  // (loading the modules, opening its shard) is not the workload.
  const elapsed = Math.max(...results.map((result) => result.elapsed))
  const operations = results.reduce((sum, result) => sum + result.operations, 0)
  return {operations, elapsed, qps: operations / elapsed, errors: results.flatMap((result) => result.errors)}
}

/**
 * Starts one worker thread per shard on a script of this folder and resolves with what
 * each reported, once every thread is gone (so that every shard is closed).
 */
export async function runShardThreads<T>(script: string, threads: number, data: (thread: number) => unknown): Promise<T[]> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), script)
  return Promise.all(
    Array.from({length: threads}, (_, thread) => {
      const worker = new Worker(file, {workerData: data(thread)})
      return new Promise<T>((resolve, reject) => {
        let outcome: {result?: T; error?: string} = {error: 'the worker thread ended without a result'}
        worker.once('message', (message: {result?: T; error?: string}) => (outcome = message))
        worker.once('error', (error) => (outcome = {error: error.message}))
        worker.once('exit', () => (outcome.error !== undefined ? reject(new StatusError(Code.APPLICATION_ERROR, outcome.error)) : resolve(outcome.result!)))
      })
    }),
  )
}

/** The key numbers of [0, total) whose eight-digit keys hash to one shard of `threads`. */
export function shareOfKeys(total: number, share: ParallelShare): Int32Array {
  const numbers = new Int32Array(Math.ceil((total / share.threads) * 1.2) + 16)
  let found = 0
  let list = numbers
  for (let n = 0; n < total; n++) {
    if (secondaryHash(Buffer.from(String(n).padStart(8, '0')), share.threads) !== share.thread) continue
    if (found === list.length) {
      const grown = new Int32Array(list.length * 2)
      grown.set(list)
      list = grown
    }
    list[found++] = n
  }
  return list.subarray(0, found)
}

/** Threads to use when asked for 0: one per core. */
export function defaultThreads(): number {
  return Math.max(1, os.availableParallelism())
}
