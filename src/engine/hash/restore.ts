import * as fs from 'node:fs'
import {codecFor, type Codec} from '../io/compress.js'
import {MappedFile} from '../io/mapped-file.js'
import {Code, StatusError} from '../status.js'
import {
  FILE_MAGIC,
  METADATA_SIZE,
  OP_VOID,
  RECORD_HEADER_SECTION_SIZE,
  RECORD_SECTION_MAGIC,
  RecordHeader,
  decodeMetadata,
  decodeStaticFlags,
  layoutProblem,
  maxHeaderSize,
  metadataConsistent,
  parseRecordHeader,
  recordBaseFor,
  type StaticFlags,
} from './format.js'
import {readCheckedRecord} from './record-check.js'

/** What a damaged file still tells about its layout. */
export interface SalvagedLayout {
  flags: StaticFlags
  offsetWidth: number
  alignPow: number
  recordBase: number
  numBuckets: number
  /** The content size recorded at the last synchronize, or -1 when the metadata is unreadable. */
  syncedSize: number
}

/**
 * Reads the layout from the metadata when it is sound, else from the record header section
 * that precedes the records (found by its magic at a 4096-byte boundary).
 */
export function salvageLayout(file: MappedFile): SalvagedLayout {
  const size = file.size
  if (size >= METADATA_SIZE) {
    const raw = file.read(0, METADATA_SIZE)
    if (raw.subarray(0, FILE_MAGIC.length).equals(FILE_MAGIC) && metadataConsistent(raw)) {
      const meta = decodeMetadata(raw)
      const flags = decodeStaticFlags(meta.staticFlags)
      if (layoutProblem(meta) === undefined) {
        const recordBase = recordBaseFor(meta.numBuckets, meta.offsetWidth, meta.alignPow)
        if (recordBase <= size) {
          return {flags, offsetWidth: meta.offsetWidth, alignPow: meta.alignPow, recordBase, numBuckets: meta.numBuckets, syncedSize: meta.fileSize}
        }
      }
    }
  }
  for (let base = 4096; base <= size; base += 4096) {
    const section = file.read(base - RECORD_HEADER_SECTION_SIZE, RECORD_HEADER_SECTION_SIZE)
    if (!section.subarray(0, RECORD_SECTION_MAGIC.length).equals(RECORD_SECTION_MAGIC)) continue
    const flags = decodeStaticFlags(section[9])
    const offsetWidth = section[10]
    const alignPow = section[11]
    if (offsetWidth < 3 || offsetWidth > 6 || alignPow > 16 || (flags.updateMode !== 1 && flags.updateMode !== 2)) continue
    const numBuckets = Math.max(1, Math.floor((base - METADATA_SIZE - 1024) / offsetWidth))
    return {flags, offsetWidth, alignPow, recordBase: base, numBuckets, syncedSize: -1}
  }
  throw new StatusError(Code.BROKEN_DATA_ERROR, 'neither the metadata nor the record header section can be read')
}

/** One record found by a scan; the key and value are fresh copies. */
export interface ScannedRecord {
  offset: number
  op: number
  key: Buffer
  value: Buffer
}

/**
 * Walks the record section from its start to `end`, calling back for every record that
 * proves sound (checksum, CRC, padding, decompression). Where the bytes make no record,
 * it moves on by the alignment and tries again, so one damaged region loses only itself.
 */
export function scanRecords(file: MappedFile, layout: SalvagedLayout, end: number, visit: (record: ScannedRecord) => void): {broken: number} {
  const alignment = 2 ** layout.alignPow
  const crcWidth = layout.flags.crcWidth
  const codec: Codec | undefined = codecFor(layout.flags.compMode)
  const header = new RecordHeader()
  const readSize = maxHeaderSize(layout.offsetWidth, crcWidth) + 16
  let offset = layout.recordBase
  let broken = 0
  while (offset < end) {
    // Zeros are no record: the padding a file grows by, left at the end by a crash.
    if (file.readUint(offset, 1) === 0) {
      const next = nextNonZero(file, offset, end, alignment)
      if (next > offset) {
        offset = next
        continue
      }
    }
    const record = readSoundRecord(file, offset, end, layout.offsetWidth, alignment, crcWidth, codec, readSize, header)
    if (record === undefined) {
      broken++
      offset += alignment
      continue
    }
    if (record.op !== OP_VOID) visit(record)
    offset += header.size
  }
  return {broken}
}

/** The first offset at or after `from`, on the alignment, whose byte is not zero; `end` if none. */
function nextNonZero(file: MappedFile, from: number, end: number, alignment: number): number {
  const chunk = 1 << 16
  for (let start = from; start < end; start += chunk) {
    const length = Math.min(chunk, end - start)
    const data = file.span(start, length)
    const base = file.base
    for (let i = 0; i < length; i++) {
      if (data[base + i] !== 0) return Math.min(end, from + Math.floor((start + i - from) / alignment) * alignment)
    }
  }
  return end
}

function readSoundRecord(
  file: MappedFile,
  offset: number,
  end: number,
  offsetWidth: number,
  alignment: number,
  crcWidth: number,
  codec: Codec | undefined,
  readSize: number,
  header: RecordHeader,
): ScannedRecord | undefined {
  const length = Math.min(readSize, end - offset)
  const data = file.span(offset, length)
  const base = file.base
  if (!parseRecordHeader(data, base, base + length, offset, offsetWidth, alignment, crcWidth, header)) return undefined
  const size = header.size
  if (size <= 0 || size % alignment !== 0 || offset + size > end) return undefined
  if (header.op === OP_VOID && (header.keySize !== 0 || header.valueSize !== 0)) return undefined
  const checked = readCheckedRecord(file, header, crcWidth, codec)
  if (checked.problem) return undefined
  const {key, value} = checked
  return {offset, op: header.op, key, value}
}

/** Where salvaged records go: applied in file order, then finished (also after a failure). */
export interface RecordSink {
  apply(record: ScannedRecord): void
  finish(): void
}

/**
 * Reads whatever records of a damaged (or healthy) file can be read, in file order, into
 * the sink `start` makes once the layout is known. `endOffset` -1 reads to the end of the
 * file, 0 to the size recorded at the last synchronize, and a positive value to that
 * offset: in the appending mode, that replays history up to the moment the file had that
 * size. `sourceLocked`: the caller holds the file's lock already. Returns the damaged
 * regions skipped.
 */
export function salvageRecords(oldPath: string, endOffset: number, sourceLocked: boolean, start: (layout: SalvagedLayout) => RecordSink): {broken: number} {
  if (!fs.existsSync(oldPath)) throw new StatusError(Code.NOT_FOUND_ERROR, `no such file: ${oldPath}`)
  const source = MappedFile.open(oldPath, {writable: false, lock: sourceLocked ? 'none' : 'shared'})
  try {
    const layout = salvageLayout(source)
    let end = source.size
    if (endOffset === 0 && layout.syncedSize >= layout.recordBase) end = Math.min(end, layout.syncedSize)
    else if (endOffset > 0) end = Math.min(end, endOffset)
    const sink = start(layout)
    try {
      return scanRecords(source, layout, end, (record) => sink.apply(record))
    } finally {
      sink.finish()
    }
  } finally {
    source.close()
  }
}
