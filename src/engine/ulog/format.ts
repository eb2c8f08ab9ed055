import * as fs from 'node:fs'
import * as nodePath from 'node:path'
import {readUintBE, writeUintBE} from '../io/big-endian.js'
import {Code, StatusError, fromSystemError} from '../status.js'

/**
 * The update-log files, in Tkrzw's MessageQueue format: `PREFIX.0000000000`,
 * `PREFIX.0000000001`... each a 32-byte header and then records.
 *
 * Header: the text `TkrzwMQX\n`, a cyclic magic byte (again at byte 31, so that a torn
 * header shows), the file ID, the newest timestamp written and the size at the last header
 * save, each 6 bytes big-endian. Record: 0xFF, the timestamp in milliseconds (6 bytes), the
 * payload's length (4 bytes), the payload, and a checksum byte: the sum of every byte
 * before it, modulo 251, plus 1.
 */

export const HEADER_SIZE = 32
export const RECORD_HEAD_SIZE = 11
export const RECORD_MAGIC = 0xff
/** Timestamps are 6 bytes; the all-ones value is kept out. */
export const MAX_TIMESTAMP = 2 ** 48 - 2
const MAGIC_TEXT = Buffer.from('TkrzwMQX\n', 'latin1')
const ID_DIGITS = 10
/** A payload length the format reserves; no record has it. */
const INVALID_LENGTH = 0xffffffff

export interface LogHeader {
  cyclicMagic: number
  fileId: number
  /** The newest record timestamp (or heartbeat) when the header was saved, in milliseconds. */
  timestamp: number
  /** The file's size when the header was saved. */
  size: number
  /** Whether the two copies of the cyclic magic agree (a header written whole). */
  consistent: boolean
}

export function encodeHeader(header: Omit<LogHeader, 'consistent'>): Buffer {
  const data = Buffer.alloc(HEADER_SIZE)
  MAGIC_TEXT.copy(data, 0)
  data[9] = header.cyclicMagic
  writeUintBE(data, 10, header.fileId, 6)
  writeUintBE(data, 16, header.timestamp, 6)
  writeUintBE(data, 22, Math.max(header.size, HEADER_SIZE), 6)
  data[31] = header.cyclicMagic
  return data
}

export function decodeHeader(data: Uint8Array, path: string): LogHeader {
  if (data.length < HEADER_SIZE) throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: too short for an update-log header`)
  if (!MAGIC_TEXT.equals(data.subarray(0, MAGIC_TEXT.length))) throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: not an update-log file (bad magic data)`)
  return {
    cyclicMagic: data[9],
    fileId: readUintBE(data, 10, 6),
    timestamp: readUintBE(data, 16, 6),
    size: readUintBE(data, 22, 6),
    consistent: data[9] === data[31],
  }
}

/** The next cyclic magic: 1 to 255, round and round. */
export function nextCyclicMagic(magic: number): number {
  return (magic % 255) + 1
}

export function checksum(data: Uint8Array, start: number, end: number): number {
  let sum = 0
  for (let i = start; i < end; i++) sum += data[i]
  return (sum % 251) + 1
}

export function encodeRecord(timestamp: number, payload: Uint8Array): Buffer {
  const data = Buffer.allocUnsafe(RECORD_HEAD_SIZE + payload.length + 1)
  data[0] = RECORD_MAGIC
  writeUintBE(data, 1, timestamp, 6)
  writeUintBE(data, 7, payload.length, 4)
  data.set(payload, RECORD_HEAD_SIZE)
  data[data.length - 1] = checksum(data, 0, data.length - 1)
  return data
}

/** A record's fixed head: its timestamp and payload length, or why it is none. */
export type RecordHead = {timestamp: number; length: number} | {broken: 'zeros' | 'magic' | 'length'}

export function decodeRecordHead(data: Uint8Array, offset: number): RecordHead {
  if (data[offset] !== RECORD_MAGIC) {
    for (let i = 0; i < RECORD_HEAD_SIZE; i++) if (data[offset + i] !== 0) return {broken: 'magic'}
    return {broken: 'zeros'}
  }
  const length = readUintBE(data, offset + 7, 4)
  if (length === INVALID_LENGTH) return {broken: 'length'}
  return {timestamp: readUintBE(data, offset + 1, 6), length}
}

/** Now, in milliseconds, as the log stamps records. */
export function nowMillis(): number {
  return Math.floor(performance.timeOrigin + performance.now())
}

// ---- files ----

export function logFileName(prefix: string, fileId: number): string {
  return `${prefix}.${String(fileId).padStart(ID_DIGITS, '0')}`
}

export interface LogFile {
  path: string
  /** The ID its name gives. */
  id: number
}

const ID_SUFFIX = /^\.\d{10}/

/**
 * The files of a prefix, in name order: those named the prefix's base name, a dot and ten
 * digits (anything may follow, as the reference matches them). An empty list when there
 * are none; NOT_FOUND when the directory does not exist.
 */
export function listLogFiles(prefix: string): LogFile[] {
  if (prefix === '') throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'the update-log prefix is empty')
  const dir = nodePath.dirname(prefix)
  const base = nodePath.basename(prefix)
  if (base === '' || prefix.endsWith('/')) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the update-log prefix names a directory: ${prefix}`)
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch (error) {
    throw fromSystemError(error, `cannot list ${dir}`)
  }
  const files: LogFile[] = []
  for (const name of names) {
    if (!name.startsWith(base) || !ID_SUFFIX.test(name.slice(base.length))) continue
    files.push({path: dir.endsWith('/') ? dir + name : `${dir}/${name}`, id: Number(name.slice(base.length + 1, base.length + 1 + ID_DIGITS))})
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Reads the header of a log file (no lock: a header is rewritten in place whole, and checked by its two magic copies). */
export function readLogHeader(path: string): LogHeader {
  let fd: number
  try {
    fd = fs.openSync(path, 'r')
  } catch (error) {
    throw fromSystemError(error, `cannot open ${path}`)
  }
  try {
    const data = Buffer.alloc(HEADER_SIZE)
    const n = fs.readSync(fd, data, 0, HEADER_SIZE, 0)
    return decodeHeader(data.subarray(0, n), path)
  } finally {
    fs.closeSync(fd)
  }
}
