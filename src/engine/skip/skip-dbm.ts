import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import {
  AppendTail,
  DBM,
  DBMIterator,
  NOOP,
  REMOVE,
  copyFileInSlices,
  nextTurn,
  type InspectList,
  type OpenOptions,
  type RebuildParams,
  type RecordProcessor,
  type SyncParams,
} from '../dbm.js'
import type {LockMode} from '../io/file-lock.js'
import {MappedFile} from '../io/mapped-file.js'
import {ParamReader} from '../params.js'
import {Code, StatusError} from '../status.js'
import {
  CLOSURE_CLOSED,
  DEFAULT_MAX_CACHED_RECORDS,
  DEFAULT_MAX_LEVEL,
  DEFAULT_OFFSET_WIDTH,
  DEFAULT_SORT_MEM_SIZE,
  DEFAULT_STEP_UNIT,
  MAX_MAX_LEVEL,
  MAX_OFFSET_WIDTH,
  MAX_STEP_UNIT,
  MIN_MAX_LEVEL,
  MIN_OFFSET_WIDTH,
  MIN_STEP_UNIT,
  REMOVING_VALUE,
  SKIP_META_SIZE,
  SKIP_OPAQUE_SIZE,
  SkipRecord,
  SkipRecordReader,
  SkipWriter,
  decodeSkipMeta,
  encodeSkipMeta,
  type SkipMeta,
} from './format.js'
import {findReducer, reduceRemove, type Reducer} from './reducers.js'
import {PendingRecords, SkipFileSource, SourceMerger, mergeSources, type RecordSource} from './sources.js'

/** Updates taken together for a merge: queued records, the in-order file, files to merge in. */
interface QueuedUpdates {
  pending: PendingRecords
  sortedPath: string | undefined
  merges: string[]
  removed: boolean
}

/** Removes a finished or failed job's temporary files. */
function dropJob(job: QueuedUpdates): void {
  job.pending.discard()
  if (job.sortedPath) fs.rmSync(job.sortedPath, {force: true})
}

const EMPTY = Buffer.alloc(0)
/** How much of a file's tail past its recorded size is checked for being zero padding. */
const PADDING_CHECK = 128 * 1024
const PKG_MAJOR = 1
const PKG_MINOR = 0

export type SkipRestoreMode = 'default' | 'sync' | 'read_only' | 'noop'

export interface SkipTuning {
  /** -1: as the file says, or the default. */
  offsetWidth: number
  stepUnit: number
  maxLevel: number
  sortMemSize: number
  insertInOrder: boolean
  restoreMode: SkipRestoreMode
}

const RESTORE_MODES: {[mode in SkipRestoreMode]: string[]} = {
  default: ['restore_default', 'default'],
  sync: ['restore_sync', 'sync'],
  read_only: ['restore_read_only', 'read_only'],
  noop: ['restore_noop', 'noop'],
}

export function readSkipTuning(params: ParamReader): SkipTuning {
  const restore = params.string('restore_mode')
  let restoreMode: SkipRestoreMode = 'default'
  if (restore !== undefined) {
    for (const part of restore.split(/[:|]/)) {
      const word = part.trim().toLowerCase()
      if (word === '' || ['restore_no_shortcuts', 'no_shortcuts', 'restore_with_hardsync', 'with_hardsync'].includes(word)) continue
      const found = (Object.entries(RESTORE_MODES) as [SkipRestoreMode, string[]][]).find(([, names]) => names.includes(word))
      if (!found) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `restore_mode: unknown value: "${restore}"`)
      restoreMode = found[0]
    }
  }
  const tuning: SkipTuning = {
    offsetWidth: params.int('offset_width', -1, MIN_OFFSET_WIDTH),
    stepUnit: params.int('step_unit', -1, MIN_STEP_UNIT),
    maxLevel: params.int('max_level', -1, MIN_MAX_LEVEL),
    sortMemSize: params.int('sort_mem_size', DEFAULT_SORT_MEM_SIZE, 1),
    insertInOrder: params.bool('insert_in_order', false),
    restoreMode,
  }
  params.int('max_cached_records', DEFAULT_MAX_CACHED_RECORDS, 0)
  if (tuning.offsetWidth > MAX_OFFSET_WIDTH) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `offset_width: must be at most ${MAX_OFFSET_WIDTH}`)
  if (tuning.stepUnit > MAX_STEP_UNIT) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `step_unit: must be at most ${MAX_STEP_UNIT}`)
  if (tuning.maxLevel > MAX_MAX_LEVEL) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `max_level: must be at most ${MAX_MAX_LEVEL}`)
  // Sorting happens in memory up to this many bytes; the reference bounds it the same way.
  tuning.sortMemSize = Math.min(Math.max(tuning.sortMemSize, 1024), 8 * 2 ** 30)
  return tuning
}

/** Removes the temporary files a writer of this path leaves when it is killed. */
function removeLeftovers(path: string): void {
  for (const suffix of ['.tmp.sorted', '.tmp.merged', '.tmp.rebuild', '.tmp.restore']) fs.rmSync(path + suffix, {force: true})
  const dir = nodePath.dirname(path)
  const prefixes = ['.tmp.sorter.', '.tmp.sorted.'].map((suffix) => nodePath.basename(path) + suffix)
  for (const name of fs.readdirSync(dir)) if (prefixes.some((prefix) => name.startsWith(prefix))) fs.rmSync(nodePath.join(dir, name), {force: true})
}

function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000)
}

/** Where a cursor stands: a record's offset and index in the current file. */
interface Position {
  offset: number
  index: number
}

/**
 * The file skip list (Tkrzw's SkipDBM): records sorted by key in one file, found through
 * forward links. Updates wait until the next synchronize, which merges them (sorted in
 * memory, spilled to runs beyond sort_mem_size) with the file into a new file that takes
 * its place; until then reads see the file as it was. A key may have several records:
 * a reducer given to the synchronize decides what becomes of them.
 */
export class SkipDBM extends DBM {
  readonly className = 'SkipDBM'
  private readonly tuning: SkipTuning
  private file: MappedFile | undefined
  private reader: SkipRecordReader | undefined
  private path = ''
  private writable = false
  private lockMode: LockMode = 'none'
  private healthy = false
  private autoRestored = false

  private meta!: SkipMeta
  /** Records in the file (num_records counts the queued ones too when inserting in order). */
  private fileRecords = 0
  /** Numbers the finished files of records written in order (see detachQueued). */
  private sortedSerial = 0
  private numRecords = 0
  private effDataSize = 0
  private pending: PendingRecords | undefined
  /** The in-order mode's records, written as they come. */
  private sorted: SkipWriter | undefined
  /** Other skip files to merge in at the next synchronize. */
  private merges: string[] = []
  /** What a sliced synchronize under way is merging; a synchronous one folds it in and takes over. */
  private syncing: QueuedUpdates | undefined
  private updated = false
  private removed = false
  /** Bumped whenever the file is replaced or emptied: cursors of an older one are lost. */
  generation = 0
  private readonly scratch = new SkipRecord()
  private readonly probe = new SkipRecord()
  /**
   * Every cacheUnit-th record's key and offset, held in memory, so that a search starts
   * near its key instead of at the first record (the reference keeps such a cache too).
   */
  private cacheUnit = 0
  private cacheKeys: Buffer[] = []
  private cacheOffsets: number[] = []

  constructor(params: ParamReader | SkipTuning = new ParamReader(new Map())) {
    super()
    this.tuning = params instanceof ParamReader ? readSkipTuning(params) : params
  }

  // ---- lifecycle ----

  protected openImpl(path: string, writable: boolean, options: OpenOptions): void {
    if (path === '') throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'a skip database needs a file path')
    const existed = fs.existsSync(path)
    if (!writable && !existed) throw new StatusError(Code.NOT_FOUND_ERROR, `no such file: ${path}`)
    const lock: LockMode = options.noLock ? 'none' : writable ? 'exclusive' : 'shared'
    const file = MappedFile.open(path, {writable, truncate: options.truncate === true, lock})
    // Only the lock's holder makes temporary files; with the lock held, any there are a crash's leftovers.
    if (lock === 'exclusive') removeLeftovers(path)
    this.path = path
    this.writable = writable
    this.lockMode = lock
    this.autoRestored = false
    this.updated = false
    this.removed = false
    try {
      this.attach(file)
      if (!this.healthy && writable && this.tuning.restoreMode !== 'read_only') this.recover()
      if (writable && this.healthy) {
        // On disk the file says "not closed" from now until a clean close.
        this.writeMeta(0, false)
        this.preparePending()
      }
    } catch (error) {
      this.file?.abandon()
      if (this.file !== file) file.abandon()
      this.file = undefined
      if (!existed) fs.rmSync(path, {force: true})
      throw error
    }
  }

  /** Takes an open file as this database's: lays it out when empty, else reads and checks its metadata. */
  private attach(file: MappedFile): void {
    this.file = file
    this.generation++
    if (file.size === 0) {
      if (!this.writable) throw new StatusError(Code.BROKEN_DATA_ERROR, `${file.path} is empty`)
      const t = this.tuning
      this.meta = {
        cyclicMagic: 0,
        pkgMajor: PKG_MAJOR,
        pkgMinor: PKG_MINOR,
        offsetWidth: t.offsetWidth > 0 ? t.offsetWidth : DEFAULT_OFFSET_WIDTH,
        stepUnit: t.stepUnit > 0 ? t.stepUnit : DEFAULT_STEP_UNIT,
        maxLevel: t.maxLevel > 0 ? t.maxLevel : DEFAULT_MAX_LEVEL,
        closureFlags: CLOSURE_CLOSED,
        numRecords: 0,
        effDataSize: 0,
        fileSize: SKIP_META_SIZE,
        timestamp: nowMicros(),
        dbType: 0,
        opaque: Buffer.alloc(SKIP_OPAQUE_SIZE),
      }
      file.truncate(SKIP_META_SIZE)
      this.writeMeta(CLOSURE_CLOSED, true)
      this.healthy = true
    } else {
      if (file.size < SKIP_META_SIZE) throw new StatusError(Code.BROKEN_DATA_ERROR, 'too small metadata: not a skip database file')
      this.meta = decodeSkipMeta(file.read(0, SKIP_META_SIZE))
      this.healthy = (this.meta.closureFlags & CLOSURE_CLOSED) !== 0 && this.sizeIsSound(file)
    }
    this.fileRecords = this.meta.numRecords
    this.numRecords = this.meta.numRecords
    this.effDataSize = this.meta.effDataSize
    this.reader = new SkipRecordReader(file, this.meta.offsetWidth, this.meta.stepUnit, this.meta.maxLevel, file.size)
    this.buildCache()
  }

  /**
   * Reads every unit-th record's key, unit being the smallest power of step_unit that
   * keeps them within the bound, by following the links of that level. A file whose links
   * do not lead where they must gets no cache; searches then start at the first record.
   */
  private buildCache(): void {
    this.cacheUnit = 0
    this.cacheKeys = []
    this.cacheOffsets = []
    const count = this.fileRecords
    const {stepUnit, maxLevel} = this.meta
    if (count < 256 || !this.healthy) return
    let unit = 1
    let level = 0
    while (count / unit > DEFAULT_MAX_CACHED_RECORDS) {
      unit *= stepUnit
      level++
    }
    if (level > maxLevel) return
    const reader = this.reader!
    const record = this.scratch
    const keys: Buffer[] = []
    const offsets: number[] = []
    try {
      for (let offset = SKIP_META_SIZE, index = 0; offset < reader.end && keys.length <= count / unit + 1; index += unit) {
        reader.read(offset, index, record)
        keys.push(reader.key(record))
        offsets.push(offset)
        const next = level === 0 ? offset + record.size : reader.link(record, level - 1)
        if (next === 0 || next <= offset) break
        offset = next
      }
    } catch {
      return
    }
    this.cacheUnit = unit
    this.cacheKeys = keys
    this.cacheOffsets = offsets
  }

  /** Whether the file's size agrees with its metadata; zero padding after the content is cut off. */
  private sizeIsSound(file: MappedFile): boolean {
    const recorded = this.meta.cyclicMagic < 0 ? Number.POSITIVE_INFINITY : this.meta.fileSize
    if (recorded > file.size) return false
    if (recorded < file.size) {
      const tail = file.read(recorded, Math.min(file.size - recorded, PADDING_CHECK))
      if (!tail.every((byte) => byte === 0)) return false
      file.setContentSize(recorded)
    }
    return true
  }

  /** Repairs an unclean file: a sound one only needs its flag; one whose size is off is restored. */
  private recover(): void {
    const file = this.file!
    const sizeBroken = this.meta.cyclicMagic < 0 || this.meta.fileSize !== file.size
    if (sizeBroken && this.tuning.restoreMode !== 'noop') {
      const temp = `${this.path}.tmp.restore`
      fs.rmSync(temp, {force: true})
      SkipDBM.restoreFile(this.path, temp)
      this.replaceFile(temp)
    } else {
      this.meta.closureFlags |= CLOSURE_CLOSED
      this.healthy = true
    }
    this.healthy = true
    this.autoRestored = true
  }

  /** Puts a finished file in this one's place, locked before it takes the name, and goes on with it. */
  private replaceFile(temp: string): void {
    const next = MappedFile.takeOver(temp, this.path, {writable: this.writable, lock: this.lockMode})
    this.file?.abandon()
    this.attach(next)
    this.healthy = true
  }

  private preparePending(): void {
    this.pending = new PendingRecords(this.path, this.tuning.sortMemSize)
    this.sorted = undefined
    if (this.tuning.insertInOrder) {
      this.sorted = new SkipWriter(`${this.path}.tmp.sorted`, this.meta.offsetWidth, this.meta.stepUnit, this.meta.maxLevel)
    }
    this.merges = []
  }

  /** Writes the metadata with these closure flags; with `stamp`, the time of now. */
  private writeMeta(closure: number, stamp: boolean): void {
    const file = this.file!
    this.meta.cyclicMagic = (this.meta.cyclicMagic + 1) & 0xff
    if (stamp) this.meta.timestamp = nowMicros()
    const header = encodeSkipMeta({...this.meta, closureFlags: closure, numRecords: this.fileRecords, effDataSize: this.meta.effDataSize, fileSize: file.size})
    file.write(0, header)
  }

  protected closeImpl(): void {
    try {
      if (this.writable && this.healthy) {
        // Merging what is queued replaces the file: the one to close is the one after it.
        if (this.hasPending()) this.finishStorage(undefined, false)
        this.writeMeta(CLOSURE_CLOSED, true)
      }
      this.file!.close()
    } catch (error) {
      this.file?.abandon()
      throw error
    } finally {
      this.discardPending()
      this.file = undefined
      this.reader = undefined
      this.generation++
    }
  }

  private hasPending(): boolean {
    return (
      (this.pending !== undefined && !this.pending.empty) ||
      (this.sorted !== undefined && this.sorted.count > 0) ||
      this.merges.length > 0 ||
      this.syncing !== undefined
    )
  }

  private discardPending(): void {
    this.pending?.discard()
    this.sorted?.abandon()
    this.sorted = undefined
    this.merges = []
    if (this.syncing) {
      dropJob(this.syncing)
      this.syncing = undefined
    }
  }

  /**
   * The sources a merge reads, in the order that decides among equal keys: merged files,
   * this file, then the queued updates (those of a sliced synchronize under way first).
   */
  private mergeSourcesOf(jobs: QueuedUpdates[], sliced = false): RecordSource[] {
    const sources: RecordSource[] = []
    try {
      for (const job of jobs) for (const path of job.merges) sources.push(SkipFileSource.open(path))
      if (this.reader!.end > SKIP_META_SIZE) sources.push(SkipFileSource.of(this.reader!))
      for (const job of jobs) {
        if (job.sortedPath) sources.push(SkipFileSource.open(job.sortedPath))
        sources.push(...job.pending.sources(!sliced))
      }
      return sources
    } catch (error) {
      for (const source of sources) source.close()
      throw error
    }
  }

  /** Takes what is queued now as one job; updates from here on queue for the next synchronize. */
  private detachQueued(): QueuedUpdates {
    let sortedPath: string | undefined
    if (this.sorted) {
      const sorted = this.sorted
      this.sorted = undefined
      sorted.finish({...this.meta, closureFlags: CLOSURE_CLOSED}, false)
      // A name of its own: the next records written in order start a new file at the usual one.
      sortedPath = `${sorted.path}.${this.sortedSerial++}`
      fs.renameSync(sorted.path, sortedPath)
    }
    const job: QueuedUpdates = {pending: this.pending!, sortedPath, merges: this.merges, removed: this.removed}
    this.pending = undefined
    this.merges = []
    return job
  }

  /** Writes the new file from a merge of sources: the removals applied if any, each key's values through the reducer. */
  private writeMerged(merger: SourceMerger, writer: SkipWriter, removed: boolean, reducer: Reducer | undefined, keys?: number): boolean {
    return merger.step((key, values) => {
      const live = removed ? reduceRemove(key, values) : values
      if (live.length === 0) return
      for (const value of reducer ? reducer(key, live) : live) writer.add(key, value)
    }, keys)
  }

  /** A removal is queued whether or not the key is in the file: it may be among the updates queued since the last synchronize. */
  override removesUnseen(): boolean {
    return true
  }

  // ---- synchronizing: where updates reach the file ----

  override syncParams(): string[] {
    return ['reducer', 'merge']
  }

  protected synchronizeImpl(hard: boolean, params: SyncParams = {}): void {
    if (!this.writable) return
    this.checkHealthy()
    const reducer = params.reducer !== undefined ? findReducer(params.reducer) : undefined
    if (params.merge !== undefined) for (const path of params.merge.split(':')) if (path !== '') this.mergeFile(path)
    this.finishStorage(reducer, hard)
    this.writeMeta(0, false)
    this.preparePending()
  }

  /**
   * A backup: a sliced synchronize (the updates queued at the call), then a sliced copy of
   * the file it wrote, read through a descriptor of its own (a later synchronize puts a new
   * file in its place rather than changing it).
   */
  protected override async copyFileDataInSlicesImpl(dest: string, hard: boolean, params: SyncParams = {}): Promise<void> {
    if (this.writable) await this.synchronizeInSlices(hard, params)
    await copyFileInSlices(this.path, dest, hard)
  }

  /** Registers another skip file to merge in at the next synchronize. */
  mergeFile(path: string): void {
    this.checkUsable(true)
    this.checkHealthy()
    // Opening it now checks that it is a skip file at all.
    SkipFileSource.open(path).close()
    this.merges.push(path)
    this.updated = true
  }

  /**
   * Writes the new file: the merged files, this file, the in-order records and the
   * queued updates merged by key (in that order among equal keys), the removals applied
   * if there were any, each key's values through the reducer; then the new file takes
   * this one's place.
   */
  private finishStorage(reducer: Reducer | undefined, hard: boolean): void {
    const meta = this.meta
    if (!this.hasPending() && reducer === undefined) {
      this.file!.sync(hard)
      return
    }
    // A sliced synchronize under way is folded in: its updates are older than the ones queued since.
    const jobs = [...(this.syncing ? [this.syncing] : []), this.detachQueued()]
    this.syncing = undefined
    const temp = `${this.path}.tmp.merged`
    const sources = this.mergeSourcesOf(jobs)
    let writer: SkipWriter | undefined
    try {
      writer = new SkipWriter(temp, meta.offsetWidth, meta.stepUnit, meta.maxLevel)
      this.writeMerged(
        new SourceMerger(sources),
        writer,
        jobs.some((job) => job.removed),
        reducer,
      )
      for (const source of sources) source.close()
      sources.length = 0
      meta.timestamp = nowMicros()
      meta.cyclicMagic = (meta.cyclicMagic + 1) & 0xff
      writer.finish({...meta, closureFlags: CLOSURE_CLOSED}, hard)
      writer = undefined
    } catch (error) {
      for (const source of sources) source.close()
      writer?.abandon()
      for (const job of jobs) dropJob(job)
      throw error
    }
    for (const job of jobs) dropJob(job)
    this.replaceFile(temp)
    this.updated = false
  }

  /**
   * The same without stalling the event loop: what is queued at the call is merged with
   * the file in slices into a new file, which then takes this one's place. Reads go on
   * against the old file meanwhile and new updates queue for the next synchronize; a
   * synchronous synchronize, a close or a clear meanwhile takes the work over.
   */
  protected override async synchronizeInSlicesImpl(hard: boolean, params: SyncParams = {}): Promise<void> {
    if (!this.writable) return
    this.checkHealthy()
    const reducer = params.reducer !== undefined ? findReducer(params.reducer) : undefined
    if (params.merge !== undefined) for (const path of params.merge.split(':')) if (path !== '') this.mergeFile(path)
    // One sliced merge at a time.
    if (this.syncing || (!this.hasPending() && reducer === undefined)) return this.synchronizeImpl(hard)
    const job = this.detachQueued()
    this.syncing = job
    this.preparePending()
    this.removed = false
    const meta = this.meta
    const temp = `${this.path}.tmp.merged.${this.generation}`
    const sources = this.mergeSourcesOf([job], true)
    const writer = new SkipWriter(temp, meta.offsetWidth, meta.stepUnit, meta.maxLevel)
    const merger = new SourceMerger(sources)
    const abandon = (): void => {
      for (const source of sources) source.close()
      writer.abandon()
    }
    try {
      for (;;) {
        const deadline = performance.now() + 10
        let done = false
        while (!done && performance.now() < deadline) done = this.writeMerged(merger, writer, job.removed, reducer, 256)
        if (done) break
        await nextTurn()
        // Taken over (a synchronous synchronize, a close, a clear): the sources may be gone.
        if (this.syncing !== job) {
          abandon()
          return
        }
      }
    } catch (error) {
      abandon()
      if (this.syncing === job) {
        // The updates go back to wait for the next synchronize.
        this.syncing = undefined
        this.restoreJob(job)
      }
      throw error
    }
    for (const source of sources) source.close()
    meta.timestamp = nowMicros()
    meta.cyclicMagic = (meta.cyclicMagic + 1) & 0xff
    writer.finish({...meta, closureFlags: CLOSURE_CLOSED}, hard)
    this.syncing = undefined
    dropJob(job)
    this.replaceFile(temp)
    if (this.sorted) {
      // Records written in order meanwhile count at once, as all such records do.
      this.numRecords += this.sorted.count
      this.effDataSize += this.sorted.effDataSize
    }
    this.writeMeta(0, false)
    this.updated = this.hasPending()
  }

  /** Puts a failed sliced merge's updates back in front of those queued since. */
  private restoreJob(job: QueuedUpdates): void {
    const later = this.pending!
    this.pending = job.pending
    this.merges = [...job.merges, ...this.merges]
    this.removed = this.removed || job.removed
    const sources = later.sources()
    try {
      for (const source of sources) while (source.next()) this.pending.add(source.key, source.value)
    } finally {
      for (const source of sources) source.close()
      later.discard()
    }
    if (job.sortedPath) this.restoreSorted(job.sortedPath)
  }

  /** Puts a failed merge's records written in order back in front of those written since, as one file again. */
  private restoreSorted(olderPath: string): void {
    const later = this.sorted!
    const laterPath = `${later.path}.${this.sortedSerial++}`
    later.finish({...this.meta, closureFlags: CLOSURE_CLOSED}, false)
    fs.renameSync(later.path, laterPath)
    const writer = new SkipWriter(later.path, this.meta.offsetWidth, this.meta.stepUnit, this.meta.maxLevel)
    try {
      for (const path of [olderPath, laterPath]) {
        const source = SkipFileSource.open(path)
        try {
          while (source.next()) writer.add(source.key, source.value)
        } finally {
          source.close()
        }
      }
    } catch (error) {
      writer.abandon()
      throw error
    } finally {
      for (const path of [olderPath, laterPath]) fs.rmSync(path, {force: true})
    }
    this.sorted = writer
  }

  private checkHealthy(): void {
    if (!this.healthy) throw new StatusError(Code.PRECONDITION_ERROR, 'not healthy database')
  }

  protected override checkWritable(): void {
    super.checkWritable()
    this.checkHealthy()
  }

  // ---- records ----

  /** Queues an update for the next synchronize. */
  private queue(key: Buffer, value: Buffer): void {
    if (this.sorted) {
      this.sorted.add(key, value)
      this.numRecords++
      this.effDataSize += key.length + value.length
    } else {
      this.pending!.add(key, value)
    }
    this.updated = true
  }

  /** Applies a processor's answer as an update: every write waits for the next synchronize. */
  private queueResult(key: Buffer, result: Buffer | typeof REMOVE | AppendTail, old: () => Buffer | undefined): void {
    if (result === REMOVE) {
      this.queue(key, REMOVING_VALUE)
      this.removed = true
    } else if (result instanceof AppendTail) {
      const base = old()
      this.queue(key, base === undefined ? result.tail : Buffer.concat([base, result.tail]))
    } else {
      this.queue(key, result)
    }
  }

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const reader = this.reader!
    const found = this.locate(key, false)
    const offset = this.foundOffset
    const index = this.foundIndex
    const record = found ? reader.read(offset, index, this.scratch) : undefined
    const value = record && !processor.ignoresValue ? reader.value(record) : undefined
    const result = record ? processor.processFull(key, value ?? EMPTY) : processor.processEmpty(key)
    if (!writable || result === NOOP) return
    this.queueResult(key, result, () => (found ? (value ?? reader.value(reader.read(offset, index, this.scratch))) : undefined))
  }

  /**
   * Finds the first record with the key (with `upper`, the first record at or after it),
   * by following the highest forward link that does not pass it, then lower ones.
   */
  search(key: Buffer, upper: boolean): Position | undefined {
    return this.locate(key, upper) ? {offset: this.foundOffset, index: this.foundIndex} : undefined
  }

  /** Where locate found its record. */
  private foundOffset = 0
  private foundIndex = 0

  /** The search without an object for its answer: true with foundOffset and foundIndex set, false for none. */
  private locate(key: Buffer, upper: boolean): boolean {
    const found = (offset: number, index: number): boolean => {
      this.foundOffset = offset
      this.foundIndex = index
      return true
    }
    const reader = this.reader!
    const record = this.scratch
    const probe = this.probe
    const unit = this.meta.stepUnit
    let offset = SKIP_META_SIZE
    let index = 0
    let end = reader.end
    const cached = this.cacheKeys
    if (cached.length > 0) {
      // Start at the last cached record below the key; stop at the first one above it.
      let low = 0
      let high = cached.length
      while (low < high) {
        const mid = (low + high) >>> 1
        if (Buffer.compare(cached[mid], key) < 0) low = mid + 1
        else high = mid
      }
      if (low > 0) {
        offset = this.cacheOffsets[low - 1]
        index = (low - 1) * this.cacheUnit
      }
      let above = low
      while (above < cached.length && cached[above].equals(key)) above++
      if (above < cached.length) end = this.cacheOffsets[above]
    }
    let steps = 0
    while (offset < end) {
      if (++steps > this.fileRecords + 64) throw new StatusError(Code.BROKEN_DATA_ERROR, 'the forward links do not lead forward')
      reader.read(offset, index, record)
      const order = reader.compareKey(key, record)
      if (order === 0) return found(offset, index)
      if (order < 0) return upper && found(offset, index)
      let jumped = false
      for (let level = record.level; level >= 1; level--) {
        const link = reader.link(record, level - 1)
        if (link === 0 || link >= end || link <= offset) continue
        const nextIndex = index + unit ** level
        reader.read(link, nextIndex, probe)
        const next = reader.compareKey(key, probe)
        if (next > 0) {
          offset = link
          index = nextIndex
          jumped = true
          break
        }
        if (next < 0) end = link
      }
      if (!jumped) {
        offset += record.size
        index++
      }
    }
    return upper && offset < reader.end && found(offset, index)
  }

  /** The record at a position in key order (duplicates counted), found through the links. */
  searchByIndex(target: number): Position | undefined {
    if (target < 0 || target >= this.fileRecords) return undefined
    const reader = this.reader!
    const record = this.scratch
    const unit = this.meta.stepUnit
    let offset = SKIP_META_SIZE
    let index = 0
    if (this.cacheKeys.length > 0) {
      const slot = Math.min(Math.floor(target / this.cacheUnit), this.cacheKeys.length - 1)
      offset = this.cacheOffsets[slot]
      index = slot * this.cacheUnit
    }
    let steps = 0
    while (offset < reader.end) {
      if (index === target) return {offset, index}
      if (++steps > this.fileRecords + 64) throw new StatusError(Code.BROKEN_DATA_ERROR, 'the forward links do not lead forward')
      reader.read(offset, index, record)
      let jumped = false
      for (let level = record.level; level >= 1; level--) {
        const nextIndex = index + unit ** level
        if (nextIndex > target) continue
        const link = reader.link(record, level - 1)
        if (link === 0 || link >= reader.end || link <= offset) continue
        offset = link
        index = nextIndex
        jumped = true
        break
      }
      if (!jumped) {
        offset += record.size
        index++
      }
    }
    return undefined
  }

  /** The position after one; undefined past the last record. */
  nextOf(pos: Position): Position | undefined {
    const record = this.reader!.read(pos.offset, pos.index, this.scratch)
    const offset = pos.offset + record.size
    return offset < this.reader!.end ? {offset, index: pos.index + 1} : undefined
  }

  /** The key and value at a position. */
  recordAt(pos: Position): [Buffer, Buffer] {
    const record = this.reader!.read(pos.offset, pos.index, this.scratch)
    return [this.reader!.key(record), this.reader!.value(record)]
  }

  keyAt(pos: Position): Buffer {
    return this.reader!.key(this.reader!.read(pos.offset, pos.index, this.scratch))
  }

  /** Queues a cursor's processor answer for the record at a position. */
  applyAt(pos: Position, result: Buffer | typeof REMOVE | AppendTail): void {
    const [key, value] = this.recordAt(pos)
    this.queueResult(key, result, () => value)
  }

  protected makeIteratorImpl(): DBMIterator {
    return new SkipIterator(this)
  }

  protected countImpl(): number {
    return this.numRecords
  }

  /** Records in the file now (what a cursor can reach). */
  get recordsInFile(): number {
    return this.fileRecords
  }

  protected clearImpl(): void {
    this.discardPending()
    this.removed = false
    this.updated = false
    const file = this.file!
    file.truncate(SKIP_META_SIZE)
    this.fileRecords = 0
    this.numRecords = 0
    this.effDataSize = 0
    this.meta.effDataSize = 0
    this.writeMeta(0, true)
    this.reader = new SkipRecordReader(file, this.meta.offsetWidth, this.meta.stepUnit, this.meta.maxLevel, SKIP_META_SIZE)
    this.buildCache()
    this.generation++
    this.preparePending()
  }

  // ---- rebuilding and restoring ----

  /**
   * Writes the records again (after the queued updates are merged in) with new link
   * tuning, choosing what is not given from the record count as the reference does.
   */
  protected rebuildImpl(params: RebuildParams = {}): void {
    const reader = ParamReader.fromObject(params)
    const offsetWidth = reader.int('offset_width', -1, 0)
    const stepText = reader.int('step_unit', -1, 0)
    const levelText = reader.int('max_level', -1, 0)
    const hard = reader.bool('sync_hard', false)
    reader.ignore('skip_broken_records', 'sort_mem_size', 'insert_in_order', 'max_cached_records', 'restore_mode', 'file', 'block_size', 'access_options')
    reader.finish()
    if (this.hasPending()) {
      this.finishStorage(undefined, false)
      this.writeMeta(0, false)
      this.preparePending()
    }
    const count = this.fileRecords
    const stepUnit = stepText >= MIN_STEP_UNIT && stepText <= MAX_STEP_UNIT ? stepText : DEFAULT_STEP_UNIT
    const maxLevel =
      levelText >= MIN_MAX_LEVEL && levelText <= MAX_MAX_LEVEL
        ? levelText
        : Math.min(MAX_MAX_LEVEL, Math.max(MIN_MAX_LEVEL, Math.ceil(Math.log(count + 1) / Math.log(stepUnit))))
    const width = offsetWidth >= MIN_OFFSET_WIDTH && offsetWidth <= MAX_OFFSET_WIDTH ? offsetWidth : this.fittingWidth(count, stepUnit, maxLevel)
    const temp = `${this.path}.tmp.rebuild`
    const writer = new SkipWriter(temp, width, stepUnit, maxLevel)
    const source = SkipFileSource.of(this.reader!)
    try {
      while (source.next()) writer.add(source.key, source.value)
      this.meta.cyclicMagic = (this.meta.cyclicMagic + 1) & 0xff
      writer.finish({...this.meta, closureFlags: 0, timestamp: nowMicros()}, hard)
    } catch (error) {
      writer.abandon()
      throw error
    }
    this.discardPending()
    this.replaceFile(temp)
    this.writeMeta(0, false)
    this.preparePending()
  }

  /** The narrowest offset width whose addresses reach the file a rebuild would write. */
  private fittingWidth(count: number, stepUnit: number, maxLevel: number): number {
    let links = 0
    for (let level = 1; level <= maxLevel; level++) links += Math.floor(count / stepUnit ** level) + 1
    for (let width = 3; width <= 5; width++) {
      if (SKIP_META_SIZE + 6 * count + links * width + this.effDataSize < 0.8 * 2 ** (8 * width)) return width
    }
    return MAX_OFFSET_WIDTH
  }

  /**
   * Copies whatever records of a damaged skip file read, in order, into a new file: its
   * link tuning if the metadata reads, the defaults otherwise; the copy stops at the first
   * record that does not read. Returns the records restored and 1 if something was cut.
   */
  static restoreFile(oldPath: string, newPath: string): {records: number; broken: number} {
    const file = MappedFile.open(oldPath, {writable: false, lock: 'none'})
    try {
      if (file.size < SKIP_META_SIZE) throw new StatusError(Code.BROKEN_DATA_ERROR, `${oldPath} is too small to be a skip database`)
      let meta: SkipMeta | undefined
      try {
        meta = decodeSkipMeta(file.read(0, SKIP_META_SIZE))
        if (meta.cyclicMagic < 0) meta = undefined
      } catch {
        meta = undefined
      }
      const width = meta?.offsetWidth ?? DEFAULT_OFFSET_WIDTH
      const unit = meta?.stepUnit ?? DEFAULT_STEP_UNIT
      const level = meta?.maxLevel ?? DEFAULT_MAX_LEVEL
      const reader = new SkipRecordReader(file, width, unit, level, file.size)
      const writer = new SkipWriter(newPath, width, unit, level)
      // Damage can leave records that read but are out of order: they are sorted again
      // (through runs on disk past the sort memory), equal keys kept in their order.
      const sorter = new PendingRecords(newPath, DEFAULT_SORT_MEM_SIZE)
      let broken = 0
      try {
        const record = new SkipRecord()
        for (let offset = SKIP_META_SIZE, index = 0; offset < file.size; index++) {
          try {
            reader.read(offset, index, record)
          } catch {
            // Zeros after the content are padding, not damage.
            if (!file.read(offset, Math.min(file.size - offset, PADDING_CHECK)).every((byte) => byte === 0)) broken = 1
            break
          }
          sorter.add(reader.key(record), reader.value(record))
          offset += record.size
        }
        const sources = sorter.sources()
        try {
          mergeSources(sources, (key, values) => {
            for (const value of values) writer.add(key, value)
          })
        } finally {
          for (const source of sources) source.close()
        }
        writer.finish(
          {
            cyclicMagic: 1,
            pkgMajor: PKG_MAJOR,
            pkgMinor: PKG_MINOR,
            closureFlags: CLOSURE_CLOSED,
            timestamp: nowMicros(),
            dbType: meta?.dbType ?? 0,
            opaque: meta?.opaque ?? Buffer.alloc(SKIP_OPAQUE_SIZE),
          },
          false,
        )
      } catch (error) {
        writer.abandon()
        throw error
      } finally {
        sorter.discard()
      }
      return {records: writer.count, broken}
    } finally {
      file.close()
    }
  }

  protected shouldBeRebuiltImpl(): boolean {
    const {stepUnit, maxLevel, offsetWidth} = this.meta
    return this.fileRecords > stepUnit ** (maxLevel + 1) || (offsetWidth > 3 && this.file!.size * 2 < 2 ** (8 * (offsetWidth - 1)))
  }

  // ---- inspection ----

  protected inspectImpl(): InspectList {
    const m = this.meta
    return [
      ['class', this.className],
      ['healthy', String(this.healthy)],
      ['auto_restored', String(this.autoRestored)],
      ['updated', String(this.updated)],
      ['removed', String(this.removed)],
      ['path', this.path],
      ['cyclic_magic', String(m.cyclicMagic & 0xff)],
      ['pkg_major_version', String(m.pkgMajor)],
      ['pkg_minor_version', String(m.pkgMinor)],
      ['offset_width', String(m.offsetWidth)],
      ['step_unit', String(m.stepUnit)],
      ['max_level', String(m.maxLevel)],
      ['closure_flags', String(this.writable ? m.closureFlags | CLOSURE_CLOSED : m.closureFlags)],
      ['num_records', String(this.numRecords)],
      ['eff_data_size', String(this.effDataSize)],
      ['file_size', String(this.file!.size)],
      ['timestamp', (m.timestamp / 1e6).toFixed(6)],
      ['db_type', String(m.dbType)],
      ['sort_mem_size', String(this.tuning.sortMemSize)],
      ['max_file_size', String(2 ** (8 * m.offsetWidth))],
      ['insert_in_order', String(this.tuning.insertInOrder)],
      ['record_base', String(SKIP_META_SIZE)],
    ]
  }

  /**
   * Checks every record: its magic and sizes, keys in order (equal keys allowed), every
   * forward link leading to the record it must, and the count in the metadata.
   */
  protected override validateStructureImpl(): string[] {
    const problems: string[] = []
    const reader = this.reader!
    const unit = this.meta.stepUnit
    const record = new SkipRecord()
    // The links still to be met: record index -> the offset each awaiting link must hold.
    const expected = new Map<number, number[]>()
    let previous: Buffer | undefined
    let offset = SKIP_META_SIZE
    let index = 0
    try {
      for (; offset < reader.end && problems.length < 10; index++) {
        reader.read(offset, index, record)
        const key = reader.key(record)
        if (previous && Buffer.compare(previous, key) > 0) problems.push(`keys out of order at record ${index}`)
        previous = key
        for (const at of expected.get(index) ?? []) {
          if (reader.file.readUint(at, this.meta.offsetWidth) !== offset) problems.push(`a link to record ${index} does not lead to it`)
        }
        expected.delete(index)
        for (let j = 0; j < record.level; j++) {
          const target = index + unit ** (j + 1)
          const at = record.offset + 1 + j * this.meta.offsetWidth
          if (target >= this.fileRecords) {
            if (reader.link(record, j) !== 0) problems.push(`record ${index} links past the last record`)
            continue
          }
          const list = expected.get(target)
          if (list) list.push(at)
          else expected.set(target, [at])
        }
        offset += record.size
      }
    } catch (error) {
      problems.push((error as Error).message)
    }
    if (problems.length === 0 && index !== this.fileRecords) problems.push(`${index} records in the file, the metadata says ${this.fileRecords}`)
    return problems
  }

  // ---- plain accessors ----

  protected getFileSizeImpl(): number {
    return this.file!.size
  }

  getFilePath(): string {
    return this.path
  }

  getTimestamp(): number {
    return this.meta.timestamp / 1e6
  }

  isOrdered(): boolean {
    return true
  }

  isWritable(): boolean {
    return this.file !== undefined && this.writable
  }

  isOpen(): boolean {
    return this.file !== undefined
  }

  override isHealthy(): boolean {
    return this.healthy
  }

  isAutoRestored(): boolean {
    return this.autoRestored
  }
}

/** A cursor over the file as of the last synchronize: its offset and index there. */
class SkipIterator extends DBMIterator {
  private pos: Position | undefined
  private generation = -1

  constructor(private readonly skip: SkipDBM) {
    super(skip)
  }

  private moveTo(pos: Position | undefined): void {
    this.pos = pos
    this.generation = this.skip.generation
  }

  /** The position, if it still belongs to the current file. */
  private current(): Position | undefined {
    if (this.generation !== this.skip.generation) this.pos = undefined
    return this.pos
  }

  protected firstImpl(): void {
    this.moveTo(this.skip.recordsInFile > 0 ? this.skip.searchByIndex(0) : undefined)
  }

  protected lastImpl(): void {
    this.moveTo(this.skip.searchByIndex(this.skip.recordsInFile - 1))
  }

  protected jumpImpl(key: Buffer): void {
    this.moveTo(this.skip.search(key, true))
  }

  protected jumpLowerImpl(key: Buffer, inclusive: boolean): void {
    let pos = this.skip.search(key, true) ?? this.skip.searchByIndex(this.skip.recordsInFile - 1)
    while (pos) {
      const order = Buffer.compare(this.skip.keyAt(pos), key)
      if (order < 0 || (inclusive && order === 0)) break
      pos = pos.index > 0 ? this.skip.searchByIndex(pos.index - 1) : undefined
    }
    this.moveTo(pos)
  }

  protected jumpUpperImpl(key: Buffer, inclusive: boolean): void {
    let pos = this.skip.search(key, true)
    while (pos) {
      const order = Buffer.compare(this.skip.keyAt(pos), key)
      if (order > 0 || (inclusive && order === 0)) break
      pos = this.skip.nextOf(pos)
    }
    this.moveTo(pos)
  }

  protected nextImpl(): void {
    const pos = this.current()
    if (pos) this.moveTo(this.skip.nextOf(pos))
  }

  protected previousImpl(): void {
    const pos = this.current()
    if (pos) this.moveTo(pos.index > 0 ? this.skip.searchByIndex(pos.index - 1) : undefined)
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    const pos = this.current()
    if (!pos) return false
    const [key, value] = this.skip.recordAt(pos)
    const result = processor.processFull(key, processor.ignoresValue ? EMPTY : value)
    if (!writable || result === NOOP) return true
    this.skip.applyAt(pos, result)
    // A removal moves the cursor on, as in every class (the record itself stays until the synchronize).
    if (result === REMOVE) this.moveTo(this.skip.nextOf(pos))
    return true
  }
}
