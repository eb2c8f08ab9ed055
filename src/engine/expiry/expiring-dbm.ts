import {
  AppendTail,
  DBM,
  DBMIterator,
  NOOP,
  REMOVE,
  nextTurn,
  resolveResult,
  type InspectList,
  type OpenOptions,
  type ProcessResult,
  type RebuildParams,
  type RebuildProgress,
  type RecordProcessor,
  type SyncParams,
  type WriteObserver,
} from '../dbm.js'
import {readUintBE, writeUintBE} from '../io/big-endian.js'
import {Code, StatusError} from '../status.js'

/**
 * Record expiration, for any class: each stored value starts with its absolute expiry time
 * in seconds, 5 bytes big-endian (Kyoto Tycoon's layout; 2^40 - 1 means never). A record
 * whose time has passed behaves as absent everywhere: lookups, writes (which see it as
 * empty), cursors. A sweep removes such records in slices.
 *
 * The wrapper is a database of its own whose records are the values without the prefix;
 * the database under it holds them as stored, and its write observers (an update log) see
 * the stored bytes, so that replicas keep the same absolute times.
 */
export const XT_WIDTH = 5
export const XT_NEVER = 2 ** 40 - 1

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

function expiryOf(stored: Buffer): number {
  return stored.length >= XT_WIDTH ? readUintBE(stored, 0, XT_WIDTH) : XT_NEVER
}

/** A stored value: the expiry time, then the value. */
export function stamp(xt: number, value: Buffer): Buffer {
  const stored = Buffer.allocUnsafe(XT_WIDTH + value.length)
  writeUintBE(stored, 0, Math.min(XT_NEVER, Math.max(0, Math.floor(xt))), XT_WIDTH)
  value.copy(stored, XT_WIDTH)
  return stored
}

export class ExpiringDBM extends DBM {
  readonly className: string
  /**
   * The expiry of the writes made now: absolute seconds, or undefined for the default
   * (never, for a new record or a replaced value; kept, for a read-modify-write).
   */
  private writeExpiry: number | undefined
  /** What `now` is; tests move it. */
  clock: () => number = nowSeconds

  constructor(readonly inner: DBM) {
    super()
    this.className = inner.className
  }

  /** Runs `work` with its writes expiring at `xt` (absolute seconds; XT_NEVER for never). */
  withExpiry<T>(xt: number | undefined, work: () => T): T {
    const saved = this.writeExpiry
    this.writeExpiry = xt
    try {
      return work()
    } finally {
      this.writeExpiry = saved
    }
  }

  /** The absolute expiry of a record (XT_NEVER when it has none); undefined when it is absent or expired. */
  expiryOf(key: Buffer): number | undefined {
    let xt: number | undefined
    this.inner.process(key, {processFull: (_key, stored) => ((xt = this.live(stored) ? expiryOf(stored) : undefined), NOOP), processEmpty: () => NOOP}, false)
    return xt
  }

  /** Whether a stored value is still alive. */
  live(stored: Buffer): boolean {
    return this.clock() <= expiryOf(stored)
  }

  /** A processor on stored values that shows the wrapped processor values without expired records. */
  wrap(processor: RecordProcessor): RecordProcessor {
    const stampResult = (result: ProcessResult, old: Buffer | undefined, oldXt: number): ProcessResult => {
      if (result === NOOP || result === REMOVE) return result
      const value = resolveResult(old ?? Buffer.alloc(0), result)
      // A read-modify-write (an append, an increment) keeps the expiry unless one was given.
      const xt = this.writeExpiry ?? (result instanceof AppendTail || !processor.ignoresValue ? oldXt : XT_NEVER)
      return stamp(xt, value)
    }
    return {
      walking: processor.walking,
      processFull: (key, stored) => {
        if (!this.live(stored)) return stampResult(processor.processEmpty(key), undefined, XT_NEVER)
        const value = stored.subarray(XT_WIDTH)
        return stampResult(processor.processFull(key, value), value, expiryOf(stored))
      },
      processEmpty: (key) => stampResult(processor.processEmpty(key), undefined, XT_NEVER),
    }
  }

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    this.inner.process(key, this.wrap(processor), writable)
  }

  protected makeIteratorImpl(): DBMIterator {
    return new ExpiringIterator(this, this.inner.makeIterator())
  }

  // The log and other observers hang on the database under, which sees the stored bytes.
  override addWriteObserver(observer: WriteObserver): () => void {
    return this.inner.addWriteObserver(observer)
  }

  override get isObserved(): boolean {
    return this.inner.isObserved
  }

  override removesUnseen(): boolean {
    return this.inner.removesUnseen()
  }

  override storage(): DBM {
    return this.inner.storage()
  }

  /**
   * Removes the expired records, in slices that yield to the event loop. Returns how many
   * went. A sweep meets each record once; one written meanwhile waits for the next sweep.
   */
  async sweep(sliceMillis = 10): Promise<number> {
    const iterator = this.inner.makeIterator()
    iterator.first()
    let removed = 0
    // Whether the last record visited was removed (the cursor then stands on the next one already).
    let moved: boolean
    const sweeper: RecordProcessor = {
      walking: true,
      processFull: (_key, stored) => {
        if (this.live(stored)) return NOOP
        removed++
        moved = true
        return REMOVE
      },
      processEmpty: () => NOOP,
    }
    const writable = this.isWritable()
    for (;;) {
      const deadline = performance.now() + sliceMillis
      for (let n = 0; n & 63 || performance.now() < deadline; n++) {
        moved = false
        const present = iterator.process(sweeper, writable)
        if (!present) return removed
        if (!moved) iterator.next()
      }
      await nextTurn()
      if (!this.isOpen()) return removed
    }
  }

  protected countImpl(): number {
    return this.inner.count()
  }

  protected clearImpl(): void {
    this.inner.clear()
  }

  protected openImpl(path: string, writable: boolean, options: OpenOptions): void {
    this.inner.open(path, writable, options)
  }

  protected closeImpl(): void {
    this.inner.close()
  }

  override syncParams(): string[] {
    return this.inner.syncParams()
  }

  protected synchronizeImpl(hard: boolean, params: SyncParams = {}): void {
    this.inner.synchronize(hard, checkReducer(params))
  }

  protected override async synchronizeInSlicesImpl(hard: boolean, params: SyncParams = {}): Promise<void> {
    await this.inner.synchronizeInSlices(hard, checkReducer(params))
  }

  protected rebuildImpl(params: RebuildParams): void {
    this.inner.rebuild(params)
  }

  protected override async rebuildInSlicesImpl(params: RebuildParams = {}, onProgress?: RebuildProgress): Promise<void> {
    await this.inner.rebuildInSlices(params, onProgress)
  }

  protected override copyFileDataImpl(dest: string, hard: boolean): void {
    this.inner.copyFileData(dest, hard)
  }

  protected override async copyFileDataInSlicesImpl(dest: string, hard: boolean, params: SyncParams = {}): Promise<void> {
    await this.inner.copyFileDataInSlices(dest, hard, checkReducer(params))
  }

  protected shouldBeRebuiltImpl(): boolean {
    return this.inner.shouldBeRebuilt()
  }

  protected inspectImpl(): InspectList {
    return [...this.inner.inspect(), ['expiration', 'true']]
  }

  protected getFileSizeImpl(): number {
    return this.inner.getFileSize()
  }

  protected override validateStructureImpl(): string[] {
    return this.inner.validateStructure()
  }

  override isHealthy(): boolean {
    return this.inner.isHealthy()
  }

  override compareKeys(a: Buffer, b: Buffer): number {
    return this.inner.compareKeys(a, b)
  }

  getFilePath(): string {
    return this.inner.getFilePath()
  }

  getTimestamp(): number {
    return this.inner.getTimestamp()
  }

  isOrdered(): boolean {
    return this.inner.isOrdered()
  }

  isWritable(): boolean {
    return this.inner.isWritable()
  }

  isOpen(): boolean {
    return this.inner.isOpen()
  }
}

/** The database as one that keeps expiry times; INVALID_ARGUMENT when it does not. */
export function asExpiring(dbm: DBM, name: string): ExpiringDBM {
  if (!(dbm instanceof ExpiringDBM)) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name} keeps no expiry times (open it with expiration=true)`)
  return dbm
}

/**
 * A record's value and when it expires (epoch seconds; 0 when it does not, or the database
 * keeps no times), in one lookup; undefined when there is no live record.
 */
export function readWithExpiry(dbm: DBM, key: Buffer): {value: Buffer; xt: number} | undefined {
  if (!(dbm instanceof ExpiringDBM)) {
    const value = dbm.get(key)
    return value === undefined ? undefined : {value, xt: 0}
  }
  let found: {value: Buffer; xt: number} | undefined
  dbm.storage().process(
    key,
    {
      processFull: (_key, stored) => {
        if (!dbm.live(stored)) return NOOP
        const xt = expiryOf(stored)
        found = {value: Buffer.from(stored.subarray(XT_WIDTH)), xt: xt >= XT_NEVER ? 0 : xt}
        return NOOP
      },
      processEmpty: () => NOOP,
    },
    false,
  )
  return found
}

/** Reducers that pick one of a key's values; the others would combine expiry times with the values. */
const PICKING_REDUCERS = new Set(['', 'none', 'first', 'second', 'last', 'remove', 'reducetofirst', 'reducetosecond', 'reducetolast', 'reduceremove'])

function checkReducer(params: SyncParams): SyncParams {
  const reducer = params.reducer
  if (reducer !== undefined && !PICKING_REDUCERS.has(reducer.toLowerCase())) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `with expiration, a reducer must pick one value (first, second, last, remove), not ${reducer}`)
  }
  return params
}

/** A cursor that passes over expired records and shows values without their expiry. */
class ExpiringIterator extends DBMIterator {
  constructor(
    private readonly expiring: ExpiringDBM,
    private readonly inner: DBMIterator,
  ) {
    super(expiring)
  }

  /** Moves past expired records, forwards or backwards. */
  private settle(forward: boolean): void {
    for (;;) {
      let expired = false
      const present = this.inner.process(
        {walking: true, processFull: (_key, stored) => ((expired = !this.expiring.live(stored)), NOOP), processEmpty: () => NOOP},
        false,
      )
      if (!present || !expired) return
      if (forward) this.inner.next()
      else this.inner.previous()
    }
  }

  protected firstImpl(): void {
    this.inner.first()
    this.settle(true)
  }

  protected lastImpl(): void {
    this.inner.last()
    this.settle(false)
  }

  protected jumpImpl(key: Buffer): void {
    this.inner.jump(key)
    this.settle(true)
  }

  protected jumpLowerImpl(key: Buffer, inclusive: boolean): void {
    this.inner.jumpLower(key, inclusive)
    this.settle(false)
  }

  protected jumpUpperImpl(key: Buffer, inclusive: boolean): void {
    this.inner.jumpUpper(key, inclusive)
    this.settle(true)
  }

  protected nextImpl(): void {
    this.inner.next()
    this.settle(true)
  }

  protected previousImpl(): void {
    this.inner.previous()
    this.settle(false)
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    const done = this.inner.process(this.expiring.wrap(processor), writable)
    // A removal moved the cursor on, perhaps onto an expired record.
    if (done) this.settle(true)
    return done
  }
}
