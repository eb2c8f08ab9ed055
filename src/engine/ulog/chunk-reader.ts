import * as fs from 'node:fs'

const CHUNK = 1 << 16

/**
 * Reads a file that only grows at its end through a window of its bytes, so that walking
 * its records costs a system call per window rather than per record. Bytes once read never
 * change (records are appended, never rewritten), so the window stays valid as the file
 * grows; bytes past what was there when the window was read are read again when asked for.
 */
export class ChunkReader {
  private window = Buffer.allocUnsafe(CHUNK)
  private start = 0
  private end = 0

  constructor(readonly fd: number) {}

  /**
   * The bytes [offset, offset + length) and where they start in the returned buffer, or
   * undefined when the file is shorter. Valid until the next call.
   */
  bytes(offset: number, length: number): {data: Buffer; at: number} | undefined {
    if (offset < this.start || offset + length > this.end) {
      if (length > this.window.length) this.window = Buffer.allocUnsafe(length)
      const n = fs.readSync(this.fd, this.window, 0, this.window.length, offset)
      this.start = offset
      this.end = offset + n
      if (n < length) return undefined
    }
    return {data: this.window, at: offset - this.start}
  }
}
