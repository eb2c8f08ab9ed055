import * as fs from 'node:fs'
import {retryBusy} from '../io/flat.js'
import {readUintBE, writeUintBE} from '../io/big-endian.js'
import type {MappedFile} from '../io/mapped-file.js'
import {readVarint, varintSize, writeVarint} from '../io/varint.js'
import {Code, StatusError, fromSystemError} from '../status.js'

/**
 * The file skip list's layout (Tkrzw's SkipDBM format): 128 bytes of metadata, then the
 * records in key order from offset 128, each `FF`, its forward links (absolute offsets,
 * big-endian, offset_width bytes each), the byte-delta key and value sizes, the key and
 * the value. The record at index i has as many links as the times step_unit divides i
 * (index 0: max_level), capped at max_level; link j leads to record i + step_unit^(j+1),
 * or is 0 when there is none.
 */

export const SKIP_META_SIZE = 128
export const RECORD_MAGIC = 0xff
const MAGIC = Buffer.from('TkrzwSDB\n', 'latin1')
const OFF_CYCLIC_FRONT = 9
const OFF_PKG_MAJOR = 10
const OFF_PKG_MINOR = 11
const OFF_OFFSET_WIDTH = 12
const OFF_STEP_UNIT = 13
const OFF_MAX_LEVEL = 14
const OFF_CLOSURE = 15
const OFF_NUM_RECORDS = 24
const OFF_EFF_DATA_SIZE = 32
const OFF_FILE_SIZE = 40
const OFF_TIMESTAMP = 48
const OFF_DB_TYPE = 56
export const OFF_OPAQUE = 62
export const SKIP_OPAQUE_SIZE = 64
const OFF_CYCLIC_BACK = 127
export const CLOSURE_CLOSED = 1

export const DEFAULT_OFFSET_WIDTH = 4
export const DEFAULT_STEP_UNIT = 4
export const DEFAULT_MAX_LEVEL = 14
export const DEFAULT_SORT_MEM_SIZE = 256 * 2 ** 20
export const DEFAULT_MAX_CACHED_RECORDS = 65536
export const MIN_OFFSET_WIDTH = 3
export const MAX_OFFSET_WIDTH = 6
export const MIN_STEP_UNIT = 2
export const MAX_STEP_UNIT = 64
export const MIN_MAX_LEVEL = 1
export const MAX_MAX_LEVEL = 32

/** The value a removal stores until a synchronize applies it (Tkrzw's own marker, byte for byte). */
export const REMOVING_VALUE = Buffer.from([0xde, 0xad, 0x00, 0x19, 0x78, 0x02, 0x11])

export interface SkipMeta {
  cyclicMagic: number
  pkgMajor: number
  pkgMinor: number
  offsetWidth: number
  stepUnit: number
  maxLevel: number
  closureFlags: number
  numRecords: number
  effDataSize: number
  fileSize: number
  /** Microseconds since the epoch. */
  timestamp: number
  dbType: number
  opaque: Buffer
}

export function encodeSkipMeta(meta: SkipMeta): Buffer {
  const buffer = Buffer.alloc(SKIP_META_SIZE)
  MAGIC.copy(buffer, 0)
  buffer[OFF_CYCLIC_FRONT] = meta.cyclicMagic & 0xff
  buffer[OFF_CYCLIC_BACK] = meta.cyclicMagic & 0xff
  buffer[OFF_PKG_MAJOR] = meta.pkgMajor
  buffer[OFF_PKG_MINOR] = meta.pkgMinor
  buffer[OFF_OFFSET_WIDTH] = meta.offsetWidth
  buffer[OFF_STEP_UNIT] = meta.stepUnit
  buffer[OFF_MAX_LEVEL] = meta.maxLevel
  buffer[OFF_CLOSURE] = meta.closureFlags
  writeUintBE(buffer, OFF_NUM_RECORDS, meta.numRecords, 8)
  writeUintBE(buffer, OFF_EFF_DATA_SIZE, meta.effDataSize, 8)
  writeUintBE(buffer, OFF_FILE_SIZE, meta.fileSize, 8)
  writeUintBE(buffer, OFF_TIMESTAMP, meta.timestamp, 8)
  writeUintBE(buffer, OFF_DB_TYPE, meta.dbType, 4)
  meta.opaque.copy(buffer, OFF_OPAQUE, 0, Math.min(meta.opaque.length, SKIP_OPAQUE_SIZE))
  return buffer
}

/** Parses the metadata; BROKEN_DATA_ERROR names what is wrong. Cyclic bytes that differ give cyclicMagic -1. */
export function decodeSkipMeta(data: Buffer): SkipMeta {
  if (data.length < SKIP_META_SIZE) throw new StatusError(Code.BROKEN_DATA_ERROR, 'too small metadata: not a skip database file')
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw new StatusError(Code.BROKEN_DATA_ERROR, 'bad magic data: not a skip database file')
  const meta: SkipMeta = {
    cyclicMagic: data[OFF_CYCLIC_FRONT] === data[OFF_CYCLIC_BACK] ? data[OFF_CYCLIC_FRONT] : -1,
    pkgMajor: data[OFF_PKG_MAJOR],
    pkgMinor: data[OFF_PKG_MINOR],
    offsetWidth: data[OFF_OFFSET_WIDTH],
    stepUnit: data[OFF_STEP_UNIT],
    maxLevel: data[OFF_MAX_LEVEL],
    closureFlags: data[OFF_CLOSURE],
    numRecords: readUintBE(data, OFF_NUM_RECORDS, 8),
    effDataSize: readUintBE(data, OFF_EFF_DATA_SIZE, 8),
    fileSize: readUintBE(data, OFF_FILE_SIZE, 8),
    timestamp: readUintBE(data, OFF_TIMESTAMP, 8),
    dbType: readUintBE(data, OFF_DB_TYPE, 4),
    opaque: Buffer.from(data.subarray(OFF_OPAQUE, OFF_OPAQUE + SKIP_OPAQUE_SIZE)),
  }
  if (meta.pkgMajor === 0 && meta.pkgMinor === 0) throw new StatusError(Code.BROKEN_DATA_ERROR, 'invalid package version in the metadata')
  if (meta.offsetWidth < MIN_OFFSET_WIDTH || meta.offsetWidth > MAX_OFFSET_WIDTH)
    throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid offset width ${meta.offsetWidth}`)
  if (meta.stepUnit < MIN_STEP_UNIT || meta.stepUnit > MAX_STEP_UNIT) throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid step unit ${meta.stepUnit}`)
  if (meta.maxLevel < MIN_MAX_LEVEL || meta.maxLevel > MAX_MAX_LEVEL) throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid max level ${meta.maxLevel}`)
  if (meta.fileSize < SKIP_META_SIZE && meta.cyclicMagic >= 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid file size ${meta.fileSize}`)
  return meta
}

/** How many forward links the record at an index has. */
export function levelOf(index: number, stepUnit: number, maxLevel: number): number {
  if (index === 0) return maxLevel
  let level = 0
  while (level < maxLevel && index % stepUnit === 0) {
    index /= stepUnit
    level++
  }
  return level
}

/** One record as parsed in place: where its parts lie in the file. */
export class SkipRecord {
  offset = 0
  index = 0
  level = 0
  keyStart = 0
  keySize = 0
  valueStart = 0
  valueSize = 0
  /** The whole record's bytes. */
  size = 0
}

/**
 * Records of a skip file read in place through its mapping, every size checked against
 * the file's end: a damaged record is BROKEN_DATA_ERROR, never a read past the end.
 */
export class SkipRecordReader {
  constructor(
    readonly file: MappedFile,
    readonly offsetWidth: number,
    readonly stepUnit: number,
    readonly maxLevel: number,
    /** Where the records end. */
    public end: number,
  ) {}

  /** Parses the record at offset, which has the index given, into `into`. */
  read(offset: number, index: number, into: SkipRecord): SkipRecord {
    const end = this.end
    if (offset < SKIP_META_SIZE || offset >= end) throw new StatusError(Code.BROKEN_DATA_ERROR, `record offset ${offset} is outside the record section`)
    const level = levelOf(index, this.stepUnit, this.maxLevel)
    const headLength = Math.min(end - offset, 1 + level * this.offsetWidth + 10)
    const data = this.file.span(offset, headLength)
    const base = this.file.base
    if (data[base] !== RECORD_MAGIC) throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid record magic number at ${offset}`)
    const limit = base + headLength
    const keyField = readVarint(data, base + 1 + level * this.offsetWidth, limit)
    const valueField = keyField && readVarint(data, keyField[1], limit)
    if (!keyField || !valueField) throw new StatusError(Code.BROKEN_DATA_ERROR, `broken record header at ${offset}`)
    const [keySize] = keyField
    const [valueSize, pos] = valueField
    const headerSize = pos - base
    if (offset + headerSize + keySize + valueSize > end) throw new StatusError(Code.BROKEN_DATA_ERROR, `the record at ${offset} runs past the end`)
    into.offset = offset
    into.index = index
    into.level = level
    into.keyStart = offset + headerSize
    into.keySize = keySize
    into.valueStart = into.keyStart + keySize
    into.valueSize = valueSize
    into.size = headerSize + keySize + valueSize
    return into
  }

  /** Forward link j (0-based) of a parsed record: an offset, or 0 for none. */
  link(record: SkipRecord, j: number): number {
    return this.file.readUint(record.offset + 1 + j * this.offsetWidth, this.offsetWidth)
  }

  key(record: SkipRecord): Buffer {
    return this.file.read(record.keyStart, record.keySize)
  }

  value(record: SkipRecord): Buffer {
    return this.file.read(record.valueStart, record.valueSize)
  }

  /** Byte order of a key against a record's key, compared in place. */
  compareKey(key: Buffer, record: SkipRecord): number {
    const size = record.keySize
    const data = this.file.span(record.keyStart, size)
    const base = this.file.base
    const common = key.length < size ? key.length : size
    for (let i = 0; i < common; i++) {
      const sign = key[i] - data[base + i]
      if (sign !== 0) return sign
    }
    return key.length - size
  }
}

/**
 * Writes a new skip file from records given in key order: the metadata's place first,
 * then each record with its links left zero, each link written once the record it leads
 * to is placed. Links to records still in the buffer are filled there; older ones are
 * written in the file in place.
 */
export class SkipWriter {
  private readonly fd: number
  private buffer = Buffer.allocUnsafe(1 << 20)
  private used = 0
  /** File offset of buffer[0]. */
  private flushed = 0
  /** The latest record with more than j links, per j: where link j must be written when its target comes. */
  private readonly past: number[]
  private readonly linkPatch = Buffer.alloc(8)
  count = 0
  effDataSize = 0

  constructor(
    readonly path: string,
    readonly offsetWidth: number,
    readonly stepUnit: number,
    readonly maxLevel: number,
  ) {
    try {
      this.fd = fs.openSync(path, 'w+')
    } catch (error) {
      throw fromSystemError(error, `cannot create ${path}`)
    }
    this.past = new Array<number>(maxLevel).fill(0)
    // The metadata's place, written last.
    this.buffer.fill(0, 0, SKIP_META_SIZE)
    this.used = SKIP_META_SIZE
    this.flushed = 0
  }

  /** Where the next record goes. */
  get size(): number {
    return this.flushed + this.used
  }

  add(key: Uint8Array, value: Uint8Array): void {
    const offset = this.size
    const index = this.count
    const level = levelOf(index, this.stepUnit, this.maxLevel)
    const width = this.offsetWidth
    const size = 1 + level * width + varintSize(key.length) + varintSize(value.length) + key.length + value.length
    if (offset + size > 2 ** (8 * width)) {
      throw new StatusError(Code.INFEASIBLE_ERROR, `the file would exceed ${2 ** (8 * width)} bytes, the most offset_width ${width} can address`)
    }
    this.reserve(size)
    const buffer = this.buffer
    let pos = this.used
    buffer[pos++] = RECORD_MAGIC
    buffer.fill(0, pos, pos + level * width)
    pos += level * width
    pos = writeVarint(buffer, pos, key.length)
    pos = writeVarint(buffer, pos, value.length)
    buffer.set(key, pos)
    pos += key.length
    buffer.set(value, pos)
    pos += value.length
    this.used = pos
    for (let j = 0; j < level; j++) {
      const from = this.past[j]
      if (from > 0) this.patch(from + 1 + j * width, offset)
      this.past[j] = offset
    }
    this.count++
    this.effDataSize += key.length + value.length
  }

  private patch(at: number, target: number): void {
    const width = this.offsetWidth
    if (at >= this.flushed) {
      writeUintBE(this.buffer, at - this.flushed, target, width)
      return
    }
    writeUintBE(this.linkPatch, 0, target, width)
    this.pwrite(this.linkPatch, width, at)
  }

  private reserve(size: number): void {
    if (this.used + size <= this.buffer.length) return
    this.flush()
    if (size > this.buffer.length) this.buffer = Buffer.allocUnsafe(size)
  }

  private pwrite(data: Buffer, length: number, at: number): void {
    let done = 0
    while (done < length) done += retryBusy(() => fs.writeSync(this.fd, data, done, length - done, at + done))
  }

  private flush(): void {
    if (this.used === 0) return
    this.pwrite(this.buffer, this.used, this.flushed)
    this.flushed += this.used
    this.used = 0
  }

  /** Writes the metadata (its sizes and counts from what was added) and closes the file. */
  finish(meta: Omit<SkipMeta, 'numRecords' | 'effDataSize' | 'fileSize' | 'offsetWidth' | 'stepUnit' | 'maxLevel'>, hard: boolean): void {
    try {
      this.flush()
      const header = encodeSkipMeta({
        ...meta,
        offsetWidth: this.offsetWidth,
        stepUnit: this.stepUnit,
        maxLevel: this.maxLevel,
        numRecords: this.count,
        effDataSize: this.effDataSize,
        fileSize: this.flushed,
      })
      this.pwrite(header, header.length, 0)
      if (hard) fs.fsyncSync(this.fd)
    } finally {
      fs.closeSync(this.fd)
    }
  }

  /** Closes the file unfinished and removes it. */
  abandon(): void {
    try {
      fs.closeSync(this.fd)
    } catch {
      // already closed
    }
    fs.rmSync(this.path, {force: true})
  }
}
