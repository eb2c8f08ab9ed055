import type {DBM} from '../engine/dbm.js'
import {makeRandom} from './local.js'

export interface RebuildUnderLoadOptions {
  /** Records written before the rebuild starts. */
  records: number
  seed: number
  /** Operations the other task runs per turn of the event loop. */
  batch?: number
}

export interface RebuildUnderLoadResult {
  records: number
  /** Milliseconds the rebuild took. */
  elapsed: number
  /** Reads and writes the other task completed during the rebuild. */
  operations: number
  /** The longest stretch, in milliseconds, in which a 1 ms timer could not run. */
  longestPause: number
  /** Reads that saw something other than the latest write, and operations that failed. */
  failures: string[]
  /** Records that differ from what the other task left, checked after the rebuild. */
  mismatches: string[]
}

/**
 * Fills a database, then rebuilds it in slices while another task keeps setting, removing
 * and reading random records, checking each read against the latest write. Afterwards
 * every record is checked against what the other task left.
 */
export async function runRebuildUnderLoad(dbm: DBM, options: RebuildUnderLoadOptions): Promise<RebuildUnderLoadResult> {
  const total = options.records
  const batch = options.batch ?? 100
  const key = Buffer.alloc(8)
  const keyOf = (n: number): Buffer => {
    for (let i = 7, m = n; i >= 0; i--, m = Math.floor(m / 10)) key[i] = 0x30 + (m % 10)
    return key
  }
  for (let i = 0; i < total; i++) dbm.set(keyOf(i), `value${i}`)
  // What the other task changed: a value, or null for removed.
  const changed = new Map<number, string | null>()
  const expected = (n: number): string | undefined => {
    const value = changed.get(n)
    if (value === null) return undefined
    return value ?? (n < total ? `value${n}` : undefined)
  }
  const failures: string[] = []
  const fail = (what: string): void => {
    if (failures.length < 10) failures.push(what)
  }
  let stop = false
  let operations = 0
  const random = makeRandom(options.seed)
  const span = Math.max(1, Math.floor(total * 1.1))
  const other = (async () => {
    while (!stop) {
      for (let i = 0; i < batch; i++) {
        const n = Math.floor(random() * span)
        const r = random()
        try {
          if (r < 0.4) {
            const value = `new${n}-${operations}`
            dbm.set(keyOf(n), value)
            changed.set(n, value)
          } else if (r < 0.55) {
            if (expected(n) !== undefined) {
              dbm.remove(keyOf(n))
              changed.set(n, null)
            }
          } else {
            const got = dbm.get(keyOf(n))?.toString()
            if (got !== expected(n)) fail(`key ${n}: read ${got}, expected ${expected(n)}`)
          }
        } catch (error) {
          fail(`key ${n}: ${(error as Error).message}`)
        }
        operations++
      }
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  })()
  let longestPause = 0
  let last = performance.now()
  const ticker = setInterval(() => {
    const now = performance.now()
    longestPause = Math.max(longestPause, now - last)
    last = now
  }, 1)
  const started = performance.now()
  try {
    await dbm.rebuildInSlices()
  } catch (error) {
    fail(`the rebuild failed: ${(error as Error).message}`)
  } finally {
    stop = true
    await other
    clearInterval(ticker)
  }
  const elapsed = performance.now() - started
  const mismatches: string[] = []
  let count = 0
  for (let n = 0; n < span; n++) {
    const want = expected(n)
    if (want !== undefined) count++
    const got = dbm.get(keyOf(n))?.toString()
    if (got !== want && mismatches.length < 10) mismatches.push(`key ${n}: ${got}, expected ${want}`)
  }
  if (dbm.count() !== count) mismatches.push(`the count is ${dbm.count()}, expected ${count}`)
  return {records: total, elapsed, operations, longestPause, failures, mismatches}
}
