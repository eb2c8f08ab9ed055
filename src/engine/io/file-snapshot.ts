import * as fs from 'node:fs'
import {fromSystemError} from '../status.js'

/** Bytes copied at once, and the unit of copy-on-write: a write first saves the old bytes of the blocks it touches. */
const BLOCK = 1 << 20

/** What a snapshot reads its source through. */
export interface SnapshotSource {
  /** Copies [offset, offset + length) of the source into the target. */
  copyOut(offset: number, length: number, target: Uint8Array, targetStart: number): void
}

/**
 * A copy of a file as it was at one moment, made while writers go on changing the file.
 * The copy goes block by block in the background (`step`), and a writer about to change a
 * block not copied yet first copies its old bytes (`preserve`): copy-on-write, so the copy
 * never mixes two moments and nobody waits for the whole of it.
 */
export class FileSnapshot {
  private readonly copied: Uint8Array
  private cursor = 0
  private fd: number
  private failure: unknown
  private readonly buffer = Buffer.allocUnsafe(BLOCK)

  constructor(
    private readonly source: SnapshotSource,
    /** Where the copy goes; made here, and it must not exist. */
    readonly path: string,
    /** The size of the source at the moment the snapshot stands for. */
    readonly size: number,
  ) {
    try {
      this.fd = fs.openSync(path, 'wx')
    } catch (error) {
      throw fromSystemError(error, `cannot create ${path}`)
    }
    this.copied = new Uint8Array(Math.ceil(size / BLOCK))
  }

  /** True once every block is copied, or the copy failed. */
  get done(): boolean {
    return this.cursor >= this.copied.length || this.failure !== undefined
  }

  /** Saves the old bytes of [offset, offset + length) before a writer changes them. */
  preserve(offset: number, length: number): void {
    if (this.failure !== undefined || offset >= this.size || length <= 0) return
    const last = Math.floor((Math.min(offset + length, this.size) - 1) / BLOCK)
    for (let block = Math.floor(offset / BLOCK); block <= last; block++) if (this.copied[block] === 0) this.copyBlock(block)
  }

  /** Copies up to `bytes` more of what is left; true when nothing is left. */
  step(bytes: number): boolean {
    let budget = Math.max(1, Math.ceil(bytes / BLOCK))
    while (budget > 0 && !this.done) {
      if (this.copied[this.cursor] === 0) {
        this.copyBlock(this.cursor)
        budget--
      }
      this.cursor++
    }
    return this.done
  }

  /** Copies everything left at once: the source is about to be cut or closed. */
  finishNow(): void {
    while (!this.step(64 * BLOCK));
  }

  private copyBlock(block: number): void {
    try {
      const start = block * BLOCK
      const length = Math.min(BLOCK, this.size - start)
      this.source.copyOut(start, length, this.buffer, 0)
      let done = 0
      while (done < length) done += fs.writeSync(this.fd, this.buffer, done, length - done, start + done)
      this.copied[block] = 1
    } catch (error) {
      // A copy that fails (its disk is full) must not fail the writer that triggered it:
      // the snapshot stops, and whoever waits for it learns why.
      this.failure = fromSystemError(error, `cannot write ${this.path}`)
    }
  }

  /** Ends the copy: flushed to the device with hard, off the event loop. Throws what made the copy fail. */
  async complete(hard: boolean): Promise<void> {
    try {
      if (this.failure !== undefined) throw this.failure
      if (hard)
        await new Promise<void>((resolve, reject) =>
          fs.fsync(this.fd, (error) => (error ? reject(fromSystemError(error, `cannot synchronize ${this.path}`)) : resolve())),
        )
    } finally {
      this.close()
    }
  }

  /** Stops without finishing; the caller removes the file. */
  close(): void {
    if (this.fd < 0) return
    const fd = this.fd
    this.fd = -1
    this.failure ??= new Error('the snapshot was abandoned')
    fs.closeSync(fd)
  }
}
