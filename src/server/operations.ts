import {asExpiring, readWithExpiry} from '../engine/expiry/expiring-dbm.js'
import {type DBM, type Desired, type Expected, type Record, type SyncParams} from '../engine/dbm.js'
import {searchDBM} from '../engine/search.js'
import {Code, StatusError} from '../engine/status.js'
import type {SignalBoard} from './board.js'

/** A database index no database answers to. Front ends report it as a protocol error, not a status. */
export class NoSuchDatabaseError extends Error {
  constructor(readonly index: number) {
    super('dbm_index is out of range')
  }
}

/** What the operation bodies need from the server that runs them. */
export interface OperationContext {
  /** The open database at an index; NoSuchDatabaseError out of range, PRECONDITION_ERROR if it did not open. */
  database(index: number): DBM
  /** Where blocked calls wait and writers wake them. */
  readonly board: SignalBoard
}

/** A blocked call's patience: how long it may wait, and how it learns that its caller left. */
export interface Wait {
  /** Seconds to wait for the condition; 0 or less means answer at once. */
  seconds: number
  /** True once the caller has gone away, so that waiting is pointless. */
  cancelled?: () => boolean
}

/** The outcome of a compare-exchange: whether it was done, and the value found (undefined if absent). */
export interface ExchangeOutcome {
  done: boolean
  actual: Buffer | undefined
}

/** The longest file name most file systems take. */
const MAX_FILE_NAME_BYTES = 255

/** A blocked call re-checks at least this often, even without a notification. */
const MAX_WAIT_SLICE_MS = 5000

/**
 * The body of every request a front end serves, written once: the gRPC service, its
 * streams and every other protocol map their requests onto these. Results are values;
 * failures are StatusErrors (the application's answer) or NoSuchDatabaseError.
 */
export class Operations {
  constructor(private readonly context: OperationContext) {}

  private db(index: number): DBM {
    return this.context.database(index)
  }

  /** The value of a record; NOT_FOUND_ERROR if absent. */
  get(index: number, key: Buffer): Buffer {
    const value = this.db(index).get(key)
    if (value === undefined) throw new StatusError(Code.NOT_FOUND_ERROR)
    return value
  }

  /** The records of the keys found (each key once, in key order) and whether any key was missing. */
  getMulti(index: number, keys: Buffer[]): {records: Record[]; missing: boolean} {
    const dbm = this.db(index)
    const seen = new Set<string>()
    const records: Record[] = []
    let missing = false
    for (const key of keys) {
      const name = key.toString('latin1')
      if (seen.has(name)) continue
      seen.add(name)
      const value = dbm.get(key)
      if (value === undefined) missing = true
      else records.push([key, value])
    }
    records.sort((a, b) => Buffer.compare(a[0], b[0]))
    return {records, missing}
  }

  /** Stores a record; `xt`, when not 0, says when it expires (see expiryTime). */
  set(index: number, key: Buffer, value: Buffer, overwrite: boolean, xt = 0): void {
    const dbm = this.db(index)
    if (xt === 0) return dbm.set(key, value, overwrite)
    asExpiring(dbm, `database ${index}`).withExpiry(expiryTime(xt), () => dbm.set(key, value, overwrite))
  }

  /** A record's value and when it expires (epoch seconds; 0: never, or the database keeps no times); NOT_FOUND_ERROR when absent. */
  getWithExpiry(index: number, key: Buffer): {value: Buffer; xt: number} {
    const found = readWithExpiry(this.db(index), key)
    if (found === undefined) throw new StatusError(Code.NOT_FOUND_ERROR)
    return found
  }

  /** Stores every record (expiring at `xt` when not 0); a key given twice counts once, at its first occurrence. */
  setMulti(index: number, records: Iterable<Record>, overwrite: boolean, xt = 0): void {
    const dbm = this.db(index)
    const unique = new Map<string, Record>()
    for (const record of records) {
      const name = record[0].toString('latin1')
      if (!unique.has(name)) unique.set(name, record)
    }
    if (xt === 0) return dbm.setMulti(unique.values(), overwrite)
    asExpiring(dbm, `database ${index}`).withExpiry(expiryTime(xt), () => dbm.setMulti(unique.values(), overwrite))
  }

  remove(index: number, key: Buffer): void {
    this.db(index).remove(key)
  }

  removeMulti(index: number, keys: Buffer[]): void {
    this.db(index).removeMulti(keys)
  }

  append(index: number, key: Buffer, value: Buffer, delimiter: Buffer): void {
    this.db(index).append(key, value, delimiter)
  }

  appendMulti(index: number, records: Record[], delimiter: Buffer): void {
    this.db(index).appendMulti(records, delimiter)
  }

  /** One attempt at a compare-exchange; an expectation that fails is an outcome, not an error. */
  compareExchange(index: number, key: Buffer, expected: Expected, desired: Desired): ExchangeOutcome {
    const dbm = this.db(index)
    try {
      return {done: true, actual: dbm.compareExchange(key, expected, desired).actual}
    } catch (error) {
      if (!(error instanceof StatusError && error.code === Code.INFEASIBLE_ERROR)) throw error
      // Nothing ran in between: record operations never yield.
      return {done: false, actual: dbm.get(key)}
    }
  }

  /**
   * A compare-exchange that waits up to `wait.seconds` for its expectation to come true,
   * woken by writers that notify the key. With `notify`, success wakes the key's waiters.
   */
  async compareExchangeWaiting(index: number, key: Buffer, expected: Expected, desired: Desired, wait: Wait, notify: boolean): Promise<ExchangeOutcome> {
    const deadline = performance.now() + Math.max(0, wait.seconds) * 1000
    for (;;) {
      const outcome = this.compareExchange(index, key, expected, desired)
      if (outcome.done) {
        if (notify) this.context.board.notify(keyChannel(index, key))
        return outcome
      }
      const remaining = deadline - performance.now()
      if (remaining <= 0 || this.context.board.isClosed) return outcome
      await this.context.board.wait(keyChannel(index, key), Math.min(remaining, MAX_WAIT_SLICE_MS))
      if (wait.cancelled?.()) throw new StatusError(Code.CANCELED_ERROR, 'the call was cancelled')
    }
  }

  increment(index: number, key: Buffer, increment: bigint, initial: bigint): bigint {
    return this.db(index).increment(key, increment, initial)
  }

  compareExchangeMulti(index: number, expected: [Buffer, Expected][], desired: [Buffer, Buffer | null][]): void {
    this.db(index).compareExchangeMulti(expected, desired)
  }

  rekey(index: number, oldKey: Buffer, newKey: Buffer, overwrite: boolean, copying: boolean): void {
    this.db(index).rekey(oldKey, newKey, overwrite, copying)
  }

  /** Takes the first record, waiting up to `wait.seconds` for one to arrive; NOT_FOUND_ERROR if none did. */
  async popFirst(index: number, wait: Wait): Promise<Record> {
    const dbm = this.db(index)
    const deadline = performance.now() + Math.max(0, wait.seconds) * 1000
    for (;;) {
      const record = dbm.popFirst()
      if (record) return record
      const remaining = deadline - performance.now()
      if (remaining <= 0 || this.context.board.isClosed) throw new StatusError(Code.NOT_FOUND_ERROR)
      await this.context.board.wait(firstChannel(index), Math.min(remaining, MAX_WAIT_SLICE_MS))
      if (wait.cancelled?.()) throw new StatusError(Code.CANCELED_ERROR, 'the call was cancelled')
    }
  }

  /** Queues a value; `wtime` in seconds, 0 or less meaning now. With `notify`, wakes a waiting popFirst. */
  pushLast(index: number, value: Buffer, wtime: number, notify: boolean): Buffer {
    const key = this.db(index).pushLast(value, wtime > 0 ? wtime : -1)
    if (notify) this.context.board.notify(firstChannel(index))
    return key
  }

  count(index: number): number {
    return this.db(index).count()
  }

  fileSize(index: number): number {
    return this.db(index).getFileSize()
  }

  clear(index: number): void {
    this.db(index).clear()
  }

  /** Rebuilds in slices, so that the server keeps answering meanwhile. */
  async rebuild(index: number, params: {[name: string]: string}): Promise<void> {
    await this.db(index).rebuildInSlices(params)
  }

  shouldBeRebuilt(index: number): boolean {
    return this.db(index).shouldBeRebuilt()
  }

  /**
   * Synchronizes, or with `make_backup` copies the file to `<path>.backup.<suffix>`: both
   * in slices, so that the server keeps answering; the copy is of the moment of the call.
   */
  async synchronize(index: number, hard: boolean, params: Map<string, string>): Promise<void> {
    const dbm = this.db(index)
    const backup = params.get('make_backup')
    // A skip list takes a reducer; other classes refuse it as unsupported.
    const reducer = params.get('reducer')
    const syncParams: SyncParams = reducer === undefined ? {} : {reducer}
    if (backup !== undefined) await dbm.copyFileDataInSlices(backupPath(dbm, backup), hard, syncParams)
    else await dbm.synchronizeInSlices(hard, syncParams)
  }

  search(index: number, mode: string, pattern: Buffer, capacity: number): Buffer[] {
    return searchDBM(this.db(index), mode, pattern, Math.max(0, capacity))
  }

  inspect(index: number): [string, string][] {
    return this.db(index).inspect()
  }
}

/**
 * An expiry as Kyoto Tycoon takes it, made absolute: above 0, seconds from now; below 0,
 * minus the epoch seconds.
 */
export function expiryTime(xt: number, now = Date.now() / 1000): number {
  return xt > 0 ? Math.floor(now + xt) : -xt
}

/** Where a backup of the database goes; the name must fit a file system's limit. */
function backupPath(dbm: DBM, requested: string): string {
  const path = dbm.getFilePath()
  if (path === '') throw new StatusError(Code.INFEASIBLE_ERROR, 'no file is associated')
  const dest = `${path}.backup.${backupSuffix(requested)}`
  const nameBytes = Buffer.byteLength(dest.slice(dest.lastIndexOf('/') + 1))
  if (nameBytes > MAX_FILE_NAME_BYTES) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `make_backup: the backup's file name would be ${nameBytes} bytes long, more than ${MAX_FILE_NAME_BYTES}`)
  }
  return dest
}

/** The backup file suffix: only [-_.0-9a-zA-Z]; empty means the UTC time, zero-padded. */
export function backupSuffix(requested: string, now = new Date()): string {
  const cleaned = requested.replace(/[^-_.0-9a-zA-Z]/g, '')
  if (cleaned !== '') return cleaned
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`
}

function firstChannel(index: number): string {
  return `first:${index}`
}

function keyChannel(index: number, key: Buffer): string {
  return `key:${index}:${key.toString('latin1')}`
}
