import type {Codec} from '../io/compress.js'
import {recordCrc} from '../io/crc.js'
import {primaryHash} from '../io/hashing.js'
import type {MappedFile} from '../io/mapped-file.js'
import {Code, StatusError} from '../status.js'
import {METADATA_SIZE, OP_REMOVE, OP_VOID, RecordHeader, encodeRecord, maxHeaderSize, parseRecordHeader} from './format.js'
import {readCheckedRecord} from './record-check.js'

const EMPTY = Buffer.alloc(0)

/** How a hash file lays out its buckets and records, fixed for the life of the file. */
export interface RecordLayout {
  numBuckets: number
  offsetWidth: number
  alignment: number
  crcWidth: number
  /** The record compression; undefined for none. */
  codec: Codec | undefined
  /** Where the record section starts. */
  recordBase: number
  /** Bytes read at once to parse a header (and, often, a short key with it). */
  minReadSize: number
}

/**
 * The buckets and records of a hash file, read and written in place: the bucket array of
 * offsets, records parsed into headers, keys compared where they lie, values read and
 * decompressed, records encoded straight into the mapping. `beforeWrite` runs before every
 * change, so that the database can mark its file unclean first.
 */
export class RecordFile {
  /** The scratch header that readHeader fills by default. */
  readonly header = new RecordHeader()
  private readonly readSize: number
  private encodeBuffer = Buffer.alloc(4096)
  // The bytes the last readHeader read, so that a short key can be compared without
  // another lookup in the mapping. Valid until the next call on the file.
  private headerData: Buffer = EMPTY
  private headerBase = 0
  private headerLength = 0

  constructor(
    readonly file: MappedFile,
    readonly layout: RecordLayout,
    private readonly beforeWrite: () => void,
  ) {
    this.readSize = Math.max(layout.minReadSize, maxHeaderSize(layout.offsetWidth, layout.crcWidth) + 16)
  }

  bucketOf(key: Buffer): number {
    return primaryHash(key, 0, key.length, this.layout.numBuckets)
  }

  readBucket(index: number): number {
    const {offsetWidth, alignment} = this.layout
    return this.file.readUint(METADATA_SIZE + index * offsetWidth, offsetWidth) * alignment
  }

  writeBucket(index: number, offset: number): void {
    this.beforeWrite()
    const {offsetWidth, alignment} = this.layout
    this.file.writeUint(METADATA_SIZE + index * offsetWidth, offset / alignment, offsetWidth)
  }

  writeChild(recordOffset: number, child: number): void {
    this.beforeWrite()
    const {offsetWidth, alignment} = this.layout
    this.file.writeUint(recordOffset + 1, child / alignment, offsetWidth)
  }

  /** Takes a record out of its chain: its parent (0: the bucket itself) points past it. */
  unlink(bucket: number, parent: number, child: number): void {
    if (parent === 0) this.writeBucket(bucket, child)
    else this.writeChild(parent, child)
  }

  /** The first bucket at or after `from` whose chain is not empty; -1 past the last. */
  nextBucket(from: number): number {
    for (let bucket = from; bucket < this.layout.numBuckets; bucket++) if (this.readBucket(bucket) !== 0) return bucket
    return -1
  }

  /** The most records a chain can hold in this file: more steps than this means a cycle. */
  chainLimit(): number {
    return Math.floor((this.file.size - this.layout.recordBase) / (1 + this.layout.offsetWidth + 3)) + 1
  }

  /** Parses the record header at offset (into the scratch header by default); BROKEN_DATA_ERROR when it cannot be one. */
  readHeader(offset: number, into: RecordHeader = this.header): RecordHeader {
    const length = this.headerReadLength(offset)
    const data = this.file.span(offset, length)
    const base = this.file.base
    this.parseChecked(data, base, length, offset, into)
    this.headerData = data
    this.headerBase = base
    this.headerLength = length
    return into
  }

  /** How many bytes a header read at offset takes, once a record is known to be able to start there. */
  private headerReadLength(offset: number): number {
    const end = this.file.size
    if (offset < this.layout.recordBase || offset >= end) {
      throw new StatusError(Code.BROKEN_DATA_ERROR, `record offset ${offset} is outside the record section`)
    }
    return Math.min(this.readSize, end - offset)
  }

  /** Parses the header of the record at offset from data[base, base + length); BROKEN_DATA_ERROR when it cannot be one. */
  private parseChecked(data: Uint8Array, base: number, length: number, offset: number, into: RecordHeader): void {
    const {offsetWidth, alignment, crcWidth} = this.layout
    if (!parseRecordHeader(data, base, base + length, offset, offsetWidth, alignment, crcWidth, into)) {
      throw new StatusError(Code.BROKEN_DATA_ERROR, `broken record header at ${offset}`)
    }
    const end = this.file.size
    if (into.valueOffset + into.valueSize > end || into.child >= end) throw new StatusError(Code.BROKEN_DATA_ERROR, `broken record at ${offset}`)
  }

  /** Where the last findRecord stopped: the record before the one found (0: the bucket itself). */
  foundParent = 0

  /**
   * The record of `key` in a bucket's chain: its offset, with the scratch header filled, or
   * 0 when the chain has none. A removal mark (the appending mode) counts as a record here;
   * void regions are passed over. In a file mapped whole, records are parsed and keys
   * compared where they lie.
   */
  findRecord(bucket: number, key: Buffer): number {
    const header = this.header
    const data = this.file.wholeMapping()
    let parent = 0
    let offset = this.readBucket(bucket)
    let steps = 0
    while (offset !== 0) {
      const matched = data === undefined ? this.readHeader(offset).op !== OP_VOID && this.keyMatches(header, key) : this.matchesIn(data, offset, key)
      if (matched) {
        this.foundParent = parent
        return offset
      }
      parent = offset
      offset = header.child
      // Chains are short: the bound on a chain's length is worked out only for a long one.
      if (++steps > 64 && steps > this.chainLimit()) throw new StatusError(Code.BROKEN_DATA_ERROR, `a cycle in the chain of bucket ${bucket}`)
    }
    this.foundParent = parent
    return 0
  }

  /** Parses the record at offset in the mapping of the whole file into the scratch header: whether it is one (not void) with this key. */
  private matchesIn(data: Buffer, offset: number, key: Buffer): boolean {
    const header = this.header
    this.parseChecked(data, offset, this.headerReadLength(offset), offset, header)
    const size = key.length
    if (header.op === OP_VOID || header.keySize !== size) return false
    const start = offset + header.headerSize
    for (let i = 0; i < size; i++) if (data[start + i] !== key[i]) return false
    return true
  }

  /** Whether the record the last readHeader parsed has this key. */
  keyMatches(header: RecordHeader, key: Buffer): boolean {
    const size = header.keySize
    if (size !== key.length) return false
    if (header.headerSize + size <= this.headerLength) {
      const data = this.headerData
      const start = this.headerBase + header.headerSize
      for (let i = 0; i < size; i++) if (data[start + i] !== key[i]) return false
      return true
    }
    const data = this.file.span(header.keyOffset, size)
    const base = this.file.base
    if (size <= 32) {
      for (let i = 0; i < size; i++) if (data[base + i] !== key[i]) return false
      return true
    }
    return key.compare(data, base, base + size) === 0
  }

  /** The stored value of a record, decompressed. */
  readValue(header: RecordHeader): Buffer {
    const stored = this.file.read(header.valueOffset, header.valueSize)
    return this.layout.codec ? this.layout.codec.decompress(stored) : stored
  }

  /** The value of a record as it is stored (compressed, if the file has a codec), copied. */
  readStored(header: RecordHeader): Buffer {
    return this.file.read(header.valueOffset, header.valueSize)
  }

  /** The key of a record, copied. */
  readKey(header: RecordHeader): Buffer {
    return this.file.read(header.keyOffset, header.keySize)
  }

  /** Encodes a record into [offset, offset + regionSize), padding included. */
  writeRecordAt(offset: number, regionSize: number, op: number, child: number, key: Buffer, stored: Buffer): void {
    this.beforeWrite()
    const {offsetWidth, alignment, crcWidth} = this.layout
    const crc = crcWidth > 0 ? recordCrc(crcWidth, key, stored) : 0
    const file = this.file
    // Most records lie within one mapped segment: encode them straight into it.
    const span = file.writableSpan(offset, regionSize)
    if (span !== undefined) {
      encodeRecord(op, child, key, stored, regionSize, offsetWidth, alignment, crcWidth, crc, span, file.base)
      return
    }
    if (this.encodeBuffer.length < regionSize) this.encodeBuffer = Buffer.alloc(Math.max(regionSize, this.encodeBuffer.length * 2))
    encodeRecord(op, child, key, stored, regionSize, offsetWidth, alignment, crcWidth, crc, this.encodeBuffer)
    file.write(offset, this.encodeBuffer, 0, regionSize)
  }

  /** Writes zeros over [start, end). */
  zeroRange(start: number, end: number): void {
    this.beforeWrite()
    const zeros = Buffer.alloc(Math.min(1 << 20, Math.max(0, end - start)))
    for (let pos = start; pos < end; pos += zeros.length) this.file.write(pos, zeros, 0, Math.min(zeros.length, end - pos))
  }

  /**
   * The live keys in a bucket, in chain order. In the appending mode a chain holds every
   * version of a key, newest first; only the newest counts.
   */
  bucketKeys(bucket: number, appending: boolean): Buffer[] {
    const keys: Buffer[] = []
    this.eachLiveRecord(bucket, appending, (key) => keys.push(key))
    return keys
  }

  /**
   * Visits the live records of a bucket in chain order, with each key (copied) and the
   * record's header: what a rebuild copies, read in one walk of the chain. The header is
   * the scratch one: read the value before anything else reads this file.
   */
  eachLiveRecord(bucket: number, appending: boolean, visit: (key: Buffer, header: RecordHeader) => void): void {
    let offset = this.readBucket(bucket)
    if (offset === 0) return
    const header = this.header
    const seen = appending ? new Set<string>() : undefined
    const limit = this.chainLimit()
    let steps = 0
    while (offset !== 0) {
      this.readHeader(offset)
      const child = header.child
      if (header.op !== OP_VOID) {
        const key = this.readKey(header)
        if (seen) {
          const name = key.toString('latin1')
          if (!seen.has(name)) {
            seen.add(name)
            if (header.op !== OP_REMOVE) visit(key, header)
          }
        } else {
          visit(key, header)
        }
      }
      offset = child
      if (++steps > limit) throw new StatusError(Code.BROKEN_DATA_ERROR, `a cycle in the chain of bucket ${bucket}`)
    }
  }

  /** What is wrong with one record, if anything: checksum, CRC, padding, compressed data. */
  checkRecord(header: RecordHeader): string | undefined {
    if (header.offset + header.size > this.file.size) return `the record at ${header.offset} runs past the end of the file`
    return readCheckedRecord(this.file, header, this.layout.crcWidth, this.layout.codec).problem
  }
}
