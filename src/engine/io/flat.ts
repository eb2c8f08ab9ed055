import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from '../status.js'
import {sleepSync} from './sleep.js'
import {readVarint, varintSize, writeVarint} from './varint.js'

/**
 * FlatRecord files: a sequence of records, each a magic byte (0xFF data, 0xFE metadata),
 * a byte-delta size and the bytes. A key-value database is keys and values alternately.
 */
export const FLAT_DATA = 0xff
export const FLAT_METADATA = 0xfe

const CHUNK = 1 << 20

/** Buffered sequential writer of flat records. */
export class FlatWriter {
  private fd: number
  private buffer = Buffer.allocUnsafe(CHUNK)
  private used = 0
  private written = 0

  /** Whether the descriptor is a stream the writer was given (standard output): written in order, never closed. */
  private readonly stream: boolean

  /** Writes to a new file at `path`, or, given a descriptor, to that stream (`path` then only names it). */
  constructor(
    readonly path: string,
    descriptor?: number,
  ) {
    this.stream = descriptor !== undefined
    try {
      this.fd = descriptor ?? fs.openSync(path, 'w')
    } catch (error) {
      throw fromSystemError(error, `cannot create ${path}`)
    }
  }

  write(data: Uint8Array, magic = FLAT_DATA): void {
    const need = 1 + varintSize(data.length) + data.length
    if (this.used + need > this.buffer.length) {
      this.flush()
      if (need > this.buffer.length) this.buffer = Buffer.allocUnsafe(need)
    }
    this.buffer[this.used++] = magic
    this.used = writeVarint(this.buffer, this.used, data.length)
    this.buffer.set(data, this.used)
    this.used += data.length
  }

  /** Writes a latin1 string as its bytes, without making a Buffer first. */
  writeLatin1(data: string): void {
    const need = 1 + varintSize(data.length) + data.length
    if (this.used + need > this.buffer.length) {
      this.flush()
      if (need > this.buffer.length) this.buffer = Buffer.allocUnsafe(need)
    }
    this.buffer[this.used++] = FLAT_DATA
    this.used = writeVarint(this.buffer, this.used, data.length)
    this.used += this.buffer.write(data, this.used, 'latin1')
  }

  /** Writes a metadata record: a map serialized as size-prefixed names and values. */
  writeMetadata(meta: [string, string][]): void {
    const parts: Buffer[] = []
    for (const [name, value] of meta) {
      for (const text of [name, value]) {
        const bytes = Buffer.from(text, 'utf8')
        const size = Buffer.allocUnsafe(varintSize(bytes.length))
        writeVarint(size, 0, bytes.length)
        parts.push(size, bytes)
      }
    }
    this.write(Buffer.concat(parts), FLAT_METADATA)
  }

  private flush(): void {
    let done = 0
    while (done < this.used) done += retryBusy(() => fs.writeSync(this.fd, this.buffer, done, this.used - done, this.stream ? null : this.written + done))
    this.written += this.used
    this.used = 0
  }

  /** The same close, with the wait for the device off the event loop. */
  async closeAsync(hard = false): Promise<void> {
    try {
      this.flush()
      const fd = this.fd
      if (hard) await new Promise<void>((resolve, reject) => fs.fsync(fd, (error) => (error ? reject(error) : resolve())))
    } finally {
      this.release()
    }
  }

  /** Closes without writing what is buffered: the file is being thrown away. */
  abandon(): void {
    this.release()
  }

  private release(): void {
    if (this.fd < 0) return
    const fd = this.fd
    this.fd = -1
    if (!this.stream) fs.closeSync(fd)
  }

  close(hard = false): void {
    try {
      this.flush()
      if (hard && !this.stream) fs.fsyncSync(this.fd)
    } finally {
      this.release()
    }
  }
}

/** Sequential reader of flat records; every malformed or truncated record is BROKEN_DATA. */
export class FlatReader {
  private readonly fd: number
  private buffer = Buffer.allocUnsafe(CHUNK)
  private start = 0
  private end = 0
  private fileOffset = 0
  private eof = false
  private readonly stream: boolean

  /** Reads the file at `path`, or, given a descriptor, that stream (standard input). */
  constructor(
    readonly path: string,
    descriptor?: number,
  ) {
    this.stream = descriptor !== undefined
    try {
      this.fd = descriptor ?? fs.openSync(path, 'r')
    } catch (error) {
      throw fromSystemError(error, `cannot open ${path}`)
    }
  }

  /** Makes at least `want` bytes available from `start`; false at the end of the file. */
  private fill(want: number): boolean {
    if (this.end - this.start >= want) return true
    if (this.eof) return false
    if (this.start > 0) {
      this.buffer.copy(this.buffer, 0, this.start, this.end)
      this.end -= this.start
      this.start = 0
    }
    if (want > this.buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(want, this.buffer.length * 2))
      this.buffer.copy(bigger, 0, 0, this.end)
      this.buffer = bigger
    }
    while (this.end < want && !this.eof) {
      const n = retryBusy(() => fs.readSync(this.fd, this.buffer, this.end, this.buffer.length - this.end, this.stream ? null : this.fileOffset))
      if (n === 0) this.eof = true
      this.fileOffset += n
      this.end += n
    }
    return this.end - this.start >= want
  }

  /**
   * The next record as [magic, bytes], or undefined at a clean end. The bytes are a view
   * that the next call overwrites.
   */
  read(): [number, Buffer] | undefined {
    if (!this.fill(1)) return undefined
    const magic = this.buffer[this.start]
    if (magic !== FLAT_DATA && magic !== FLAT_METADATA) {
      throw new StatusError(Code.BROKEN_DATA_ERROR, `${this.path}: bad record magic at offset ${this.position()}`)
    }
    this.fill(10)
    const size = readVarint(this.buffer, this.start + 1, this.end)
    if (!size) throw new StatusError(Code.BROKEN_DATA_ERROR, `${this.path}: truncated record at offset ${this.position()}`)
    const [length, dataStart] = size
    const headerSize = dataStart - this.start
    if (!this.fill(headerSize + length)) {
      throw new StatusError(Code.BROKEN_DATA_ERROR, `${this.path}: truncated record at offset ${this.position()}`)
    }
    const from = this.start + headerSize
    this.start = from + length
    return [magic, this.buffer.subarray(from, from + length)]
  }

  private position(): number {
    return this.fileOffset - (this.end - this.start)
  }

  close(): void {
    if (!this.stream) fs.closeSync(this.fd)
  }
}

/**
 * Runs a read or write on a descriptor that may be in non-blocking mode (a pipe shared with
 * another process): "try again" waits a millisecond and tries again.
 */
export function retryBusy(io: () => number): number {
  for (;;) {
    try {
      return io()
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      sleepSync(1)
    }
  }
}

/** Parses a metadata record into name-value pairs. */
export function parseMetadata(data: Buffer): Map<string, string> {
  const meta = new Map<string, string>()
  let pos = 0
  const next = (): string => {
    const size = readVarint(data, pos)
    if (!size || size[1] + size[0] > data.length) throw new StatusError(Code.BROKEN_DATA_ERROR, 'malformed metadata record')
    pos = size[1] + size[0]
    return data.toString('utf8', size[1], pos)
  }
  while (pos < data.length) {
    const name = next()
    meta.set(name, next())
  }
  return meta
}

/**
 * Reads key-value pairs from a flat record file, skipping metadata. A key without a value
 * is BROKEN_DATA.
 */
export function readFlatPairs(
  path: string,
  onRecord: (key: Buffer, value: Buffer) => void,
  onMetadata?: (meta: Map<string, string>) => void,
  descriptor?: number,
): void {
  const reader = new FlatReader(path, descriptor)
  try {
    let key: Buffer | undefined
    for (;;) {
      const record = reader.read()
      if (!record) break
      const [magic, data] = record
      if (magic === FLAT_METADATA) {
        if (key) throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: metadata between a key and its value`)
        onMetadata?.(parseMetadata(data))
      } else if (key === undefined) {
        key = Buffer.from(data)
      } else {
        onRecord(key, data)
        key = undefined
      }
    }
    if (key !== undefined) throw new StatusError(Code.BROKEN_DATA_ERROR, `${path}: a key without its value at the end`)
  } finally {
    reader.close()
  }
}
