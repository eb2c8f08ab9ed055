import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from '../status.js'
import {heldForWriting} from '../io/file-lock.js'
import {ChunkReader} from './chunk-reader.js'
import {HEADER_SIZE, RECORD_HEAD_SIZE, checksum, decodeRecordHead, listLogFiles, logFileName, readLogHeader} from './format.js'
import type {MessageQueue} from './message-queue.js'

export interface LogMessage {
  timestamp: number
  payload: Buffer
  /** Where the record lies: its file's ID and offset. */
  fileId: number
  offset: number
}

/**
 * Reads the records of an update log from a timestamp on (inclusive), file after file.
 *
 * Where it starts: the first file whose header's newest timestamp is at or after the
 * minimum (earlier files hold nothing that new), else the last file. Records older than
 * the minimum are passed over.
 *
 * Given the queue writing the log in this process, the reader knows the last file and its
 * size exactly and can wait for writes. Without one (another process writes, or none), it
 * reads as far as whole records go: a record being written, or cut short at the end of
 * the last file, ends the reading there; damage anywhere else is BROKEN_DATA_ERROR.
 */
export class LogReader {
  private fileId = -1
  private offset = HEADER_SIZE
  private fd = -1
  private chunks: ChunkReader | undefined
  /** The timestamp of the last record passed (read or skipped); -1 before any. */
  lastTimestamp = -1

  constructor(
    readonly prefix: string,
    readonly minTimestamp: number,
    private readonly queue?: MessageQueue,
  ) {}

  /** The next record, or undefined at the end of what is written. */
  next(): LogMessage | undefined {
    if (this.fileId < 0 && !this.start()) return undefined
    for (;;) {
      if (!this.chunks && !this.openCurrent()) return undefined
      const path = logFileName(this.prefix, this.fileId)
      const limit = this.limit()
      const head = this.offset + RECORD_HEAD_SIZE <= limit ? this.chunks!.bytes(this.offset, RECORD_HEAD_SIZE) : undefined
      if (!head) {
        if (!this.isLast()) {
          this.moveToNextFile()
          continue
        }
        // Bytes too few for a record's head: zeros (space never written) end the log, anything else is on its way or damage.
        const rest = this.offset < limit ? this.chunks!.bytes(this.offset, limit - this.offset) : undefined
        if (!rest || rest.data.subarray(rest.at, rest.at + limit - this.offset).every((byte) => byte === 0)) return undefined
        return this.endOfLast(`${path}: a damaged record at offset ${this.offset}`)
      }
      const fields = decodeRecordHead(head.data, head.at)
      if (!('timestamp' in fields)) {
        // Zeros: space never written (a writer's padding, a crash); the file ends here.
        if (fields.broken === 'zeros' && !this.isLast()) {
          this.moveToNextFile()
          continue
        }
        if (fields.broken === 'zeros') return undefined
        return this.endOfLast(`${path}: a damaged record at offset ${this.offset}`)
      }
      const total = RECORD_HEAD_SIZE + fields.length + 1
      if (this.offset + total > limit) {
        if (this.isLast()) return this.endOfLast(`${path}: the record at offset ${this.offset} is cut short`)
        throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: the record at offset ${this.offset} is cut short`)
      }
      const at = this.offset
      this.lastTimestamp = fields.timestamp
      if (fields.timestamp < this.minTimestamp) {
        this.offset += total
        continue
      }
      const record = this.chunks!.bytes(at, total)
      if (!record) {
        if (this.isLast()) return this.endOfLast(`${path}: the record at offset ${at} is cut short`)
        throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: the record at offset ${at} is cut short`)
      }
      const end = record.at + total - 1
      if (checksum(record.data, record.at, end) !== record.data[end]) {
        if (this.isLast()) return this.endOfLast(`${path}: the record at offset ${at} fails its checksum`)
        throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: the record at offset ${at} fails its checksum`)
      }
      this.offset += total
      return {timestamp: fields.timestamp, payload: Buffer.from(record.data.subarray(record.at + RECORD_HEAD_SIZE, end)), fileId: this.fileId, offset: at}
    }
  }

  /**
   * The next record, waiting for one up to `waitSeconds` (negative: for as long as it
   * takes) when there is none yet. Needs the queue that writes the log. Undefined when the
   * wait ran out; CANCELED_ERROR when the queue closed or cancelled its readers.
   */
  async read(waitSeconds: number): Promise<LogMessage | undefined> {
    const queue = this.queue
    if (!queue) throw new StatusError(Code.PRECONDITION_ERROR, 'waiting needs the writer of the log')
    for (;;) {
      if (!queue.isOpen) throw new StatusError(Code.CANCELED_ERROR, 'the update log was closed')
      const message = this.next()
      if (message || waitSeconds === 0) return message
      const outcome = await queue.waitForWrite(waitSeconds < 0 ? -1 : waitSeconds * 1000)
      if (outcome === 'closed') throw new StatusError(Code.CANCELED_ERROR, 'the update log was closed')
      if (outcome === 'timeout') return this.next()
    }
  }

  close(): void {
    this.closeCurrent()
  }

  /**
   * At a record that is not whole at the end of the last file: the end of what is written
   * when another process is writing it (the record is on its way), damage otherwise.
   */
  private endOfLast(damage: string): undefined {
    if (!this.queue && heldForWriting(logFileName(this.prefix, this.fileId))) return undefined
    throw new StatusError(Code.BROKEN_DATA_ERROR, damage)
  }

  /** Picks the first file to read; false when the log has no file at all. */
  private start(): boolean {
    const files = listLogFiles(this.prefix)
    if (files.length === 0) {
      if (!this.queue) return false
      this.fileId = this.queue.fileId
      return true
    }
    let chosen = files[files.length - 1].id
    for (const file of files) {
      if (readLogHeader(file.path).timestamp >= this.minTimestamp) {
        chosen = file.id
        break
      }
    }
    this.fileId = chosen
    this.offset = HEADER_SIZE
    return true
  }

  /** Opens the current file; false when it does not exist and no later one does either. */
  private openCurrent(): boolean {
    const path = logFileName(this.prefix, this.fileId)
    try {
      this.fd = fs.openSync(path, 'r')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(error, `cannot open ${path}`)
      // Removed (pruned) or never there: go on with the next file that exists.
      const later = listLogFiles(this.prefix).find((file) => file.id > this.fileId)
      if (!later) return false
      this.fileId = later.id
      this.offset = HEADER_SIZE
      return this.openCurrent()
    }
    this.chunks = new ChunkReader(this.fd)
    return true
  }

  private closeCurrent(): void {
    if (this.fd >= 0) fs.closeSync(this.fd)
    this.fd = -1
    this.chunks = undefined
  }

  /** How far the current file may be read. */
  private limit(): number {
    if (this.queue && this.queue.isOpen && this.queue.fileId === this.fileId) return this.queue.size
    return fs.fstatSync(this.fd).size
  }

  /** Whether the current file is the last one: the writer's, or, without one, no later file exists. */
  private isLast(): boolean {
    if (this.queue && this.queue.isOpen) return this.fileId >= this.queue.fileId
    return !listLogFiles(this.prefix).some((file) => file.id > this.fileId)
  }

  private moveToNextFile(): void {
    this.closeCurrent()
    this.fileId++
    this.offset = HEADER_SIZE
  }
}
