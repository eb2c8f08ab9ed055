import {varintSize, writeVarint} from '../io/varint.js'
import {Code, StatusError} from '../status.js'

/**
 * HashDBM's file layout, as Tkrzw documents it: a 128-byte metadata section, the buckets
 * (big-endian offsets divided by the alignment), a 1008-byte free block pool, a 16-byte
 * record header section, then aligned records.
 */

export const METADATA_SIZE = 128
export const FILE_MAGIC = Buffer.from('TkrzwHDB\n', 'latin1')
export const RECORD_SECTION_MAGIC = Buffer.from('TkrzwREC\n', 'latin1')
export const FBP_SECTION_SIZE = 1008
export const RECORD_HEADER_SECTION_SIZE = 16
export const PKG_MAJOR_VERSION = 1
export const PKG_MINOR_VERSION = 0

export const META_OFFSET_CYCLIC_FRONT = 9
export const META_OFFSET_STATIC_FLAGS = 12
export const META_OFFSET_OFFSET_WIDTH = 13
export const META_OFFSET_ALIGN_POW = 14
export const META_OFFSET_CLOSURE_FLAGS = 15
export const META_OFFSET_NUM_BUCKETS = 16
export const META_OFFSET_NUM_RECORDS = 24
export const META_OFFSET_EFF_DATA_SIZE = 32
export const META_OFFSET_FILE_SIZE = 40
export const META_OFFSET_TIMESTAMP = 48
export const META_OFFSET_DB_TYPE = 56
export const META_OFFSET_OPAQUE = 62
export const META_OFFSET_CYCLIC_BACK = 127

export const CLOSURE_FLAG_CLOSE = 1

export const UPDATE_IN_PLACE = 1
export const UPDATE_APPENDING = 2

export const MIN_OFFSET_WIDTH = 3
export const MAX_OFFSET_WIDTH = 6
export const MAX_ALIGN_POW = 16
export const MAX_NUM_BUCKETS = 2 ** 40
export const DEFAULT_NUM_BUCKETS = 1048583
export const DEFAULT_OFFSET_WIDTH = 4
export const DEFAULT_ALIGN_POW = 3
export const DEFAULT_FBP_CAPACITY = 2048
export const DEFAULT_MIN_READ_SIZE = 48

/** The operation a record stands for, in the top two bits of its magic byte. */
export const OP_ADD = 0x00
export const OP_REMOVE = 0x40
export const OP_SET = 0x80
export const OP_VOID = 0xc0

export const PADDING_MAGIC = 0xdd

/** What the static flags byte holds. */
export interface StaticFlags {
  updateMode: number
  /** 0, 8, 16 or 32. */
  crcWidth: number
  compMode: number
}

const CRC_WIDTHS = [0, 8, 16, 32]

export function encodeStaticFlags(flags: StaticFlags): number {
  return flags.updateMode | (CRC_WIDTHS.indexOf(flags.crcWidth) << 2) | (flags.compMode << 4)
}

export function decodeStaticFlags(byte: number): StaticFlags {
  return {updateMode: byte & 0x3, crcWidth: CRC_WIDTHS[(byte >> 2) & 0x3], compMode: (byte >> 4) & 0x7}
}

/** Where records begin: after the buckets and 1 KiB of pool and header, aligned to 4096 and to 2^alignPow. */
export function recordBaseFor(numBuckets: number, offsetWidth: number, alignPow: number): number {
  const raw = METADATA_SIZE + numBuckets * offsetWidth + FBP_SECTION_SIZE + RECORD_HEADER_SECTION_SIZE
  const align = Math.max(4096, 2 ** alignPow)
  return Math.ceil(raw / align) * align
}

/** The bucket count Tkrzw stores for a request: small counts as given, larger ones the next prime. */
export function hashBucketSize(requested: number): number {
  const n = Math.max(1, Math.min(requested, MAX_NUM_BUCKETS))
  if (n <= 100) return n
  let candidate = n
  while (!isPrime(candidate)) candidate++
  return candidate
}

function isPrime(n: number): boolean {
  if (n < 2) return false
  if (n % 2 === 0) return n === 2
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false
  return true
}

/** The 6-bit checksum in a record's magic byte: 11 plus every key and value byte, mod 61, plus 3. */
export function magicChecksum(key: Uint8Array, keyStart: number, keyEnd: number, value: Uint8Array, valueStart: number, valueEnd: number): number {
  let sum = 11
  for (let i = keyStart; i < keyEnd; i++) sum += key[i]
  // Four sums side by side: long values (a tree's pages) are summed at several bytes a step.
  let a = 0
  let b = 0
  let c = 0
  let d = 0
  let i = valueStart
  for (; i + 4 <= valueEnd; i += 4) {
    a += value[i]
    b += value[i + 1]
    c += value[i + 2]
    d += value[i + 3]
  }
  for (; i < valueEnd; i++) sum += value[i]
  return ((sum + a + b + c + d) % 61) + 3
}

/** The metadata section's fields. */
export interface Metadata {
  cyclicMagic: number
  pkgMajor: number
  pkgMinor: number
  staticFlags: number
  offsetWidth: number
  alignPow: number
  closureFlags: number
  numBuckets: number
  numRecords: number
  effDataSize: number
  fileSize: number
  /** Microseconds since the epoch. */
  timestamp: number
  dbType: number
  /** Bytes 60 to 126, kept as they are: applications store their own data there. */
  opaque: Buffer
}

export function encodeMetadata(meta: Metadata): Buffer {
  const buffer = Buffer.alloc(METADATA_SIZE)
  FILE_MAGIC.copy(buffer, 0)
  buffer[META_OFFSET_CYCLIC_FRONT] = meta.cyclicMagic
  buffer[10] = meta.pkgMajor
  buffer[11] = meta.pkgMinor
  buffer[META_OFFSET_STATIC_FLAGS] = meta.staticFlags
  buffer[META_OFFSET_OFFSET_WIDTH] = meta.offsetWidth
  buffer[META_OFFSET_ALIGN_POW] = meta.alignPow
  buffer[META_OFFSET_CLOSURE_FLAGS] = meta.closureFlags
  writeUint64(buffer, META_OFFSET_NUM_BUCKETS, meta.numBuckets)
  writeUint64(buffer, META_OFFSET_NUM_RECORDS, meta.numRecords)
  writeUint64(buffer, META_OFFSET_EFF_DATA_SIZE, meta.effDataSize)
  writeUint64(buffer, META_OFFSET_FILE_SIZE, meta.fileSize)
  writeUint64(buffer, META_OFFSET_TIMESTAMP, meta.timestamp)
  buffer.writeUInt32BE(meta.dbType >>> 0, META_OFFSET_DB_TYPE)
  meta.opaque.copy(buffer, 60, 0, Math.min(meta.opaque.length, META_OFFSET_CYCLIC_BACK - 60))
  buffer[META_OFFSET_CYCLIC_BACK] = meta.cyclicMagic
  return buffer
}

/** Reads the metadata section; BROKEN_DATA_ERROR when it is not a HashDBM's. */
export function decodeMetadata(buffer: Buffer): Metadata {
  if (buffer.length < METADATA_SIZE) throw new StatusError(Code.BROKEN_DATA_ERROR, 'the file is too small to be a hash database')
  if (!buffer.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC)) {
    throw new StatusError(Code.BROKEN_DATA_ERROR, 'not a hash database file (bad magic data)')
  }
  return {
    cyclicMagic: buffer[META_OFFSET_CYCLIC_FRONT],
    pkgMajor: buffer[10],
    pkgMinor: buffer[11],
    staticFlags: buffer[META_OFFSET_STATIC_FLAGS],
    offsetWidth: buffer[META_OFFSET_OFFSET_WIDTH],
    alignPow: buffer[META_OFFSET_ALIGN_POW],
    closureFlags: buffer[META_OFFSET_CLOSURE_FLAGS],
    numBuckets: readUint64(buffer, META_OFFSET_NUM_BUCKETS),
    numRecords: readUint64(buffer, META_OFFSET_NUM_RECORDS),
    effDataSize: readUint64(buffer, META_OFFSET_EFF_DATA_SIZE),
    fileSize: readUint64(buffer, META_OFFSET_FILE_SIZE),
    timestamp: readUint64(buffer, META_OFFSET_TIMESTAMP),
    dbType: buffer.readUInt32BE(META_OFFSET_DB_TYPE),
    opaque: Buffer.from(buffer.subarray(60, META_OFFSET_CYCLIC_BACK)),
  }
}

/** What makes a metadata section's layout impossible, or undefined when it is plausible. */
export function layoutProblem(meta: Metadata): string | undefined {
  const mode = decodeStaticFlags(meta.staticFlags).updateMode
  if (mode !== UPDATE_IN_PLACE && mode !== UPDATE_APPENDING) return `unknown update mode ${mode}`
  if (meta.offsetWidth < MIN_OFFSET_WIDTH || meta.offsetWidth > MAX_OFFSET_WIDTH) return `offset width ${meta.offsetWidth} out of range`
  if (meta.alignPow > MAX_ALIGN_POW) return `alignment power ${meta.alignPow} out of range`
  if (meta.numBuckets < 1 || meta.numBuckets > MAX_NUM_BUCKETS) return `bucket count ${meta.numBuckets} out of range`
  return undefined
}

export function metadataConsistent(buffer: Buffer): boolean {
  return buffer[META_OFFSET_CYCLIC_FRONT] === buffer[META_OFFSET_CYCLIC_BACK]
}

export function encodeRecordHeaderSection(staticFlags: number, offsetWidth: number, alignPow: number): Buffer {
  const buffer = Buffer.alloc(RECORD_HEADER_SECTION_SIZE)
  RECORD_SECTION_MAGIC.copy(buffer, 0)
  buffer[9] = staticFlags
  buffer[10] = offsetWidth
  buffer[11] = alignPow
  return buffer
}

function writeUint64(buffer: Buffer, offset: number, value: number): void {
  buffer.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(value))), offset)
}

function readUint64(buffer: Buffer, offset: number): number {
  const value = buffer.readBigUInt64BE(offset)
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value)
}

/** Everything a record header says, filled in place by parsing to avoid allocation. */
export class RecordHeader {
  offset = 0
  op = 0
  checksum = 0
  child = 0
  keySize = 0
  valueSize = 0
  /** The padding size field as written. */
  paddingField = 0
  crc = 0
  /** Bytes from the record start to the key. */
  headerSize = 0
  /** The whole region the record occupies, padding included. */
  get size(): number {
    return this.headerSize + this.keySize + this.valueSize + this.paddingBytes
  }
  /** Padding bytes actually present: the field counts its own extra bytes. */
  get paddingBytes(): number {
    return this.paddingField - (varintSize(this.paddingField) - 1)
  }
  get keyOffset(): number {
    return this.offset + this.headerSize
  }
  get valueOffset(): number {
    return this.offset + this.headerSize + this.keySize
  }
}

/**
 * Parses a record header from data[start, end), where start corresponds to the file offset
 * `offset`. Returns false when the bytes end before the header does or a size is malformed.
 */
export function parseRecordHeader(
  data: Uint8Array,
  start: number,
  end: number,
  offset: number,
  offsetWidth: number,
  alignment: number,
  crcWidth: number,
  into: RecordHeader,
): boolean {
  let pos = start
  if (pos + 1 + offsetWidth > end) return false
  const magic = data[pos++]
  into.offset = offset
  into.op = magic & 0xc0
  into.checksum = magic & 0x3f
  let child = 0
  for (let i = 0; i < offsetWidth; i++) child = child * 256 + data[pos++]
  into.child = child * alignment
  const crcSize = crcWidth / 8
  // The common case: three one-byte sizes.
  if (pos + 3 + crcSize <= end && data[pos] < 0x80 && data[pos + 1] < 0x80 && data[pos + 2] < 0x80) {
    into.keySize = data[pos]
    into.valueSize = data[pos + 1]
    into.paddingField = data[pos + 2]
    pos += 3
  } else if (!parseSizes(data, pos, end, into)) {
    return false
  } else {
    pos = sizesEnd
  }
  let crc = 0
  if (crcSize > 0) {
    if (pos + crcSize > end) return false
    for (let i = 0; i < crcSize; i++) crc = crc * 256 + data[pos++]
  }
  into.crc = crc
  into.headerSize = pos - start
  return true
}

let sizesEnd = 0

/** Reads the three byte-delta sizes; sets sizesEnd past them. */
function parseSizes(data: Uint8Array, start: number, end: number, into: RecordHeader): boolean {
  let pos = start
  // Three byte-delta integers, each at most 5 bytes here (sizes below 2^35).
  let value = 0
  let n = 0
  let field = 0
  while (field < 3) {
    if (pos >= end) return false
    const byte = data[pos++]
    value = value * 128 + (byte & 0x7f)
    if (++n > 5) return false
    if (byte < 0x80) {
      if (field === 0) into.keySize = value
      else if (field === 1) into.valueSize = value
      else into.paddingField = value
      field++
      value = 0
      n = 0
    }
  }
  sizesEnd = pos
  return true
}

/** The largest header a record can have: magic, offset, three sizes, CRC. */
export function maxHeaderSize(offsetWidth: number, crcWidth: number): number {
  return 1 + offsetWidth + 5 * 3 + crcWidth / 8
}

/** The aligned region size for a record with these key and stored value sizes. */
export function recordRegionSize(offsetWidth: number, crcWidth: number, alignment: number, keySize: number, valueSize: number): number {
  const bare = 1 + offsetWidth + varintSize(keySize) + varintSize(valueSize) + 1 + crcWidth / 8 + keySize + valueSize
  return Math.ceil(bare / alignment) * alignment
}

/**
 * Serializes a record that fills a region of `regionSize` bytes: header, key, value and the
 * padding that makes up the rest.
 */
export function encodeRecord(
  op: number,
  child: number,
  key: Uint8Array,
  value: Uint8Array,
  regionSize: number,
  offsetWidth: number,
  alignment: number,
  crcWidth: number,
  crc: number,
  target: Buffer,
  start = 0,
): number {
  const keySize = key.length
  const valueSize = value.length
  const crcSize = crcWidth / 8
  const fixed = 1 + offsetWidth + varintSize(keySize) + varintSize(valueSize) + crcSize + keySize + valueSize
  const paddingField = regionSize - fixed - 1
  if (paddingField < 0) throw new StatusError(Code.APPLICATION_ERROR, 'record region too small')
  let pos = start
  target[pos++] = op | magicChecksum(key, 0, keySize, value, 0, valueSize)
  let rest = child / alignment
  if (rest <= 0xffffffff) {
    for (let i = offsetWidth - 1; i >= 0; i--) {
      target[pos + i] = rest & 0xff
      rest >>>= 8
    }
  } else {
    for (let i = offsetWidth - 1; i >= 0; i--) {
      target[pos + i] = rest % 256
      rest = Math.floor(rest / 256)
    }
  }
  pos += offsetWidth
  pos = keySize < 128 ? ((target[pos] = keySize), pos + 1) : writeVarint(target, pos, keySize)
  pos = valueSize < 128 ? ((target[pos] = valueSize), pos + 1) : writeVarint(target, pos, valueSize)
  pos = paddingField < 128 ? ((target[pos] = paddingField), pos + 1) : writeVarint(target, pos, paddingField)
  for (let i = crcSize - 1; i >= 0; i--) {
    target[pos + i] = crc & 0xff
    crc = Math.floor(crc / 256)
  }
  pos += crcSize
  if (keySize <= 16) for (let i = 0; i < keySize; i++) target[pos + i] = key[i]
  else target.set(key, pos)
  pos += keySize
  if (valueSize <= 16) for (let i = 0; i < valueSize; i++) target[pos + i] = value[i]
  else target.set(value, pos)
  pos += valueSize
  const end = start + regionSize
  if (pos < end) {
    target[pos++] = PADDING_MAGIC
    if (end - pos > 32) target.fill(0, pos, end)
    else while (pos < end) target[pos++] = 0
  }
  return regionSize
}
