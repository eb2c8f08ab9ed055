import * as fs from 'node:fs'
import {
  AppendTail,
  DBM,
  copyFile,
  copyFileInSlices,
  temporaryCopyPath,
  nextTurn,
  TouchedKeys,
  NOOP,
  REMOVE,
  resolveResult,
  type DBMIterator,
  type InspectList,
  type OpenOptions,
  type RebuildParams,
  type RebuildProgress,
  type RecordProcessor,
} from '../dbm.js'
import {BucketIterator} from '../bucket-iterator.js'
import {codecAvailable, codecFor, COMP_NAMES, type Codec} from '../io/compress.js'
import type {LockMode} from '../io/file-lock.js'
import {MappedFile} from '../io/mapped-file.js'
import {ParamReader, parseBool} from '../params.js'
import {Code, StatusError, fromSystemError} from '../status.js'
import {
  CLOSURE_FLAG_CLOSE,
  META_OFFSET_CLOSURE_FLAGS,
  META_OFFSET_CYCLIC_BACK,
  META_OFFSET_CYCLIC_FRONT,
  DEFAULT_ALIGN_POW,
  DEFAULT_NUM_BUCKETS,
  DEFAULT_OFFSET_WIDTH,
  MAX_NUM_BUCKETS,
  FBP_SECTION_SIZE,
  METADATA_SIZE,
  OP_ADD,
  OP_REMOVE,
  OP_SET,
  OP_VOID,
  PKG_MAJOR_VERSION,
  PKG_MINOR_VERSION,
  RECORD_HEADER_SECTION_SIZE,
  UPDATE_APPENDING,
  UPDATE_IN_PLACE,
  decodeMetadata,
  decodeStaticFlags,
  encodeMetadata,
  encodeRecordHeaderSection,
  encodeStaticFlags,
  hashBucketSize,
  layoutProblem,
  metadataConsistent,
  recordBaseFor,
  recordRegionSize,
} from './format.js'
import {FreeBlockPool} from './free-pool.js'
import {RecordFile} from './record-file.js'
import {salvageRecords} from './restore.js'
import {defaultTuning, readHashTuning, type HashTuning} from './tuning.js'
import {validateHashFile} from './validate.js'

const EMPTY = Buffer.alloc(0)
/** The application's share of the metadata: 64 bytes at offset 62, within the bytes kept from offset 60. */
const OPAQUE_METADATA_SIZE = 64
const OPAQUE_START = 2

export interface RestoreOptions {
  /** fsync the restored file before it is used. */
  hardSync?: boolean
  /** The new file is private to the caller (an open that restores in passing): take no lock. */
  noLock?: boolean
  /** The caller holds the damaged file's lock already: read it without taking one. */
  sourceLocked?: boolean
}

/**
 * The file hash database, in Tkrzw's HashDBM format: buckets of offsets, each the head of
 * a chain of records linked by their child offsets. Records are read and written in place
 * through a memory-mapped file, so every write is in the operating system's hands when the
 * operation returns; the header on disk says "not closed" while the file is open for
 * writing, so a crash is detected and repaired at the next open.
 */
export class HashDBM extends DBM {
  readonly className = 'HashDBM'
  private tuning: HashTuning
  private file: MappedFile | undefined
  private path = ''
  private writable = false
  private opened = false

  private offsetWidth = DEFAULT_OFFSET_WIDTH
  private alignPow = DEFAULT_ALIGN_POW
  private alignment = 2 ** DEFAULT_ALIGN_POW
  private numBuckets = DEFAULT_NUM_BUCKETS
  private recordBase = 0
  private updateMode = UPDATE_IN_PLACE
  private crcWidth = 0
  private compMode = 0
  private codec: Codec | undefined
  private maxFileSize = 0
  /** The buckets and records of the open file. */
  private recordFile: RecordFile | undefined

  private numRecords = 0
  private effDataSize = 0
  private cyclicMagic = 0
  private pkgMajor = PKG_MAJOR_VERSION
  private pkgMinor = PKG_MINOR_VERSION
  private closureFlags = 0
  private dbType = 0
  private opaque: Buffer = Buffer.alloc(67)
  private timestampMicros = 0
  private healthy = true
  private autoRestored = false
  private readonly fbp: FreeBlockPool
  /**
   * A failure that leaves the file's state in doubt (a synchronization the system refused):
   * from then on writes are refused with it, and closing leaves the file marked unclean.
   */
  private failure: StatusError | undefined
  /** Whether the metadata on disk says "not closed" because this database changed the file. */
  private unclean = false

  /** Keys touched while a sliced rebuild copies records; see rebuildInSlices. */
  private touchedDuringRebuild: TouchedKeys | undefined

  constructor(params: ParamReader | HashTuning = new ParamReader(new Map())) {
    super()
    this.tuning = params instanceof ParamReader ? readHashTuning(params) : {...params}
    this.fbp = new FreeBlockPool(this.tuning.fbpCapacity)
  }

  /**
   * Rebuilds a database from whatever records of a damaged (or healthy) file can be read,
   * into `newPath` (see salvageRecords for `endOffset`). An existing `newPath` keeps its own
   * tuning; otherwise the new file takes the old one's. Returns the records restored and
   * the damaged regions skipped.
   */
  static restoreFile(oldPath: string, newPath: string, endOffset = -1, options: RestoreOptions = {}): {records: number; broken: number} {
    const existing = fs.existsSync(newPath) && fs.statSync(newPath).size > 0
    const {broken} = salvageRecords(oldPath, endOffset, options.sourceLocked === true, (layout) => {
      const tuning = defaultTuning()
      if (!existing) {
        tuning.numBuckets = layout.numBuckets
        tuning.offsetWidth = layout.offsetWidth
        tuning.alignPow = layout.alignPow
        tuning.updateMode = layout.flags.updateMode
        tuning.crcWidth = layout.flags.crcWidth
        tuning.compMode = layout.flags.compMode
      }
      const dest = new HashDBM(tuning)
      dest.open(newPath, true, {noLock: options.noLock === true})
      return {
        apply: (record) => {
          if (record.op === OP_REMOVE) dest.process(record.key, {ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
          else dest.set(record.key, record.value)
        },
        finish: () => {
          try {
            dest.synchronize(options.hardSync === true)
          } finally {
            dest.close()
          }
        },
      }
    })
    const check = new HashDBM(defaultTuning())
    check.open(newPath, false)
    const records = check.count()
    check.close()
    return {records, broken}
  }

  // ---- lifecycle ----

  protected openImpl(path: string, writable: boolean, options: OpenOptions): void {
    if (this.opened) throw new StatusError(Code.PRECONDITION_ERROR, 'opened database')
    if (path === '') throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'a hash database needs a file path')
    const existed = fs.existsSync(path)
    if (!writable && !existed) throw new StatusError(Code.NOT_FOUND_ERROR, `no such file: ${path}`)
    const lock: LockMode = options.noLock ? 'none' : writable ? 'exclusive' : 'shared'
    const file = MappedFile.open(path, {writable, truncate: options.truncate === true, lock, positional: this.tuning.positionalIO})
    try {
      // Only the lock's holder makes these; with the lock held, any there are leftovers.
      if (lock === 'exclusive') for (const suffix of ['.tmp.rebuild', '.tmp.restore']) fs.rmSync(path + suffix, {force: true})
      this.attach(file, writable)
      if (!this.healthy && writable) this.recover()
    } catch (error) {
      this.file?.abandon()
      file.abandon()
      this.file = undefined
      this.opened = false
      // A failed open leaves nothing behind that it made.
      if (!existed) fs.rmSync(path, {force: true})
      throw error
    }
  }

  /** Takes an open file as this database's: lays it out when empty, else reads its metadata. */
  private attach(file: MappedFile, writable: boolean): void {
    this.file = file
    this.path = file.path
    this.writable = writable
    this.autoRestored = false
    this.failure = undefined
    if (file.size === 0 || (writable && neverWritten(file))) {
      if (!writable) throw new StatusError(Code.BROKEN_DATA_ERROR, `${file.path} is empty`)
      // Empty, or zeros only: a creation that was cut off before the first byte of its
      // metadata was written. It holds nothing, so it is laid out again.
      this.initialize()
    } else {
      this.loadMetadata()
    }
    this.unclean = false
    this.opened = true
  }

  /**
   * Marks the file "not closed" on disk before its first change, so that a crash from here
   * on is detected at the next open. Until something changes, the file is left exactly as
   * it was: an open (or a failed operation) that writes nothing touches nothing.
   */
  private markUnclean(): void {
    if (this.unclean) return
    this.unclean = true
    this.writeMetadata(false)
  }

  /** Lays out a new file with the tuning given, or the defaults. */
  private initialize(): void {
    const t = this.tuning
    this.offsetWidth = t.offsetWidth > 0 ? t.offsetWidth : DEFAULT_OFFSET_WIDTH
    this.alignPow = t.alignPow >= 0 ? t.alignPow : DEFAULT_ALIGN_POW
    if (t.numBuckets > MAX_NUM_BUCKETS) {
      throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `num_buckets: at most ${MAX_NUM_BUCKETS}, not ${t.numBuckets}`)
    }
    this.numBuckets = hashBucketSize(t.numBuckets > 0 ? t.numBuckets : DEFAULT_NUM_BUCKETS)
    this.updateMode = t.updateMode > 0 ? t.updateMode : UPDATE_IN_PLACE
    this.crcWidth = t.crcWidth >= 0 ? t.crcWidth : 0
    this.compMode = t.compMode >= 0 ? t.compMode : 0
    this.applyLayout()
    if (this.recordBase >= this.maxFileSize) {
      throw new StatusError(
        Code.INVALID_ARGUMENT_ERROR,
        `num_buckets ${this.numBuckets} needs ${this.recordBase} bytes of buckets, more than the ${this.maxFileSize} bytes a file with offset_width ${this.offsetWidth} and align_pow ${this.alignPow} can address`,
      )
    }
    this.numRecords = 0
    this.effDataSize = 0
    this.cyclicMagic = 0
    this.closureFlags = CLOSURE_FLAG_CLOSE
    this.dbType = 0
    this.opaque = Buffer.alloc(67)
    this.healthy = true
    const file = this.file!
    // The buckets and the free block pool start as the zeros the allocation gives.
    file.truncate(0)
    file.truncate(this.recordBase)
    file.write(this.recordBase - RECORD_HEADER_SECTION_SIZE, encodeRecordHeaderSection(this.staticFlags(), this.offsetWidth, this.alignPow))
    this.timestampMicros = nowMicros()
    file.write(0, this.encodeMeta(CLOSURE_FLAG_CLOSE))
  }

  private applyLayout(): void {
    if (!codecAvailable(this.compMode)) {
      // Fail now rather than at the first record.
      codecFor(this.compMode)?.compress(EMPTY)
    }
    this.codec = codecFor(this.compMode)
    this.alignment = 2 ** this.alignPow
    this.recordBase = recordBaseFor(this.numBuckets, this.offsetWidth, this.alignPow)
    this.maxFileSize = 2 ** (8 * this.offsetWidth) * this.alignment
    this.recordFile = new RecordFile(
      this.file!,
      {
        numBuckets: this.numBuckets,
        offsetWidth: this.offsetWidth,
        alignment: this.alignment,
        crcWidth: this.crcWidth,
        codec: this.codec,
        recordBase: this.recordBase,
        minReadSize: this.tuning.minReadSize,
      },
      () => this.markUnclean(),
    )
    this.fbp.clear()
    this.fbp.setCapacity(this.updateMode === UPDATE_IN_PLACE ? this.tuning.fbpCapacity : 0)
  }

  private staticFlags(): number {
    return encodeStaticFlags({updateMode: this.updateMode, crcWidth: this.crcWidth, compMode: this.compMode})
  }

  private loadMetadata(): void {
    const file = this.file!
    const raw = file.read(0, Math.min(METADATA_SIZE, file.size))
    const meta = decodeMetadata(raw)
    const flags = decodeStaticFlags(meta.staticFlags)
    const problem = layoutProblem(meta)
    if (problem) throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid metadata: ${problem}`)
    this.offsetWidth = meta.offsetWidth
    this.alignPow = meta.alignPow
    this.numBuckets = meta.numBuckets
    this.updateMode = flags.updateMode
    this.crcWidth = flags.crcWidth
    this.compMode = flags.compMode
    this.applyLayout()
    if (this.recordBase > file.size) throw new StatusError(Code.BROKEN_DATA_ERROR, 'the file is shorter than its bucket section')
    this.numRecords = meta.numRecords
    this.effDataSize = meta.effDataSize
    this.cyclicMagic = meta.cyclicMagic
    this.pkgMajor = meta.pkgMajor
    this.pkgMinor = meta.pkgMinor
    this.closureFlags = meta.closureFlags
    this.dbType = meta.dbType
    this.opaque = meta.opaque
    this.timestampMicros = meta.timestamp
    const closed = (meta.closureFlags & CLOSURE_FLAG_CLOSE) !== 0
    this.healthy = closed && metadataConsistent(raw) && file.size >= meta.fileSize && meta.fileSize >= this.recordBase
    // Null padding after the content is allowed; the content ends where the metadata says.
    if (this.healthy && file.size > meta.fileSize) file.setContentSize(meta.fileSize)
    if (this.healthy) this.loadFreeBlocks()
  }

  /** Repairs an unhealthy file as restore_mode says. */
  private recover(): void {
    const mode = this.tuning.restoreMode
    if (mode === 'noop') {
      this.healthy = true
      this.markUnclean()
      return
    }
    if (mode === 'read_only') {
      this.writable = false
      return
    }
    const path = this.path
    const temp = `${path}.tmp.restore`
    fs.rmSync(temp, {force: true})
    // The damaged file stays open and locked while it is read: the path is never unguarded.
    HashDBM.restoreFile(path, temp, mode === 'sync' ? 0 : -1, {hardSync: this.tuning.restoreWithHardSync, noLock: true, sourceLocked: true})
    this.replaceFile(temp)
    this.autoRestored = true
  }

  /**
   * Puts the finished database file at `temp` in this one's place and goes on with it. The
   * new file is locked before it takes the name, and the old one is let go after.
   */
  private replaceFile(temp: string): void {
    const next = MappedFile.takeOver(temp, this.path, {writable: true, lock: 'exclusive', positional: this.tuning.positionalIO})
    this.file?.abandon()
    this.file = undefined
    this.opened = false
    this.attach(next, true)
  }

  protected closeImpl(): void {
    const file = this.file!
    try {
      if (this.failure) throw this.failure
      if (this.writable && this.unclean) {
        this.saveFreeBlocks()
        this.writeMetadata(true)
      }
      file.close()
    } catch (error) {
      // The file stays marked unclean: the next open restores it.
      file.abandon()
      throw error
    } finally {
      this.file = undefined
      this.opened = false
      this.failure = undefined
    }
  }

  protected synchronizeImpl(hard = false): void {
    if (!this.writable) return
    if (this.failure) throw this.failure
    const file = this.file!
    try {
      // With hard, the records reach the device before the metadata that counts them.
      if (hard && this.unclean) file.sync(true)
      if (this.unclean) {
        // The free blocks too, so that a copy of the synchronized file (a backup, marked
        // closed) lists exactly the space that is free in it.
        this.saveFreeBlocks()
        this.writeMetadata(false)
      }
      file.sync(hard)
    } catch (error) {
      this.failure = fromSystemError(error, `cannot synchronize ${this.path}`)
      throw this.failure
    }
  }

  private encodeMeta(closure: number): Buffer {
    this.cyclicMagic = (this.cyclicMagic + 1) & 0xff
    return encodeMetadata({
      cyclicMagic: this.cyclicMagic,
      pkgMajor: this.pkgMajor,
      pkgMinor: this.pkgMinor,
      staticFlags: this.staticFlags(),
      offsetWidth: this.offsetWidth,
      alignPow: this.alignPow,
      closureFlags: closure,
      numBuckets: this.numBuckets,
      numRecords: this.numRecords,
      effDataSize: this.effDataSize,
      fileSize: this.file!.size,
      timestamp: this.timestampMicros,
      dbType: this.dbType,
      opaque: this.opaque,
    })
  }

  /** Writes the metadata; `closed` marks a clean close. */
  private writeMetadata(closed: boolean): void {
    this.timestampMicros = nowMicros()
    this.file!.write(0, this.encodeMeta(closed ? CLOSURE_FLAG_CLOSE : 0))
  }

  private fbpSectionStart(): number {
    return this.recordBase - RECORD_HEADER_SECTION_SIZE - FBP_SECTION_SIZE
  }

  private loadFreeBlocks(): void {
    if (this.updateMode !== UPDATE_IN_PLACE) return
    const width = this.offsetWidth + 4
    const section = this.file!.read(this.fbpSectionStart(), FBP_SECTION_SIZE)
    for (let pos = 0; pos + width <= FBP_SECTION_SIZE; pos += width) {
      const offset = section.readUIntBE(pos, this.offsetWidth) * this.alignment
      const size = section.readUInt32BE(pos + this.offsetWidth)
      if (offset === 0 || size === 0) break
      if (offset >= this.recordBase && offset + size <= this.file!.size) this.fbp.insert(offset, size)
    }
  }

  private saveFreeBlocks(): void {
    const width = this.offsetWidth + 4
    const section = Buffer.alloc(FBP_SECTION_SIZE)
    if (this.updateMode === UPDATE_IN_PLACE) {
      let pos = 0
      for (const [offset, size] of this.fbp.largest(Math.floor(FBP_SECTION_SIZE / width))) {
        section.writeUIntBE(offset / this.alignment, pos, this.offsetWidth)
        section.writeUInt32BE(Math.min(size, 0xffffffff), pos + this.offsetWidth)
        pos += width
      }
    }
    this.file!.write(this.fbpSectionStart(), section)
  }

  // ---- records ----

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const records = this.recordFile!
    const bucket = records.bucketOf(key)
    const header = records.header
    const found = records.findRecord(bucket, key) !== 0 && header.op !== OP_REMOVE
    const parent = records.foundParent
    if (!found) {
      const result = processor.processEmpty(key)
      if (!writable || result === NOOP || result === REMOVE) return
      const value = result instanceof AppendTail ? result.tail : result
      this.noteTouched(key)
      this.addRecord(bucket, records.readBucket(bucket), key, value, OP_ADD)
      this.numRecords++
      return
    }
    // Keep what the header said: reading the value or another record reuses the scratch header.
    const recordOffset = header.offset
    const recordSize = header.size
    const recordChild = header.child
    const oldDataSize = header.keySize + header.valueSize
    let oldValue: Buffer | undefined
    if (!processor.ignoresValue) oldValue = this.recordFile!.readValue(header)
    const result = processor.processFull(key, oldValue ?? EMPTY)
    if (!writable || result === NOOP) return
    this.noteTouched(key)
    if (result === REMOVE) {
      if (this.updateMode === UPDATE_APPENDING) {
        this.writeNewRecord(bucket, this.recordFile!.readBucket(bucket), key, EMPTY, OP_REMOVE)
      } else {
        this.recordFile!.unlink(bucket, parent, recordChild)
        this.freeRegion(recordOffset, recordSize)
      }
      this.numRecords--
      this.effDataSize -= oldDataSize
      return
    }
    let value: Buffer
    if (result instanceof AppendTail) {
      if (oldValue === undefined) oldValue = this.recordFile!.readValue(this.recordFile!.readHeader(recordOffset))
      value = resolveResult(oldValue, result)
    } else {
      value = result
    }
    this.effDataSize -= oldDataSize
    if (this.updateMode === UPDATE_APPENDING) {
      this.addRecord(bucket, this.recordFile!.readBucket(bucket), key, value, OP_SET)
      return
    }
    const stored = this.codec ? this.codec.compress(value) : value
    const newSize = recordRegionSize(this.offsetWidth, this.crcWidth, this.alignment, key.length, stored.length)
    if (newSize <= recordSize && !this.tuning.writeAside) {
      this.recordFile!.writeRecordAt(recordOffset, recordSize, OP_SET, recordChild, key, stored)
      this.effDataSize += key.length + stored.length
      return
    }
    // The record moves. Room first, so that a full disk fails before anything changes;
    // then the new record goes in at the head of the chain before the old one is taken
    // out, so that a crash at any point leaves one of the two readable.
    this.makeRoomAtEnd(newSize)
    const moved = this.writeNewRecord(bucket, this.recordFile!.readBucket(bucket), key, stored, OP_SET)
    this.recordFile!.unlink(bucket, parent === 0 ? moved : parent, recordChild)
    this.freeRegion(recordOffset, recordSize)
    this.effDataSize += key.length + stored.length
  }

  /** Stores a new record for the key at the head of its bucket's chain. */
  private addRecord(bucket: number, head: number, key: Buffer, value: Buffer, op: number): void {
    const stored = this.codec ? this.codec.compress(value) : value
    this.writeNewRecord(bucket, head, key, stored, op)
    this.effDataSize += key.length + stored.length
  }

  /** Writes a record and makes it the head of its bucket's chain; returns its offset. */
  private writeNewRecord(bucket: number, head: number, key: Buffer, stored: Buffer, op: number): number {
    const size = recordRegionSize(this.offsetWidth, this.crcWidth, this.alignment, key.length, stored.length)
    let offset = -1
    let regionSize = size
    if (this.updateMode === UPDATE_IN_PLACE && this.fbp.length > 0) {
      const block = this.fbp.fetch(size)
      if (block) [offset, regionSize] = block
    }
    if (offset < 0) {
      offset = this.file!.size
      this.makeRoomAtEnd(size)
    }
    this.recordFile!.writeRecordAt(offset, regionSize, op, head, key, stored)
    this.recordFile!.writeBucket(bucket, offset)
    return offset
  }

  /**
   * Makes sure `size` bytes can be appended: within the format's limit and allocated on
   * disk. Called before an operation changes anything, so that a full disk or a full
   * offset range fails it whole.
   */
  private makeRoomAtEnd(size: number): void {
    const file = this.file!
    if (file.size + size > this.maxFileSize) {
      throw new StatusError(
        Code.INFEASIBLE_ERROR,
        `the file would exceed its maximum size of ${this.maxFileSize} bytes (offset_width ${this.offsetWidth}, align_pow ${this.alignPow})`,
      )
    }
    file.reserve(file.size + size)
  }

  /** Marks a region void and offers it for reuse. */
  private freeRegion(offset: number, size: number): void {
    this.recordFile!.writeRecordAt(offset, size, OP_VOID, 0, EMPTY, EMPTY)
    this.fbp.insert(offset, size)
  }

  private noteTouched(key: Buffer): void {
    this.touchedDuringRebuild?.note(key)
  }

  protected makeIteratorImpl(): DBMIterator {
    // Through this database's current file at each step: a rebuild replaces the file.
    return new BucketIterator(this, {
      nextBucket: (from) => this.recordFile!.nextBucket(from),
      bucketKeys: (bucket) => this.recordFile!.bucketKeys(bucket, this.updateMode === UPDATE_APPENDING),
      bucketOf: (key) => this.recordFile!.bucketOf(key),
    })
  }

  protected countImpl(): number {
    return this.numRecords
  }

  protected clearImpl(): void {
    const file = this.file!
    this.markUnclean()
    file.truncate(this.recordBase)
    this.recordFile!.zeroRange(METADATA_SIZE, this.recordBase - RECORD_HEADER_SECTION_SIZE)
    this.fbp.clear()
    this.numRecords = 0
    this.effDataSize = 0
    this.touchedDuringRebuild = undefined
  }

  // ---- rebuilding ----

  /** The tuning a rebuild starts from: this file's own, with a bucket count for its records. */
  private rebuildTuning(params: RebuildParams): HashTuning {
    const reader = ParamReader.fromObject(params)
    const tuning = readHashTuning(reader, this.layoutTuning())
    reader.ignore('sync_hard', 'skip_broken_records', 'file', 'block_size', 'access_options')
    reader.finish()
    if (tuning.numBuckets <= 0) tuning.numBuckets = this.numRecords * 2 + 1
    return tuning
  }

  /** Checks that a rebuild may start and opens the new file it builds. */
  private beginRebuild(params: RebuildParams): {tuning: HashTuning; fresh: HashDBM; temp: string} {
    if (this.touchedDuringRebuild) throw new StatusError(Code.PRECONDITION_ERROR, 'a rebuild is already running')
    const tuning = this.rebuildTuning(params)
    const temp = `${this.path}.tmp.rebuild`
    const fresh = new HashDBM(tuning)
    fresh.open(temp, true, {truncate: true, noLock: true})
    return {tuning, fresh, temp}
  }

  /** Copies every live record into a fresh file with new tuning, then takes its place. */
  protected rebuildImpl(params: RebuildParams = {}): void {
    const {tuning, fresh, temp} = this.beginRebuild(params)
    if (isTrue(params.skip_broken_records)) {
      // Read the records by scanning the file rather than through the buckets, skipping
      // whatever does not prove sound.
      fresh.close()
      try {
        HashDBM.restoreFile(this.path, temp, -1, {noLock: true, sourceLocked: true})
      } catch (error) {
        fs.rmSync(temp, {force: true})
        throw error
      }
      fresh.open(temp, true, {noLock: true})
    } else {
      try {
        this.copyRecordsInto(fresh, 0, this.numBuckets)
      } catch (error) {
        fresh.abandonAndRemove()
        throw error
      }
    }
    this.takeOver(fresh, tuning, isTrue(params.sync_hard))
  }

  /**
   * The same rebuild in slices of buckets that yield to the event loop, so that a server
   * keeps answering. Updates made meanwhile go to this file as usual; the keys they touch
   * are noted and copied again at the end, before the new file takes over.
   */
  protected override async rebuildInSlicesImpl(params: RebuildParams = {}, onProgress?: RebuildProgress, sliceMillis = 10): Promise<void> {
    // Recovering from a damaged file scans it whole; that path has no slices.
    if (isTrue(params.skip_broken_records)) return this.rebuildImpl(params)
    const {tuning, fresh} = this.beginRebuild(params)
    const touched = new TouchedKeys()
    this.touchedDuringRebuild = touched
    // Between slices: give other work its turn, and stop if the database was closed or cleared.
    const pause = async (): Promise<void> => {
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (!this.opened || this.touchedDuringRebuild !== touched) {
        throw new StatusError(Code.CANCELED_ERROR, 'the database was closed or cleared during the rebuild')
      }
    }
    const copyKey = (name: string): void => {
      const key = Buffer.from(name, 'latin1')
      const value = this.get(key)
      if (value === undefined) fresh.removeIfPresent(key)
      else fresh.set(key, value)
    }
    try {
      let bucket = 0
      while (bucket < this.numBuckets) {
        const deadline = performance.now() + sliceMillis
        while (bucket < this.numBuckets && performance.now() < deadline) {
          const end = Math.min(this.numBuckets, bucket + 4)
          this.copyRecordsInto(fresh, bucket, end)
          bucket = end
        }
        onProgress?.(bucket / this.numBuckets)
        await pause()
      }
      await touched.recopyInSlices(copyKey, pause, sliceMillis)
      touched.copyRest(copyKey)
    } catch (error) {
      if (this.touchedDuringRebuild === touched) this.touchedDuringRebuild = undefined
      fresh.abandonAndRemove()
      throw error
    }
    this.touchedDuringRebuild = undefined
    this.takeOver(fresh, tuning, isTrue(params.sync_hard))
  }

  /**
   * Copies the live records of a range of buckets, each read in the one walk of its chain,
   * into a fresh file that holds none of their keys yet. The stored bytes go over as they
   * are when both files use the same codec.
   */
  private copyRecordsInto(dest: HashDBM, startBucket: number, endBucket: number): void {
    const records = this.recordFile!
    const appending = this.updateMode === UPDATE_APPENDING
    const sameCodec = this.compMode === dest.compMode
    for (let bucket = startBucket; bucket < endBucket; bucket++) {
      if (records.readBucket(bucket) === 0) continue
      records.eachLiveRecord(bucket, appending, (key, header) => {
        const stored = sameCodec ? records.readStored(header) : dest.encodeValue(records.readValue(header))
        dest.addAbsent(key, stored)
      })
    }
  }

  /** A value as this file stores it: compressed by its codec, if any. */
  private encodeValue(value: Buffer): Buffer {
    return this.codec ? this.codec.compress(value) : value
  }

  /**
   * Adds a record whose key is known to be absent, its value already encoded: a rebuild's
   * copy into its fresh file, with no walk of the chain and no processor.
   */
  private addAbsent(key: Buffer, stored: Buffer): void {
    const records = this.recordFile!
    const bucket = records.bucketOf(key)
    this.writeNewRecord(bucket, records.readBucket(bucket), key, stored, OP_ADD)
    this.numRecords++
    this.effDataSize += key.length + stored.length
  }

  private removeIfPresent(key: Buffer): void {
    this.process(key, {ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
  }

  private abandonAndRemove(): void {
    const path = this.path
    try {
      this.file?.abandon()
    } finally {
      this.file = undefined
      this.opened = false
      fs.rmSync(path, {force: true})
    }
  }

  /** Replaces this database's file with a freshly built one and goes on with it. */
  private takeOver(fresh: HashDBM, tuning: HashTuning, hard: boolean): void {
    const temp = fresh.path
    fresh.close()
    if (hard) fsyncPath(temp)
    const previous = this.tuning
    this.tuning = {...this.tuning, ...tuning, restoreMode: this.tuning.restoreMode}
    try {
      this.replaceFile(temp)
    } catch (error) {
      this.tuning = previous
      throw error
    }
  }

  /** The copy is marked cleanly closed: it is the synchronized state, whole. */
  protected override copyFileDataImpl(dest: string, hard = false): void {
    if (this.writable) this.synchronize(hard)
    copyFile(this.path, dest, hard)
    if (this.writable) markCopyClosed(dest, hard)
  }

  /**
   * The same copy while writers go on: synchronized first, then the file's bytes as of that
   * moment are copied in slices, each write meanwhile saving the old bytes it replaces
   * (see FileSnapshot). A read-only file changes under no one: a plain sliced copy.
   */
  protected override async copyFileDataInSlicesImpl(dest: string, hard: boolean): Promise<void> {
    if (!this.writable) return copyFileInSlices(this.path, dest, hard)
    this.synchronize(hard)
    const temp = temporaryCopyPath(dest)
    const snapshot = this.file!.startSnapshot(temp)
    try {
      while (!snapshot.step(COPY_SLICE_BYTES)) await nextTurn()
      await snapshot.complete(hard)
      markCopyClosed(temp, hard)
      fs.renameSync(temp, dest)
    } catch (error) {
      snapshot.close()
      fs.rmSync(temp, {force: true})
      throw fromSystemError(error, `cannot copy ${this.path} to ${dest}`)
    }
  }

  protected shouldBeRebuiltImpl(): boolean {
    if (this.touchedDuringRebuild) return false
    const sectionSize = this.file!.size - this.recordBase
    const minRecordSize = 1 + this.offsetWidth + 3
    const minimumTotal = this.effDataSize + minRecordSize * this.numRecords + this.alignment * this.numRecords
    return sectionSize > minimumTotal * 2 || this.numRecords > this.numBuckets
  }

  // ---- inspection ----

  protected inspectImpl(): InspectList {
    const modeNames = ['', 'in-place', 'appending']
    return [
      ['class', this.className],
      ['healthy', String(this.healthy)],
      ['auto_restored', String(this.autoRestored)],
      ['path', this.path],
      ['cyclic_magic', String(this.cyclicMagic)],
      ['pkg_major_version', String(this.pkgMajor)],
      ['pkg_minor_version', String(this.pkgMinor)],
      ['static_flags', String(this.staticFlags())],
      ['offset_width', String(this.offsetWidth)],
      ['align_pow', String(this.alignPow)],
      ['closure_flags', String(this.closureFlags)],
      ['num_buckets', String(this.numBuckets)],
      ['num_records', String(this.numRecords)],
      ['eff_data_size', String(this.effDataSize)],
      ['file_size', String(this.file!.size)],
      ['timestamp', (this.timestampMicros / 1e6).toFixed(6)],
      ['db_type', String(this.dbType)],
      ['max_file_size', String(this.maxFileSize)],
      ['record_base', String(this.recordBase)],
      ['update_mode', modeNames[this.updateMode] ?? 'unknown'],
      ['record_crc_mode', this.crcWidth === 0 ? 'none' : `crc-${this.crcWidth}`],
      ['record_comp_mode', COMP_NAMES[this.compMode] ?? 'unknown'],
    ]
  }

  /**
   * Checks every record: the chains from every bucket (each record where its key hashes,
   * its checksum and CRC right), then the record section from start to end. Returns the
   * problems found; an empty list means valid.
   */
  protected override validateStructureImpl(): string[] {
    return validateHashFile(this.recordFile!, this.updateMode === UPDATE_APPENDING, this.numRecords)
  }

  /** The open file's layout as tuning (bucket count left to the caller): what a rebuild of a database built on this one starts from. */
  layoutTuning(): HashTuning {
    this.checkUsable(false)
    return {
      ...this.tuning,
      numBuckets: -1,
      offsetWidth: this.offsetWidth,
      alignPow: this.alignPow,
      updateMode: this.updateMode,
      crcWidth: this.crcWidth,
      compMode: this.compMode,
    }
  }

  // ---- application metadata ----

  /**
   * The 64 bytes of the metadata that belong to the application (Tkrzw's opaque
   * metadata): a tree database keeps its own metadata there.
   */
  getOpaqueMetadata(): Buffer {
    this.checkUsable(false)
    return Buffer.from(this.opaque.subarray(OPAQUE_START, OPAQUE_START + OPAQUE_METADATA_SIZE))
  }

  /** Stores up to 64 bytes of application metadata (the rest zeros), written with the metadata. */
  setOpaqueMetadata(data: Buffer): void {
    this.checkUsable(true)
    const area = this.opaque.subarray(OPAQUE_START, OPAQUE_START + OPAQUE_METADATA_SIZE)
    area.fill(0)
    data.copy(area, 0, 0, Math.min(data.length, OPAQUE_METADATA_SIZE))
    this.markUnclean()
  }

  /** The database type the metadata records for the application (a tree database marks itself there). */
  getDatabaseType(): number {
    this.checkUsable(false)
    return this.dbType
  }

  setDatabaseType(type: number): void {
    this.checkUsable(true)
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `not a database type: ${type}`)
    this.dbType = type
    this.markUnclean()
  }

  // ---- plain accessors ----

  protected override checkWritable(): void {
    super.checkWritable()
    if (this.failure) throw this.failure
  }

  protected getFileSizeImpl(): number {
    return this.file!.size
  }

  getFilePath(): string {
    return this.path
  }

  getTimestamp(): number {
    return this.timestampMicros / 1e6
  }

  isOrdered(): boolean {
    return false
  }

  isWritable(): boolean {
    return this.opened && this.writable
  }

  isOpen(): boolean {
    return this.opened
  }

  override isHealthy(): boolean {
    return this.healthy
  }

  isAutoRestored(): boolean {
    return this.autoRestored
  }
}

/**
 * The application's 64 bytes of a hash file's metadata, read from the file as it is
 * (damaged or not); undefined when the metadata does not read.
 */
export function readOpaqueMetadata(path: string): Buffer | undefined {
  try {
    const fd = fs.openSync(path, 'r')
    try {
      const raw = Buffer.alloc(METADATA_SIZE)
      if (fs.readSync(fd, raw, 0, METADATA_SIZE, 0) < METADATA_SIZE || !metadataConsistent(raw)) return undefined
      return Buffer.from(decodeMetadata(raw).opaque.subarray(OPAQUE_START, OPAQUE_START + OPAQUE_METADATA_SIZE))
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return undefined
  }
}

function isTrue(text: string | undefined): boolean {
  return text !== undefined && parseBool(text)
}

function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000)
}

function fsyncPath(path: string): void {
  const fd = fs.openSync(path, 'r+')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Bytes a sliced backup copies between two turns of the event loop. */
const COPY_SLICE_BYTES = 4 << 20

/** Marks a copy of a file open for writing as cleanly closed, as a close would leave it. */
function markCopyClosed(path: string, hard: boolean): void {
  const fd = fs.openSync(path, 'r+')
  try {
    const meta = Buffer.alloc(METADATA_SIZE)
    fs.readSync(fd, meta, 0, METADATA_SIZE, 0)
    const cyclic = (meta[META_OFFSET_CYCLIC_FRONT] + 1) & 0xff
    meta[META_OFFSET_CYCLIC_FRONT] = cyclic
    meta[META_OFFSET_CYCLIC_BACK] = cyclic
    meta[META_OFFSET_CLOSURE_FLAGS] = CLOSURE_FLAG_CLOSE
    fs.writeSync(fd, meta, 0, METADATA_SIZE, 0)
    if (hard) fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Whether a file holds zeros only: space a creation allocated before it was killed, which
 * never got its metadata. A file whose metadata alone was wiped but which has records is
 * not this, and goes to the restore instead.
 */
function neverWritten(file: MappedFile): boolean {
  const chunk = 1 << 20
  for (let offset = 0; offset < file.size; offset += chunk) {
    const length = Math.min(chunk, file.size - offset)
    const data = file.span(offset, length)
    const end = file.base + length
    for (let i = file.base; i < end; i++) if (data[i] !== 0) return false
  }
  return true
}
