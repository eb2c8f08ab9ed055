import * as fs from 'node:fs'
import {forgetLock, openLocked} from '../io/file-lock.js'
import {Code, StatusError, fromSystemError} from '../status.js'
import {ChunkReader} from './chunk-reader.js'
import {
  HEADER_SIZE,
  MAX_TIMESTAMP,
  RECORD_HEAD_SIZE,
  checksum,
  decodeHeader,
  decodeRecordHead,
  encodeHeader,
  encodeRecord,
  listLogFiles,
  logFileName,
  nextCyclicMagic,
  nowMillis,
} from './format.js'

export const DEFAULT_MAX_FILE_SIZE = 2 ** 30

export interface MessageQueueOptions {
  /** A new file is started before a write when the current one has reached this size. */
  maxFileSize?: number
  /** Remove every file of the prefix first. */
  truncate?: boolean
  /** Save the header and flush to the device after every write. */
  syncHard?: boolean
  /**
   * When the last file ends in a damaged record (not zeros, not a whole record), leave it as
   * it is and write from a new file, instead of refusing to open. For a server, which must
   * keep serving; `damagedTail` then says what was found.
   */
  startAfterDamage?: boolean
}

/** What waiting for the next write ended with. */
export type WaitOutcome = 'written' | 'timeout' | 'closed'

/**
 * The writing side of an update log: records appended to the last file of a prefix, a new
 * file when it reaches the size limit, the header saved at rotation, synchronize and close.
 * The writer holds the last file locked the way Tkrzw's writer does, so that two writers
 * never share a log. Each record reaches the operating system before `write` returns.
 *
 * Readers in the same process wait for writes through `waitForWrite`, without polling.
 */
export class MessageQueue {
  private fd = -1
  private fileIdValue = 0
  private sizeValue = 0
  private timestampValue = 0
  private cyclicMagic = 0
  private readonly maxFileSize: number
  private readonly syncHard: boolean
  private waiters = new Set<(outcome: WaitOutcome) => void>()
  /** Set by open when the last file's damaged tail was left behind (startAfterDamage). */
  damagedTail: string | undefined

  private constructor(
    readonly prefix: string,
    options: MessageQueueOptions,
  ) {
    this.maxFileSize = options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE
    this.syncHard = options.syncHard === true
  }

  static open(prefix: string, options: MessageQueueOptions = {}): MessageQueue {
    const queue = new MessageQueue(prefix, options)
    let files = listLogFiles(prefix)
    if (options.truncate) {
      for (const file of files) fs.rmSync(file.path, {force: true})
      files = []
    }
    const last = files.at(-1)
    queue.openFile(last ? last.id : 0, false)
    try {
      if (queue.sizeValue === 0) queue.saveHeader(false)
      else queue.recover(options.startAfterDamage === true)
    } catch (error) {
      queue.closeFile()
      throw error
    }
    return queue
  }

  get isOpen(): boolean {
    return this.fd >= 0
  }

  /** The ID of the file being written. */
  get fileId(): number {
    return this.fileIdValue
  }

  /** The size of the file being written. */
  get size(): number {
    return this.sizeValue
  }

  /** The newest timestamp written or announced, in milliseconds. */
  get timestamp(): number {
    return this.timestampValue
  }

  private openFile(id: number, fresh: boolean): void {
    const path = logFileName(this.prefix, id)
    const fd = openLocked(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 'exclusive')
    try {
      if (fresh) fs.ftruncateSync(fd, 0)
      this.sizeValue = fs.fstatSync(fd).size
    } catch (error) {
      forgetLock(fd, 'exclusive')
      fs.closeSync(fd)
      throw fromSystemError(error, `cannot open ${path}`)
    }
    this.fd = fd
    this.fileIdValue = id
  }

  private closeFile(): void {
    if (this.fd < 0) return
    const fd = this.fd
    this.fd = -1
    forgetLock(fd, 'exclusive')
    fs.closeSync(fd)
  }

  private get path(): string {
    return logFileName(this.prefix, this.fileIdValue)
  }

  /**
   * Takes up an existing last file: its header gives the cyclic magic and the newest
   * timestamp; records written after the header's last save (a writer that was killed) are
   * kept when whole, zeros after them are cut, and anything else is a damaged tail.
   */
  private recover(startAfterDamage: boolean): void {
    const path = this.path
    const head = Buffer.alloc(HEADER_SIZE)
    const n = fs.readSync(this.fd, head, 0, HEADER_SIZE, 0)
    const header = decodeHeader(head.subarray(0, n), path)
    if (header.fileId !== this.fileIdValue) {
      throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: its header says file ID ${header.fileId}`)
    }
    this.cyclicMagic = header.cyclicMagic
    this.timestampValue = header.timestamp
    if (header.consistent && header.size === this.sizeValue) return
    // Records before the saved size were whole when it was saved; scan what follows.
    const from = header.consistent && header.size >= HEADER_SIZE && header.size <= this.sizeValue ? header.size : HEADER_SIZE
    const scan = scanRecords(this.fd, from, this.sizeValue)
    this.timestampValue = Math.max(this.timestampValue, scan.newest)
    if (scan.end === this.sizeValue || scan.zerosAfter) {
      fs.ftruncateSync(this.fd, scan.end)
      this.sizeValue = scan.end
      this.saveHeader(false)
      return
    }
    const damage = `${path}: a damaged record at offset ${scan.end} of ${this.sizeValue} bytes`
    if (!startAfterDamage) throw new StatusError(Code.BROKEN_DATA_ERROR, damage)
    // The damaged file stays as it is for the operator; writing goes on in the next one.
    this.damagedTail = damage
    this.closeFile()
    this.openFile(this.fileIdValue + 1, true)
    this.saveHeader(false)
  }

  private saveHeader(hard: boolean): void {
    this.cyclicMagic = nextCyclicMagic(this.cyclicMagic)
    const header = encodeHeader({cyclicMagic: this.cyclicMagic, fileId: this.fileIdValue, timestamp: this.timestampValue, size: this.sizeValue})
    try {
      writeAll(this.fd, header, 0)
      if (this.sizeValue < HEADER_SIZE) this.sizeValue = HEADER_SIZE
      if (hard) fs.fsyncSync(this.fd)
    } catch (error) {
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
  }

  private checkOpen(): void {
    if (this.fd < 0) throw new StatusError(Code.PRECONDITION_ERROR, 'the update log is not open')
  }

  /**
   * Appends a record. A negative timestamp means now; a timestamp older than the newest one
   * written is raised to it, so that timestamps never go back within a log.
   */
  write(timestamp: number, payload: Uint8Array): void {
    this.checkOpen()
    const stamp = checkTimestamp(timestamp)
    if (this.sizeValue >= this.maxFileSize) this.rotate()
    this.timestampValue = Math.max(stamp, this.timestampValue)
    const record = encodeRecord(this.timestampValue, payload)
    try {
      writeAll(this.fd, record, this.sizeValue)
    } catch (error) {
      // A record written in part (a full disk) is cut off, so that the file stays readable.
      try {
        fs.ftruncateSync(this.fd, this.sizeValue)
      } catch {
        // The next open finds the damaged tail and says so.
      }
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
    this.sizeValue += record.length
    if (this.syncHard) this.saveHeader(true)
    this.wake('written')
  }

  private rotate(): void {
    this.saveHeader(false)
    this.closeFile()
    this.openFile(this.fileIdValue + 1, true)
    this.saveHeader(false)
  }

  /** Announces that nothing older than `timestamp` (negative: now) will be written; no record is written. */
  updateTimestamp(timestamp: number): void {
    this.timestampValue = Math.max(checkTimestamp(timestamp), this.timestampValue)
  }

  /** Saves the header (the newest timestamp and the size); with `hard`, flushes the file to the device. */
  synchronize(hard: boolean): void {
    this.checkOpen()
    this.saveHeader(hard)
  }

  close(): void {
    this.checkOpen()
    try {
      this.saveHeader(this.syncHard)
    } finally {
      this.closeFile()
      this.wake('closed')
    }
  }

  /**
   * Resolves at the next write ('written'), when the queue closes or readers are cancelled
   * ('closed'), or after `timeoutMs` ('timeout'; negative: never).
   */
  waitForWrite(timeoutMs: number): Promise<WaitOutcome> {
    if (this.fd < 0) return Promise.resolve('closed')
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (outcome: WaitOutcome): void => {
        if (timer) clearTimeout(timer)
        this.waiters.delete(done)
        resolve(outcome)
      }
      this.waiters.add(done)
      if (timeoutMs >= 0) timer = setTimeout(() => done('timeout'), timeoutMs)
    })
  }

  /** Ends every wait under way with 'closed' (a server shutting down). */
  cancelWaits(): void {
    this.wake('closed')
  }

  private wake(outcome: WaitOutcome): void {
    if (this.waiters.size === 0) return
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const waiter of waiters) waiter(outcome)
  }
}

function checkTimestamp(timestamp: number): number {
  if (!Number.isFinite(timestamp)) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `invalid timestamp: ${timestamp}`)
  const stamp = timestamp < 0 ? nowMillis() : Math.floor(timestamp)
  if (stamp > MAX_TIMESTAMP) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `out-of-range timestamp: ${timestamp}`)
  return stamp
}

function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done)
}

/**
 * Walks whole, checksummed records from `from` to `end`: where the last whole one ends,
 * the newest timestamp met, and whether only zeros follow (what a file's preallocated or
 * never-written tail holds).
 */
export function scanRecords(fd: number, from: number, end: number): {end: number; newest: number; zerosAfter: boolean} {
  const reader = new ChunkReader(fd)
  let offset = from
  let newest = 0
  while (offset + RECORD_HEAD_SIZE <= end) {
    const head = reader.bytes(offset, RECORD_HEAD_SIZE)
    if (!head) break
    const fields = decodeRecordHead(head.data, head.at)
    if (!('timestamp' in fields)) break
    const total = RECORD_HEAD_SIZE + fields.length + 1
    if (offset + total > end) break
    const record = reader.bytes(offset, total)
    if (!record || checksum(record.data, record.at, record.at + total - 1) !== record.data[record.at + total - 1]) break
    newest = Math.max(newest, fields.timestamp)
    offset += total
  }
  return {end: offset, newest, zerosAfter: allZeros(fd, offset, end)}
}

function allZeros(fd: number, from: number, end: number): boolean {
  const chunk = Buffer.allocUnsafe(1 << 16)
  for (let at = from; at < end;) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, end - at), at)
    if (n <= 0) return true
    for (let i = 0; i < n; i++) if (chunk[i] !== 0) return false
    at += n
  }
  return true
}
