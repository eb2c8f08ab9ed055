import type {Codec} from '../io/compress.js'
import {recordCrc} from '../io/crc.js'
import type {MappedFile} from '../io/mapped-file.js'
import {OP_ADD, OP_SET, OP_VOID, PADDING_MAGIC, magicChecksum, type RecordHeader} from './format.js'

/** A record's key and value as read, and what is wrong with it, if anything. */
export interface CheckedRecord {
  key: Buffer
  /** Decompressed when the file compresses values. */
  value: Buffer
  problem?: string
}

/**
 * Reads the key and value of a parsed record and checks everything a record carries about
 * itself: the checksum in its magic byte, its CRC, its padding magic, and that a
 * compressed value decompresses. Validation and restore both judge records by this.
 */
export function readCheckedRecord(file: MappedFile, header: RecordHeader, crcWidth: number, codec: Codec | undefined): CheckedRecord {
  const at = header.offset
  const key = file.read(header.keyOffset, header.keySize)
  const stored = file.read(header.valueOffset, header.valueSize)
  const checked: CheckedRecord = {key, value: stored}
  if (magicChecksum(key, 0, key.length, stored, 0, stored.length) !== header.checksum) {
    checked.problem = `the record at ${at} has a wrong checksum`
  } else if (crcWidth > 0 && header.op !== OP_VOID && recordCrc(crcWidth, key, stored) !== header.crc) {
    checked.problem = `the record at ${at} has a wrong CRC`
  } else if (header.paddingBytes > 0 && file.read(header.valueOffset + header.valueSize, 1)[0] !== PADDING_MAGIC) {
    checked.problem = `the record at ${at} has broken padding`
  } else if (codec && (header.op === OP_ADD || header.op === OP_SET)) {
    try {
      checked.value = codec.decompress(stored)
    } catch {
      checked.problem = `the record at ${at} holds data that does not decompress`
    }
  }
  return checked
}
