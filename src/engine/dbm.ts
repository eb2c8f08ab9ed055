import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from './status.js'

/** Keys and values are bytes; a string argument is taken as UTF-8. */
export type Bytes = Buffer | string

export function toBuffer(data: Bytes): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

/** A processor's answer: keep the record as it is. */
export const NOOP: unique symbol = Symbol('NOOP')
/** A processor's answer: remove the record. */
export const REMOVE: unique symbol = Symbol('REMOVE')

/** A processor's answer: the old value followed by `tail`. Classes may append in place. */
export class AppendTail {
  constructor(readonly tail: Buffer) {}
}

export type ProcessResult = Buffer | typeof NOOP | typeof REMOVE | AppendTail

/**
 * The callback of the `process` primitive: it sees one record (or its absence) and decides
 * what becomes of it. It runs while the record is held, so the decision is atomic.
 */
export interface RecordProcessor {
  /** True when processFull never reads the value, so a class may skip materialising it. */
  readonly ignoresValue?: boolean
  /** True for a cursor's visits: a walk over the records, not a use of them (an LRU cache keeps its order). */
  readonly walking?: boolean
  processFull(key: Buffer, value: Buffer): ProcessResult
  processEmpty(key: Buffer): ProcessResult
}

/**
 * The processors of the commonest calls, as classes: one small object per call, where
 * closures would cost a context and two functions (get and set are the hot path of every
 * benchmark and of the servers).
 */
class ValueReader implements RecordProcessor {
  value: Buffer | undefined = undefined

  processFull(_key: Buffer, value: Buffer): ProcessResult {
    this.value = value
    return NOOP
  }

  processEmpty(): ProcessResult {
    return NOOP
  }
}

class ValueWriter implements RecordProcessor {
  readonly ignoresValue = true
  duplicated = false

  constructor(
    private readonly value: Buffer,
    private readonly overwrite: boolean,
  ) {}

  processFull(): ProcessResult {
    if (this.overwrite) return this.value
    this.duplicated = true
    return NOOP
  }

  processEmpty(): ProcessResult {
    return this.value
  }
}

class RecordRemover implements RecordProcessor {
  readonly ignoresValue = true
  found = false

  /** Whether the class removes a key its lookup does not find (see DBM.removesUnseen). */
  constructor(readonly unseen: boolean) {}

  processFull(): ProcessResult {
    this.found = true
    return REMOVE
  }

  processEmpty(): ProcessResult {
    return this.unseen ? REMOVE : NOOP
  }
}

/** The value a result leaves, given the old one. */
export function resolveResult(old: Buffer, result: Buffer | AppendTail): Buffer {
  return result instanceof AppendTail ? Buffer.concat([old, result.tail]) : result
}

/** Marks "any value": as an expectation, the record exists; as a desire, leave it alone. */
export const ANY_VALUE: unique symbol = Symbol('ANY_VALUE')
export type Expected = Bytes | null | typeof ANY_VALUE
export type Desired = Bytes | null | typeof ANY_VALUE

/** The smallest int64, which as an increment means "read without changing". */
export const INT64_MIN = -(2n ** 63n)

export type Record = [key: Buffer, value: Buffer]

/** One change to a database, as a write observer sees it: a set carries the value the record ends with. */
export type Change = {op: 'set'; key: Buffer; value: Buffer} | {op: 'remove'; key: Buffer} | {op: 'clear'}

/**
 * Sees every change to a database exactly once, in order, from every path: single and
 * multi-record operations, compare-exchange, rekey, the queue, iterator writes, imports.
 * Update logs, expiration and metrics hang here. Records that a capacity-bounded class
 * (CacheDBM) drops by itself are not changes and are not reported: a replica with the same
 * capacity drops them too.
 */
export interface WriteObserver {
  /**
   * Called before a change is applied, while the record is held: returns the change to
   * apply, the same one or a rewritten one (another value, or a removal; the key stays).
   * To refuse the write, it throws: the operation then fails with that error and changes
   * nothing, so that no operation goes half done.
   */
  beforeWrite?(change: Change): Change
  /** Called once the change is applied; the buffers are the observer's to keep. */
  afterWrite?(change: Change): void
}

/** Told when a database is synchronized (after its own synchronize) and closed (after it closed, even when closing failed). */
export interface LifecycleListener {
  synchronized?(hard: boolean): void
  closed?(): void
}

/**
 * A cursor over a database. Every move and every record access passes the database's
 * gate first, so a cursor used after its database closed, or writing to a read-only one,
 * answers PRECONDITION_ERROR like any other entry. Classes implement the hooks.
 */
export abstract class DBMIterator {
  constructor(protected readonly owner: DBM) {}

  protected abstract firstImpl(): void
  protected abstract lastImpl(): void
  protected abstract jumpImpl(key: Buffer): void
  protected abstract jumpLowerImpl(key: Buffer, inclusive: boolean): void
  protected abstract jumpUpperImpl(key: Buffer, inclusive: boolean): void
  protected abstract nextImpl(): void
  protected abstract previousImpl(): void
  protected abstract processImpl(processor: RecordProcessor, writable: boolean): boolean

  first(): void {
    this.owner.checkUsable(false)
    this.firstImpl()
  }

  last(): void {
    this.owner.checkUsable(false)
    this.lastImpl()
  }

  /** To the record with the key or, in ordered classes, the first one after it. */
  jump(key: Bytes): void {
    this.owner.checkUsable(false)
    this.jumpImpl(toBuffer(key))
  }

  /** To the last record before the key (or at it, when inclusive). */
  jumpLower(key: Bytes, inclusive = false): void {
    this.owner.checkUsable(false)
    this.jumpLowerImpl(toBuffer(key), inclusive)
  }

  /** To the first record after the key (or at it, when inclusive). */
  jumpUpper(key: Bytes, inclusive = false): void {
    this.owner.checkUsable(false)
    this.jumpUpperImpl(toBuffer(key), inclusive)
  }

  next(): void {
    this.owner.checkUsable(false)
    this.nextImpl()
  }

  previous(): void {
    this.owner.checkUsable(false)
    this.previousImpl()
  }

  /**
   * Runs a processor on the current record. Returns false when the iterator is not on a
   * record. Removing the record moves the iterator to the next one.
   */
  process(processor: RecordProcessor, writable: boolean): boolean {
    this.owner.checkUsable(writable)
    if (!writable || !this.owner.isObserved) return this.processImpl(processor, writable)
    return this.owner.observed(processor, writable, (watched) => this.processImpl(watched, writable))
  }

  /** The current record, or undefined at the end. */
  get(): Record | undefined {
    let found: Record | undefined
    this.process(
      {
        processFull: (key, value) => {
          found = [key, value]
          return NOOP
        },
        processEmpty: () => NOOP,
      },
      false,
    )
    return found
  }

  getKey(): Buffer | undefined {
    return this.get()?.[0]
  }

  getValue(): Buffer | undefined {
    return this.get()?.[1]
  }

  /** Replaces the current record's value. */
  set(value: Bytes): void {
    const buffer = toBuffer(value)
    const done = this.process({ignoresValue: true, processFull: () => buffer, processEmpty: () => NOOP}, true)
    if (!done) throw new StatusError(Code.NOT_FOUND_ERROR, 'no record at the iterator')
  }

  /** Removes the current record; the iterator moves to the next one. */
  remove(): void {
    const done = this.process({ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
    if (!done) throw new StatusError(Code.NOT_FOUND_ERROR, 'no record at the iterator')
  }

  /** The current record, then moves to the next one. */
  step(): Record | undefined {
    const record = this.get()
    if (record) this.next()
    return record
  }
}

/** A cursor over an unordered class: the ordered moves answer NOT_IMPLEMENTED_ERROR, as the reference does. */
export abstract class UnorderedIterator extends DBMIterator {
  protected lastImpl(): void {
    throw unorderedMove()
  }

  protected jumpLowerImpl(): void {
    throw unorderedMove()
  }

  protected jumpUpperImpl(): void {
    throw unorderedMove()
  }

  protected previousImpl(): void {
    throw unorderedMove()
  }
}

function unorderedMove(): StatusError {
  return new StatusError(Code.NOT_IMPLEMENTED_ERROR, 'not implemented for an unordered database')
}

export type InspectList = [name: string, value: string][]

export interface OpenOptions {
  /** Start empty even if the file has records. */
  truncate?: boolean
  /** Take no lock: for files private to the caller, such as a rebuild's temporary file. */
  noLock?: boolean
}

/** How far along a rebuild is: the part of the records copied so far, from 0 to 1. */
export type RebuildProgress = (fraction: number) => void

/** Parameters of a synchronize, for the classes that take any. */
export interface SyncParams {
  [name: string]: string
}

export interface RebuildParams {
  [name: string]: string
}

/**
 * The contract every database class fulfils. Every public entry is a gate: it checks the
 * state once (open? writable?) and then calls the class's hook, so a closed or read-only
 * database answers PRECONDITION_ERROR the same way everywhere. A class implements the
 * hooks (`processImpl`, the iteration and its file lifecycle); every record operation
 * below is written once on top of `process`.
 */
export abstract class DBM {
  protected abstract openImpl(path: string, writable: boolean, options: OpenOptions): void
  protected abstract closeImpl(): void
  /** Looks up one record and lets the processor decide what becomes of it, atomically. */
  protected abstract processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void
  protected abstract makeIteratorImpl(): DBMIterator
  protected abstract countImpl(): number
  protected abstract clearImpl(): void
  /** Called on read-only databases too, where it has nothing to write. The parameters are those syncParams names. */
  protected abstract synchronizeImpl(hard: boolean, params?: SyncParams): void
  protected abstract rebuildImpl(params: RebuildParams): void
  /**
   * Rebuilds without stalling the event loop: classes whose rebuild is long copy in slices
   * that yield, taking the updates made meanwhile. The default is the plain rebuild.
   */
  protected async rebuildInSlicesImpl(params: RebuildParams, onProgress?: RebuildProgress): Promise<void> {
    void onProgress
    this.rebuildImpl(params)
  }
  /**
   * Synchronizes without stalling the event loop: classes that write a lot at a synchronize
   * (the on-memory ones save every record) take a consistent snapshot at once and write it
   * in slices. The default is the plain synchronize.
   */
  protected async synchronizeInSlicesImpl(hard: boolean, params?: SyncParams): Promise<void> {
    this.synchronizeImpl(hard, params)
  }
  /** Copies the file without stalling the event loop; the default is the plain copy. */
  protected async copyFileDataInSlicesImpl(dest: string, hard: boolean, params: SyncParams = {}): Promise<void> {
    if (this.isWritable()) this.synchronize(hard, params)
    copyFile(this.getFilePath(), dest, hard)
  }
  protected abstract shouldBeRebuiltImpl(): boolean
  protected abstract inspectImpl(): InspectList
  protected abstract getFileSizeImpl(): number
  /** Problems a class finds in its own file structure; on-memory classes have none to find. */
  protected validateStructureImpl(): string[] {
    return []
  }

  /** Opens the database at a path ('' for none, where the class allows it). */
  open(path: string, writable: boolean, options: OpenOptions = {}): void {
    if (this.isOpen()) throw new StatusError(Code.PRECONDITION_ERROR, 'opened database')
    this.openImpl(path, writable, options)
  }

  close(): void {
    this.checkUsable(false)
    try {
      this.closeImpl()
    } finally {
      const listeners = this.lifecycle
      this.lifecycle = []
      for (const listener of listeners) listener.closed?.()
    }
  }

  private lifecycle: LifecycleListener[] = []

  /** Adds a listener to the synchronizes and the close of this database (an update log follows them). */
  addLifecycleListener(listener: LifecycleListener): void {
    this.lifecycle = [...this.lifecycle, listener]
  }

  /** Looks up one record and lets the processor decide what becomes of it, atomically. */
  process(key: Bytes, processor: RecordProcessor, writable: boolean): void {
    this.checkUsable(writable)
    const buffer = toBuffer(key)
    if (!writable || this.observers.length === 0) this.processImpl(buffer, processor, writable)
    else this.observed(processor, writable, (watched) => this.processImpl(buffer, watched, writable))
  }

  /**
   * Processes a record for a cursor that has passed the gate already: no second state
   * check and no second observation (the cursor's own process did both).
   */
  processForCursor(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    this.processImpl(key, processor, writable)
  }

  private observers: WriteObserver[] = []

  /** Whether any write observer is attached. */
  get isObserved(): boolean {
    return this.observers.length > 0
  }

  /** Adds an observer of every change; returns the function that removes it. */
  addWriteObserver(observer: WriteObserver): () => void {
    this.observers = [...this.observers, observer]
    return () => {
      this.observers = this.observers.filter((other) => other !== observer)
    }
  }

  /**
   * Runs a writing primitive with the processor wrapped so that the observers see, and may
   * rewrite or veto, the change it decides; they hear of it once it is applied.
   */
  observed<T>(processor: RecordProcessor, writable: boolean, run: (processor: RecordProcessor) => T): T {
    if (!writable || this.observers.length === 0) return run(processor)
    const watch = new ObservedProcessor(processor, this.observers, this.removesUnseen())
    const result = run(watch)
    watch.report()
    return result
  }

  makeIterator(): DBMIterator {
    this.checkUsable(false)
    return this.makeIteratorImpl()
  }

  count(): number {
    this.checkUsable(false)
    return this.countImpl()
  }

  clear(): void {
    this.checkUsable(true)
    const observers = this.observers
    for (const observer of observers) observer.beforeWrite?.({op: 'clear'})
    this.clearImpl()
    for (const observer of observers) observer.afterWrite?.({op: 'clear'})
  }

  /** Writes what the file must hold; a class may take parameters (a skip list: `reducer`, `merge`). */
  synchronize(hard = false, params: SyncParams = {}): void {
    this.checkUsable(false)
    this.checkSyncParams(params)
    this.synchronizeImpl(hard, params)
    for (const listener of this.lifecycle) listener.synchronized?.(hard)
  }

  /** Synchronizes without stalling the event loop (see synchronizeInSlicesImpl). */
  async synchronizeInSlices(hard = false, params: SyncParams = {}): Promise<void> {
    this.checkUsable(false)
    this.checkSyncParams(params)
    await this.synchronizeInSlicesImpl(hard, params)
    for (const listener of this.lifecycle) listener.synchronized?.(hard)
  }

  /** The parameters a synchronize of this class takes; none unless the class says so. */
  syncParams(): string[] {
    return []
  }

  private checkSyncParams(params: SyncParams): void {
    const names = this.syncParams()
    for (const name of Object.keys(params)) if (!names.includes(name)) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unsupported parameter: ${name}`)
  }

  rebuild(params: RebuildParams = {}): void {
    this.checkUsable(true)
    this.rebuildImpl(params)
  }

  /**
   * Rebuilds without stalling the event loop (see rebuildInSlicesImpl). Classes whose
   * rebuild is long tell how far along it is through onProgress, between slices.
   */
  async rebuildInSlices(params: RebuildParams = {}, onProgress?: RebuildProgress): Promise<void> {
    this.checkUsable(true)
    await this.rebuildInSlicesImpl(params, onProgress)
  }

  shouldBeRebuilt(): boolean {
    this.checkUsable(false)
    return this.shouldBeRebuiltImpl()
  }

  inspect(): InspectList {
    this.checkUsable(false)
    return this.inspectImpl()
  }

  /** Bytes the database takes in its file (on-memory classes: estimated memory use). */
  getFileSize(): number {
    this.checkUsable(false)
    return this.getFileSizeImpl()
  }

  /** Problems found in the file's structure; an empty list means valid. */
  validateStructure(): string[] {
    this.checkUsable(false)
    return this.validateStructureImpl()
  }

  /** Runs the processor on the first record (in iteration order); false if there is none. */
  processFirst(processor: RecordProcessor, writable: boolean): boolean {
    this.checkUsable(writable)
    const iter = this.makeIterator()
    iter.first()
    return iter.process(processor, writable)
  }

  /** Runs the processor on every record in iteration order. */
  processEach(processor: RecordProcessor, writable: boolean): void {
    this.checkUsable(writable)
    let removed = false
    const watched: RecordProcessor = {
      ignoresValue: processor.ignoresValue,
      processFull: (key, value) => {
        const result = processor.processFull(key, value)
        removed = result === REMOVE
        return result
      },
      processEmpty: (key) => processor.processEmpty(key),
    }
    const iter = this.makeIterator()
    iter.first()
    // A removal already moves the iterator to the next record.
    while (iter.process(watched, writable)) if (!removed) iter.next()
  }

  /** The one state check: open, and writable when the caller would write. */
  checkUsable(writable: boolean): void {
    if (!this.isOpen()) throw new StatusError(Code.PRECONDITION_ERROR, 'not opened database')
    if (writable) this.checkWritable()
  }

  abstract getFilePath(): string
  /** Seconds since the epoch of the last update that reached the file. */
  abstract getTimestamp(): number
  abstract isOrdered(): boolean
  abstract isWritable(): boolean
  abstract isOpen(): boolean
  isHealthy(): boolean {
    return true
  }

  /**
   * Copies the database's file to `dest` in a consistent state: synchronized first, so
   * the copy is what a clean close would leave. INFEASIBLE_ERROR without a file.
   */
  copyFileData(dest: string, hard = false): void {
    this.checkUsable(false)
    if (this.getFilePath() === '') throw new StatusError(Code.INFEASIBLE_ERROR, 'no file is associated')
    this.copyFileDataImpl(dest, hard)
  }

  /**
   * The same copy without stalling the event loop: the copy is of one moment (the moment
   * of the call) while writers go on.
   */
  /** With `params`, what a synchronize before the copy takes (a skip list's reducer). */
  async copyFileDataInSlices(dest: string, hard = false, params: SyncParams = {}): Promise<void> {
    this.checkUsable(false)
    this.checkSyncParams(params)
    if (this.getFilePath() === '') throw new StatusError(Code.INFEASIBLE_ERROR, 'no file is associated')
    await this.copyFileDataInSlicesImpl(dest, hard, params)
  }

  protected copyFileDataImpl(dest: string, hard: boolean): void {
    if (this.isWritable()) this.synchronize(hard)
    copyFile(this.getFilePath(), dest, hard)
  }

  /** Orders two keys as the class does; bytes order unless the class has a comparator. */
  compareKeys(a: Buffer, b: Buffer): number {
    return Buffer.compare(a, b)
  }

  /** The class name Tkrzw would report. */
  abstract readonly className: string

  protected checkWritable(): void {
    if (!this.isWritable()) throw new StatusError(Code.PRECONDITION_ERROR, 'not writable database')
  }

  protected runProcess(key: Bytes, processor: RecordProcessor, writable: boolean): void {
    this.process(key, processor, writable)
  }

  /** The value of a record, or undefined when there is none. */
  get(key: Bytes): Buffer | undefined {
    const reader = new ValueReader()
    this.runProcess(key, reader, false)
    return reader.value
  }

  /** Stores a record; with overwrite false an existing key is a DUPLICATION_ERROR. */
  set(key: Bytes, value: Bytes, overwrite = true): void {
    const writer = new ValueWriter(toBuffer(value), overwrite)
    this.runProcess(key, writer, true)
    if (writer.duplicated) throw new StatusError(Code.DUPLICATION_ERROR)
  }

  /** Removes a record; a missing key is a NOT_FOUND_ERROR. */
  remove(key: Bytes): void {
    const remover = new RecordRemover(this.removesUnseen())
    this.runProcess(key, remover, true)
    if (!remover.found && !remover.unseen) throw new StatusError(Code.NOT_FOUND_ERROR)
  }

  /**
   * The database that holds the records as stored: this one, or for a wrapper that changes
   * how values look (expiration), the one under it. Update logs are applied there, since
   * they carry stored values.
   */
  storage(): DBM {
    return this
  }

  /**
   * Whether `remove` succeeds for a key a lookup does not find, removing it anyway: in a
   * class whose updates wait for a synchronize, the key may be among those waiting.
   */
  removesUnseen(): boolean {
    return false
  }

  /** Appends delimiter and value to an existing value, or stores the value alone. */
  append(key: Bytes, value: Bytes, delimiter: Bytes = ''): void {
    const buffer = toBuffer(value)
    const delim = toBuffer(delimiter)
    const tail = new AppendTail(delim.length === 0 ? buffer : Buffer.concat([delim, buffer]))
    this.runProcess(key, {ignoresValue: true, processFull: () => tail, processEmpty: () => buffer}, true)
  }

  /**
   * Compare and exchange. `expected`: null for "absent", ANY_VALUE for "any value", or the
   * exact value. `desired`: null to remove, ANY_VALUE to leave as is, or the new value.
   * Returns the actual value (undefined if absent); INFEASIBLE_ERROR when the expectation fails.
   */
  compareExchange(key: Bytes, expected: Expected, desired: Desired): {actual: Buffer | undefined} {
    const want = expected === null || expected === ANY_VALUE ? expected : toBuffer(expected)
    const next = desired === null || desired === ANY_VALUE ? desired : toBuffer(desired)
    const decide = (): ProcessResult => (next === ANY_VALUE ? NOOP : next === null ? REMOVE : next)
    let actual: Buffer | undefined
    let met = false
    this.runProcess(
      key,
      {
        processFull: (_key, value) => {
          actual = value
          met = want === ANY_VALUE || (want !== null && want.equals(value))
          return met ? decide() : NOOP
        },
        processEmpty: () => {
          met = want === null
          if (!met || next === null) return NOOP
          return decide()
        },
      },
      next !== ANY_VALUE,
    )
    if (!met) throw new StatusError(Code.INFEASIBLE_ERROR)
    return {actual}
  }

  /**
   * Adds to an 8-byte big-endian int64 value and returns the result. A missing record
   * starts at `initial`. An increment of INT64_MIN reads without changing anything.
   */
  increment(key: Bytes, increment: bigint | number, initial: bigint | number = 0n): bigint {
    const inc = BigInt(increment)
    const init = BigInt(initial)
    const readOnly = inc === INT64_MIN
    let current = 0n
    this.runProcess(
      key,
      {
        processFull: (_key, value) => {
          const old = decodeInt64(value)
          if (readOnly) {
            current = old
            return NOOP
          }
          current = BigInt.asIntN(64, old + inc)
          return encodeInt64(current)
        },
        processEmpty: () => {
          if (readOnly) {
            current = init
            return NOOP
          }
          current = BigInt.asIntN(64, init + inc)
          return encodeInt64(current)
        },
      },
      !readOnly,
    )
    return current
  }

  /**
   * Checks every expectation, then applies every desired state, as one step: no other
   * operation can run between them because record operations never yield.
   */
  compareExchangeMulti(expected: [Bytes, Expected][], desired: [Bytes, Bytes | null][]): void {
    for (const [key, want] of expected) {
      const value = this.get(key)
      const ok = want === null ? value === undefined : want === ANY_VALUE ? value !== undefined : value?.equals(toBuffer(want)) === true
      if (!ok) throw new StatusError(Code.INFEASIBLE_ERROR)
    }
    this.checkWritable()
    for (const [key, value] of desired) {
      if (value === null) this.removeIfExists(key)
      else this.set(key, value)
    }
  }

  private removeIfExists(key: Bytes): void {
    this.runProcess(key, {ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
  }

  /** Renames a record. With copying, the old record stays. */
  rekey(oldKey: Bytes, newKey: Bytes, overwrite = true, copying = false): void {
    this.checkWritable()
    const value = this.get(oldKey)
    if (value === undefined) throw new StatusError(Code.NOT_FOUND_ERROR)
    this.set(newKey, value, overwrite)
    if (!copying && !toBuffer(oldKey).equals(toBuffer(newKey))) this.remove(oldKey)
  }

  /** The records found among the keys, in the order asked; missing keys are left out. */
  getMulti(keys: Bytes[]): Record[] {
    const found: Record[] = []
    for (const key of keys) {
      const value = this.get(key)
      if (value !== undefined) found.push([toBuffer(key), value])
    }
    return found
  }

  /** Stores every record; DUPLICATION_ERROR after the others are stored if any key existed. */
  setMulti(records: Iterable<[Bytes, Bytes]>, overwrite = true): void {
    let duplicated = false
    for (const [key, value] of records) {
      try {
        this.set(key, value, overwrite)
      } catch (error) {
        if (error instanceof StatusError && error.code === Code.DUPLICATION_ERROR) duplicated = true
        else throw error
      }
    }
    if (duplicated) throw new StatusError(Code.DUPLICATION_ERROR)
  }

  /** Removes every key; NOT_FOUND_ERROR after the others are removed if any was missing. */
  removeMulti(keys: Bytes[]): void {
    let missing = false
    for (const key of keys) {
      try {
        this.remove(key)
      } catch (error) {
        if (error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR) missing = true
        else throw error
      }
    }
    if (missing) throw new StatusError(Code.NOT_FOUND_ERROR)
  }

  appendMulti(records: Iterable<[Bytes, Bytes]>, delimiter: Bytes = ''): void {
    for (const [key, value] of records) this.append(key, value, delimiter)
  }

  private lastQueueKey = 0n

  /**
   * Stores a value under an 8-byte big-endian key counting 10 ns units of wall time, unique
   * and increasing within this database. `wtime` in seconds; negative means now.
   */
  pushLast(value: Bytes, wtime = -1): Buffer {
    const base = wtime < 0 ? nowIn10ns() : BigInt(Math.floor(wtime * 1e8))
    let seq = wtime < 0 && base <= this.lastQueueKey ? this.lastQueueKey + 1n : base
    for (;;) {
      const key = encodeUint64(seq)
      try {
        this.set(key, value, false)
        if (seq > this.lastQueueKey) this.lastQueueKey = seq
        return key
      } catch (error) {
        if (!(error instanceof StatusError && error.code === Code.DUPLICATION_ERROR)) throw error
        seq++
      }
    }
  }

  /** Removes and returns the first record, or undefined when the database is empty. */
  popFirst(): Record | undefined {
    let found: Record | undefined
    this.processFirst(
      {
        processFull: (key, value) => {
          found = [key, value]
          return REMOVE
        },
        processEmpty: () => NOOP,
      },
      true,
    )
    return found
  }

  /** Every record, in iteration order. */
  *records(): Generator<Record> {
    const iter = this.makeIterator()
    iter.first()
    for (;;) {
      const record = iter.step()
      if (!record) return
      yield record
    }
  }

  /** Copies every record into another database. */
  export(dest: DBM): void {
    this.processEach(
      {
        processFull: (key, value) => {
          dest.set(key, value)
          return NOOP
        },
        processEmpty: () => NOOP,
      },
      false,
    )
  }
}

/**
 * A processor seen by write observers: the decision of the wrapped processor becomes a
 * Change, each observer may rewrite or veto it before it is applied, and `report` tells
 * them afterwards. Values are always materialised, since a set reports its final value.
 */
class ObservedProcessor implements RecordProcessor {
  readonly walking: boolean | undefined
  private change: Change | undefined

  constructor(
    private readonly inner: RecordProcessor,
    private readonly observers: WriteObserver[],
    /** Whether a removal of a record the lookup did not find is a change still (see DBM.removesUnseen). */
    private readonly removesUnseen = false,
  ) {
    this.walking = inner.walking
  }

  processFull(key: Buffer, value: Buffer): ProcessResult {
    return this.decide(key, value, this.inner.processFull(key, value))
  }

  processEmpty(key: Buffer): ProcessResult {
    return this.decide(key, undefined, this.inner.processEmpty(key))
  }

  private decide(key: Buffer, old: Buffer | undefined, result: ProcessResult): ProcessResult {
    if (result === NOOP || (result === REMOVE && old === undefined && !this.removesUnseen)) return result
    // The key may be a view of storage the write is about to change: the change owns a copy.
    const own = Buffer.from(key)
    const proposed: Change = result === REMOVE ? {op: 'remove', key: own} : {op: 'set', key: own, value: resolveResult(old ?? EMPTY, result)}
    let change: Change = proposed
    let rewritable = false
    for (const observer of this.observers) {
      if (!observer.beforeWrite) continue
      rewritable = true
      change = observer.beforeWrite(change)
      if (change.op === 'clear' || !change.key.equals(key)) {
        throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'a write observer may rewrite the value of a record write, not its key or its kind')
      }
    }
    if (change.op === 'remove' && old === undefined && !this.removesUnseen) return NOOP
    this.change = change
    if (change.op === 'remove') return REMOVE
    // An append nobody could have rewritten stays an append, so classes keep appending in place.
    return result instanceof AppendTail && !rewritable ? result : change.value
  }

  /** Tells the observers of the change, once it is applied. */
  report(): void {
    const change = this.change
    if (!change) return
    this.change = undefined
    for (const observer of this.observers) observer.afterWrite?.(change)
  }
}

const EMPTY = Buffer.alloc(0)

let copies = 0

/** A name for a copy on its way to `dest`, its own even when two copies to `dest` overlap. */
export function temporaryCopyPath(dest: string): string {
  return `${dest}.tmp.copy.${process.pid}.${++copies}`
}

/** Copies a file, through a temporary name so that `dest` is never half-written. */
export function copyFile(source: string, dest: string, hard: boolean): void {
  const temp = temporaryCopyPath(dest)
  try {
    fs.copyFileSync(source, temp, fs.constants.COPYFILE_EXCL)
    if (hard) {
      const fd = fs.openSync(temp, 'r+')
      try {
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
    }
    fs.renameSync(temp, dest)
  } catch (error) {
    fs.rmSync(temp, {force: true})
    throw fromSystemError(error, `cannot copy ${source} to ${dest}`)
  }
}

/**
 * The keys written while a sliced rebuild copies a database's records: the class notes each
 * key it writes, and at the end the rebuild copies them again. A class holds its rebuild's
 * TouchedKeys while the rebuild runs; closing or clearing the database lets go of it, which
 * is how the rebuild learns that it must stop.
 */
export class TouchedKeys {
  private keys = new Set<string>()

  note(key: Buffer): void {
    this.keys.add(key.toString('latin1'))
  }

  /**
   * Copies the noted keys again, in slices that yield through `pause`, until few enough are
   * left for copyRest. Writers faster than the copy would keep it going for ever: when a
   * round leaves as many keys as it took, the rest is left to copyRest too.
   */
  async recopyInSlices(copyKey: (name: string) => void, pause: () => Promise<void>, sliceMillis: number): Promise<void> {
    for (let round = 0; this.keys.size > 1000 && round < 16; round++) {
      let deadline = performance.now() + sliceMillis
      const batch = this.keys
      this.keys = new Set()
      for (const name of batch) {
        copyKey(name)
        if (performance.now() > deadline) {
          await pause()
          deadline = performance.now() + sliceMillis
        }
      }
      await pause()
      if (this.keys.size >= batch.size) break
    }
  }

  /**
   * Copies the keys noted and not copied yet. The caller does it in the same synchronous
   * step that puts the new file in place, with no await between: a write in between would
   * be lost.
   */
  copyRest(copyKey: (name: string) => void): void {
    for (const name of this.keys) copyKey(name)
  }
}

/** Resolves on the event loop's next turn: what a sliced operation awaits between slices. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Bytes a sliced copy moves between two turns of the event loop. */
const COPY_SLICE = 4 << 20

/**
 * Copies a file like copyFile, in slices that yield to the event loop. The source is read
 * through a descriptor opened at the start, so a file renamed over it meanwhile does not
 * change what is copied.
 */
export async function copyFileInSlices(source: string, dest: string, hard: boolean): Promise<void> {
  const temp = temporaryCopyPath(dest)
  let input = -1
  let output = -1
  try {
    input = fs.openSync(source, 'r')
    output = fs.openSync(temp, 'wx')
    const buffer = Buffer.allocUnsafe(COPY_SLICE)
    for (let position = 0; ;) {
      const read = fs.readSync(input, buffer, 0, buffer.length, position)
      if (read === 0) break
      let written = 0
      while (written < read) written += fs.writeSync(output, buffer, written, read - written, position + written)
      position += read
      await nextTurn()
    }
    const fd = output
    if (hard) await new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())))
    fs.closeSync(output)
    output = -1
    fs.renameSync(temp, dest)
  } catch (error) {
    fs.rmSync(temp, {force: true})
    throw fromSystemError(error, `cannot copy ${source} to ${dest}`)
  } finally {
    if (input >= 0) fs.closeSync(input)
    if (output >= 0) fs.closeSync(output)
  }
}

export function decodeInt64(value: Buffer): bigint {
  if (value.length >= 8) return value.readBigInt64BE(0)
  let n = 0n
  for (const byte of value) n = (n << 8n) | BigInt(byte)
  return BigInt.asIntN(64, n)
}

export function encodeInt64(n: bigint): Buffer {
  const buffer = Buffer.allocUnsafe(8)
  buffer.writeBigInt64BE(BigInt.asIntN(64, n))
  return buffer
}

function encodeUint64(n: bigint): Buffer {
  const buffer = Buffer.allocUnsafe(8)
  buffer.writeBigUInt64BE(BigInt.asUintN(64, n))
  return buffer
}

function nowIn10ns(): bigint {
  return BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1e5))
}
