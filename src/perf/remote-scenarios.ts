import {ANY_VALUE} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'
import {RemoteDBM} from '../client/remote-dbm.js'
import {makeRandom} from './local.js'
import {percentiles, perfKey, runRemoteSequence, type Latency, type RemoteTarget} from './remote.js'

/** What a mixed scenario reports. */
export interface ScenarioResult {
  name: string
  operations: number
  elapsed: number
  qps: number
  latency: Latency
  /** Inconsistencies found; empty when the server held up. */
  errors: string[]
}

export interface WorkerOptions {
  threads: number
  separate: boolean
  seed: number
  onProgress?: (completed: number) => void
}

/** Connections for the workers: one shared, or one each. Closes them after the work. */
async function withWorkers<T>(target: RemoteTarget, options: WorkerOptions, work: (dbs: RemoteDBM[]) => Promise<T>): Promise<T> {
  const threads = Math.max(1, options.threads)
  const dbs: RemoteDBM[] = []
  try {
    if (options.separate) {
      for (let t = 0; t < threads; t++) dbs.push(await RemoteDBM.connect(target.address, target.connect))
    } else {
      const shared = await RemoteDBM.connect(target.address, target.connect)
      for (let t = 0; t < threads; t++) dbs.push(shared)
    }
    for (const db of dbs) db.setDBMIndex(target.index)
    return await work(dbs)
  } finally {
    for (const db of new Set(dbs)) db.close()
  }
}

/** Collects call latencies for one scenario. */
class Recorder {
  private samples: Float64Array
  private count = 0

  constructor(
    capacity: number,
    private readonly onProgress?: (completed: number) => void,
  ) {
    this.samples = new Float64Array(Math.max(1, capacity))
  }

  async time<T>(call: Promise<T>): Promise<T> {
    const started = performance.now()
    try {
      return await call
    } finally {
      if (this.count === this.samples.length) {
        const grown = new Float64Array(this.samples.length * 2)
        grown.set(this.samples)
        this.samples = grown
      }
      this.samples[this.count++] = performance.now() - started
      this.onProgress?.(1)
    }
  }

  get operations(): number {
    return this.count
  }

  latency(): Latency {
    return percentiles(this.samples.subarray(0, this.count))
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR
}

function result(name: string, recorder: Recorder, started: number, errors: string[]): ScenarioResult {
  const elapsed = (performance.now() - started) / 1000
  return {name, operations: recorder.operations, elapsed, qps: recorder.operations / elapsed, latency: recorder.latency(), errors}
}

export interface ParallelOptions extends WorkerOptions {
  iterations: number
  valueSize: number
  randomKey: boolean
  randomValue: boolean
  stream: boolean
  /** Worker threads the workers are spread over. */
  processes?: number
}

/** Sets, gets and removes mixed across concurrent workers, like the reference `parallel`. */
export async function runRemoteParallel(target: RemoteTarget, options: ParallelOptions): Promise<ScenarioResult> {
  const [phase] = await runRemoteSequence(target, {
    ...options,
    phases: ['mixed'],
    ignoreResult: false,
    multi: 1,
  })
  return {...phase, name: 'parallel', errors: []}
}

export interface WickedOptions extends WorkerOptions {
  iterations: number
  valueSize: number
  iterator: boolean
  clear: boolean
  rebuild: boolean
}

/**
 * Random mixed operations from concurrent workers, each on its own keys (prefixed by the
 * worker), every answer checked against the worker's model. Clears and rebuilds happen
 * between rounds, when no worker is busy. At the end every key is read back and the
 * count compared: any difference is reported.
 */
export async function runRemoteWicked(target: RemoteTarget, options: WickedOptions): Promise<ScenarioResult> {
  return withWorkers(target, options, async (dbs) => {
    const recorder = new Recorder(options.iterations * dbs.length, options.onProgress)
    const errors: string[] = []
    const report = (what: string) => {
      if (errors.length < 20) errors.push(what)
    }
    const models = dbs.map(() => new Map<string, string>())
    const keySpace = Math.max(16, Math.floor(options.iterations / 4))
    const coordinator = makeRandom(options.seed)
    await recorder.time(dbs[0].clear())
    const started = performance.now()
    const rounds = 10
    const perRound = Math.ceil(options.iterations / rounds)
    for (let round = 0; round < rounds && errors.length === 0; round++) {
      await Promise.all(
        dbs.map(async (db, t) => {
          const random = makeRandom(options.seed * 7919 + t * 31 + round)
          const model = models[t]
          const keyOf = () => `${t}:${perfKey(Math.floor(random() * keySpace))}`
          for (let i = 0; i < perRound && errors.length < 20; i++) {
            const key = keyOf()
            const r = random()
            try {
              if (r < 0.3) {
                const value = `${'v'.repeat(Math.floor(random() * options.valueSize) + 1)}${round}.${i}`
                await recorder.time(db.set(key, value))
                model.set(key, value)
              } else if (r < 0.55) {
                const got = (await recorder.time(db.get(key)))?.toString('latin1')
                if (got !== model.get(key)) report(`get ${key}: ${got} but expected ${model.get(key)}`)
              } else if (r < 0.7) {
                const had = model.has(key)
                try {
                  await recorder.time(db.remove(key))
                  if (!had) report(`remove ${key} succeeded on a missing record`)
                } catch (error) {
                  if (!isNotFound(error)) throw error
                  if (had) report(`remove ${key}: NOT_FOUND on an existing record`)
                }
                model.delete(key)
              } else if (r < 0.8) {
                await recorder.time(db.append(key, 'a', ','))
                model.set(key, model.has(key) ? `${model.get(key)},a` : 'a')
              } else if (r < 0.9) {
                const expected = model.get(key) ?? null
                const desired = `cas${round}.${i}`
                await recorder.time(db.compareExchange(key, expected, desired))
                model.set(key, desired)
              } else if (r < 0.97 || !options.iterator) {
                const exists = model.has(key)
                const result = await recorder.time(
                  db.compareExchange(key, ANY_VALUE, ANY_VALUE).then(
                    () => true,
                    (error: unknown) => {
                      if (error instanceof StatusError && error.code === Code.INFEASIBLE_ERROR) return false
                      throw error
                    },
                  ),
                )
                if (result !== exists) report(`existence of ${key}: server says ${result}, expected ${exists}`)
              } else {
                // Walk a few records; this worker's own keys must match its model.
                const iter = db.makeIterator()
                try {
                  await recorder.time(iter.first())
                  for (let n = 0; n < 20; n++) {
                    const record = await recorder.time(iter.step())
                    if (!record) break
                    const name = record[0].toString('latin1')
                    if (name.startsWith(`${t}:`) && model.get(name) !== record[1].toString('latin1')) {
                      report(`iterator at ${name}: ${record[1].toString('latin1')} but expected ${model.get(name)}`)
                    }
                  }
                } finally {
                  iter.close()
                }
              }
            } catch (error) {
              report(`${key}: ${(error as Error).message}`)
            }
          }
        }),
      )
      const r = coordinator()
      if (options.clear && r < 0.2) {
        await recorder.time(dbs[0].clear())
        for (const model of models) model.clear()
      } else if (options.rebuild && r < 0.4) {
        await recorder.time(dbs[0].rebuild())
      }
    }
    // The verdict: every modelled record is there as it should be, and nothing else is.
    let expected = 0
    for (let t = 0; t < dbs.length; t++) {
      expected += models[t].size
      for (let k = 0; k < keySpace && errors.length < 20; k++) {
        const key = `${t}:${perfKey(k)}`
        const got = (await dbs[0].get(key))?.toString('latin1')
        if (got !== models[t].get(key)) report(`final check of ${key}: ${got} but expected ${models[t].get(key)}`)
      }
    }
    const count = await dbs[0].count()
    if (count !== expected) report(`final count: the server holds ${count} records, expected ${expected}`)
    return result('wicked', recorder, started, errors)
  })
}

/** What a consumer that took the last value leaves for each other consumer, so none waits in vain. */
const END_OF_QUEUE = '\u0000end-of-queue'

export interface QueueOptions extends WorkerOptions {
  iterations: number
  valueSize: number
  notify: boolean
  /** Seconds a consumer waits for a record before giving up. */
  retry: number
}

/**
 * Producers push values, consumers pop them (waiting up to `retry` seconds, woken by
 * `notify`); afterwards every value must have been consumed exactly once.
 */
export async function runRemoteQueue(target: RemoteTarget, options: QueueOptions): Promise<ScenarioResult> {
  return withWorkers(target, options, async (dbs) => {
    const total = options.iterations * dbs.length
    const recorder = new Recorder(total * 2, options.onProgress)
    const errors: string[] = []
    const seen = new Map<string, number>()
    let consumed = 0
    const padding = 'x'.repeat(Math.max(0, options.valueSize - 12))
    // Records already there would be taken for values: start empty.
    await dbs[0].clear()
    const started = performance.now()
    const producers = dbs.map(async (db, t) => {
      for (let i = 0; i < options.iterations; i++) await recorder.time(db.pushLast(`${t}:${i}:${padding}`, -1, options.notify))
    })
    const consumers = dbs.map(async (db) => {
      while (consumed < total) {
        const record = await recorder.time(db.popFirst(options.retry))
        if (!record) {
          if (consumed < total) errors.push(`a consumer waited ${options.retry} s and found nothing, with ${total - consumed} values not consumed`)
          return
        }
        const value = record[1].toString('latin1')
        if (value === END_OF_QUEUE) return
        consumed++
        const name = value.slice(0, value.lastIndexOf(':'))
        seen.set(name, (seen.get(name) ?? 0) + 1)
        // The last value is in: release the consumers still waiting, without their timeout.
        if (consumed === total) for (let n = 1; n < dbs.length; n++) await db.pushLast(END_OF_QUEUE, -1, true)
      }
    })
    await Promise.all([...producers, ...consumers])
    // Whatever is left must be end markers that nobody needed.
    for (;;) {
      const record = await dbs[0].popFirst(0)
      if (!record) break
      if (record[1].toString('latin1') !== END_OF_QUEUE) errors.push(`a value was left in the queue: ${record[1].toString('latin1')}`)
    }
    for (let t = 0; t < dbs.length; t++) {
      for (let i = 0; i < options.iterations && errors.length < 20; i++) {
        const times = seen.get(`${t}:${i}`) ?? 0
        if (times !== 1) errors.push(`value ${t}:${i} was consumed ${times} times`)
      }
    }
    if (seen.size > total) errors.push(`${seen.size - total} values were consumed that no producer pushed`)
    return result('queue', recorder, started, errors.slice(0, 20))
  })
}
