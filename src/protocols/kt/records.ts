import {NOOP, REMOVE, type DBM} from '../../engine/dbm.js'
import {ExpiringDBM, XT_NEVER, readWithExpiry} from '../../engine/expiry/expiring-dbm.js'
import type {ServerCore} from '../../server/core.js'
import {INT64_MAX, INT64_MIN, addReal, decodeInteger, decodeRealParts, encodeInteger, encodeReal, realOf} from './numbers.js'
import {RV, RpcFailure, type KtCounters} from './rpc-failure.js'

/**
 * Kyoto Tycoon's record operations on one database, written once for every way they are
 * called (TSV-RPC procedures, REST, the binary protocol, scripts). Failures are RpcFailures
 * with the reference's messages; the counters of `report` are kept here.
 */
export const NO_RECORD = 'DB: 7: no record: no record'
export const DUPLICATE = 'DB: 6: record duplication: record duplication'
export const INCOMPATIBLE = 'DB: 8: logical inconsistency: logical inconsistency'
export const CONFLICT = 'DB: 8: logical inconsistency: status conflict'

export type StoreMode = 'set' | 'add' | 'replace' | 'append'

/** An expiry as given (`xt`: above 0 seconds from now, below 0 minus the epoch time) as absolute seconds. */
export function absoluteExpiry(xt: number, now = Math.floor(Date.now() / 1000)): number {
  return xt >= 0 ? Math.min(XT_NEVER, now + xt) : Math.min(XT_NEVER, -xt)
}

/**
 * Runs writes with the expiry a call gives: no `xt` means the records never expire. A
 * database that keeps no times refuses an `xt`, rather than losing it.
 */
export function withXt<T>(dbm: DBM, index: number, xt: number | undefined, work: () => T): T {
  if (!(dbm instanceof ExpiringDBM)) {
    if (xt !== undefined) throw new RpcFailure(RV.INVALID, `database ${index} keeps no expiry times (serve it with expiration=true)`)
    return work()
  }
  return dbm.withExpiry(xt === undefined ? XT_NEVER : absoluteExpiry(xt), work)
}

export class KtRecords {
  constructor(
    private readonly core: ServerCore,
    private readonly counters: KtCounters,
  ) {}

  private db(index: number): DBM {
    return this.core.database(index)
  }

  /** set, add (fails on an existing record), replace (fails on a missing one), append. */
  store(index: number, mode: StoreMode, key: Buffer, value: Buffer, xt?: number): void {
    const dbm = this.db(index)
    const counts = this.counters.counts
    counts.cnt_set++
    let failure: string | undefined
    withXt(dbm, index, xt, () => {
      if (mode === 'set') return dbm.set(key, value)
      if (mode === 'append') return dbm.append(key, value, Buffer.alloc(0))
      dbm.process(
        key,
        {
          ignoresValue: true,
          processFull: () => (mode === 'add' ? ((failure = DUPLICATE), NOOP) : value),
          processEmpty: () => (mode === 'replace' ? ((failure = NO_RECORD), NOOP) : value),
        },
        true,
      )
    })
    if (failure !== undefined) {
      counts.cnt_set_misses++
      throw new RpcFailure(RV.LOGIC, failure)
    }
  }

  /**
   * Adds to an integer stored as 8 bytes big-endian. `orig` is the start of a missing record;
   * INT64_MIN (`try`) fails instead, INT64_MAX (`set`) starts from 0 whatever the record holds.
   */
  increment(index: number, key: Buffer, num: bigint, orig: bigint, xt?: number): bigint {
    const dbm = this.db(index)
    let result: bigint | undefined
    this.counters.counts.cnt_set++
    withXt(dbm, index, xt, () =>
      dbm.process(
        key,
        {
          processFull: (_key, value) => {
            const current = decodeInteger(value)
            if (current === undefined) return NOOP
            result = BigInt.asIntN(64, (orig === INT64_MAX ? 0n : current) + num)
            return encodeInteger(result)
          },
          processEmpty: () => {
            if (orig === INT64_MIN) return NOOP
            result = BigInt.asIntN(64, num + (orig === INT64_MAX ? 0n : orig))
            return encodeInteger(result)
          },
        },
        true,
      ),
    )
    if (result === undefined) {
      this.counters.counts.cnt_set_misses++
      throw new RpcFailure(RV.LOGIC, INCOMPATIBLE)
    }
    return result
  }

  /** The same for a real number stored in 16 bytes of fixed point; `orig` -inf is `try`, +inf is `set`. */
  incrementDouble(index: number, key: Buffer, num: number, orig: number, xt?: number): number {
    const dbm = this.db(index)
    let result: number | undefined
    this.counters.counts.cnt_set++
    withXt(dbm, index, xt, () =>
      dbm.process(
        key,
        {
          processFull: (_key, value) => {
            const parts = decodeRealParts(value)
            if (parts === undefined) return NOOP
            const start = orig === Number.POSITIVE_INFINITY ? {integral: 0n, fraction: 0n} : parts
            const current = realOf(start)
            if (!Number.isFinite(current)) {
              result = current
              return NOOP
            }
            const added = addReal(start, num)
            result = added.value
            return added.bytes
          },
          processEmpty: () => {
            if (orig === Number.NEGATIVE_INFINITY) return NOOP
            result = num + (Number.isFinite(orig) ? orig : 0)
            return encodeReal(result)
          },
        },
        true,
      ),
    )
    if (result === undefined || Number.isNaN(result)) {
      this.counters.counts.cnt_set_misses++
      throw new RpcFailure(RV.LOGIC, INCOMPATIBLE)
    }
    return result
  }

  /** Compare and swap: `oval` undefined means the record must be absent, `nval` undefined removes it. */
  cas(index: number, key: Buffer, oval: Buffer | undefined, nval: Buffer | undefined, xt?: number): void {
    const dbm = this.db(index)
    let done = false
    this.counters.counts.cnt_set++
    withXt(dbm, index, xt, () =>
      dbm.process(
        key,
        {
          processFull: (_key, value) => {
            if (oval === undefined || !value.equals(oval)) return NOOP
            done = true
            return nval ?? REMOVE
          },
          processEmpty: () => {
            if (oval !== undefined) return NOOP
            done = true
            return nval ?? NOOP
          },
        },
        true,
      ),
    )
    if (!done) {
      this.counters.counts.cnt_set_misses++
      throw new RpcFailure(RV.LOGIC, CONFLICT)
    }
  }

  /** Removes a record; false when there was none. */
  tryRemove(index: number, key: Buffer): boolean {
    let found = false
    this.counters.counts.cnt_remove++
    this.db(index).process(key, {ignoresValue: true, processFull: () => ((found = true), REMOVE), processEmpty: () => NOOP}, true)
    if (!found) this.counters.counts.cnt_remove_misses++
    return found
  }

  remove(index: number, key: Buffer): void {
    if (!this.tryRemove(index, key)) throw new RpcFailure(RV.LOGIC, NO_RECORD)
  }

  /** A record's value and expiry (0 when it does not expire); undefined when absent. */
  tryGet(index: number, key: Buffer): {value: Buffer; xt: number} | undefined {
    this.counters.counts.cnt_get++
    const found = readWithExpiry(this.db(index), key)
    if (found === undefined) this.counters.counts.cnt_get_misses++
    return found
  }

  get(index: number, key: Buffer): {value: Buffer; xt: number} {
    const found = this.tryGet(index, key)
    if (found === undefined) throw new RpcFailure(RV.LOGIC, NO_RECORD)
    return found
  }

  /** Gets and removes a record in one step. */
  seize(index: number, key: Buffer): {value: Buffer; xt: number} {
    const found = this.get(index, key)
    this.db(index).remove(key)
    return found
  }

  /** Stores each key with the value at the same place (all with one expiry); returns how many. */
  setBulk(index: number, keys: readonly Buffer[], values: readonly Buffer[], xt?: number): number {
    const dbm = this.db(index)
    this.counters.counts.cnt_set += keys.length
    withXt(dbm, index, xt, () => {
      for (let i = 0; i < keys.length; i++) dbm.set(keys[i], values[i])
    })
    return keys.length
  }

  /** Removes the records of the keys; returns how many there were. */
  removeBulk(index: number, keys: readonly Buffer[]): number {
    let removed = 0
    for (const key of keys) if (this.tryRemove(index, key)) removed++
    return removed
  }

  /** The records found of the keys, with their expiry times. */
  getBulk(index: number, keys: readonly Buffer[]): {key: Buffer; value: Buffer; xt: number}[] {
    const found: {key: Buffer; value: Buffer; xt: number}[] = []
    for (const key of keys) {
      const record = this.tryGet(index, key)
      if (record) found.push({key, ...record})
    }
    return found
  }

  /** Keys matching a prefix or a regular expression (`max` < 0: all), or within `range` edits of an origin. */
  match(index: number, mode: 'prefix' | 'regex', pattern: Buffer, max: number): Buffer[] {
    this.counters.counts.cnt_misc++
    if (max === 0) return []
    return this.core.operations.search(index, mode === 'prefix' ? 'begin' : 'regex', pattern, max < 0 ? 0 : max)
  }

  matchSimilar(index: number, origin: Buffer, range: number, utf: boolean, max: number): Buffer[] {
    this.counters.counts.cnt_misc++
    return similarKeys(this.db(index), origin, range, utf, max)
  }
}

/** Levenshtein distance, over characters (utf) or bytes, stopping once it passes the limit. */
function distance(a: (string | number)[], b: (string | number)[], limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let previous = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      best = Math.min(best, current[j])
    }
    if (best > limit) return limit + 1
    previous = current
  }
  return previous[b.length]
}

/** The Levenshtein distance of two byte strings, over UTF-8 characters or bytes. */
export function levenshtein(a: Buffer, b: Buffer, utf: boolean): number {
  const split = (bytes: Buffer): (string | number)[] => (utf ? [...bytes.toString('utf8')] : [...bytes])
  return distance(split(a), split(b), Number.MAX_SAFE_INTEGER)
}

/** Keys within `range` edits of the origin, nearest first (then in key order). */
function similarKeys(dbm: DBM, origin: Buffer, range: number, utf: boolean, max: number): Buffer[] {
  const split = (bytes: Buffer): (string | number)[] => (utf ? [...bytes.toString('utf8')] : [...bytes])
  const target = split(origin)
  const found: {key: Buffer; distance: number}[] = []
  const iterator = dbm.makeIterator()
  iterator.first()
  for (let record = iterator.get(); record; iterator.next(), record = iterator.get()) {
    const d = distance(split(record[0]), target, range)
    if (d <= range) found.push({key: record[0], distance: d})
  }
  found.sort((a, b) => a.distance - b.distance || Buffer.compare(a.key, b.key))
  return (max >= 0 ? found.slice(0, max) : found).map((entry) => entry.key)
}
