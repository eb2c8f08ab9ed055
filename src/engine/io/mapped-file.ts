import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from '../status.js'
import {forgetLock, lockDescriptor, openLocked, type LockMode} from './file-lock.js'
import {FileSnapshot} from './file-snapshot.js'
import {addon, systemError} from './native.js'

/**
 * Bytes per mapped segment. Offsets are split into a segment and a position within it;
 * a range that straddles two segments is copied, which at this size almost never happens.
 * The last segment maps only as far as the file reaches, and is mapped again when the file
 * grows: the JavaScript engine counts mapped bytes as memory it must watch, and collects
 * garbage far more often when small files map a gigabyte each.
 */
export const SEGMENT_SIZE = 2 ** 30

/**
 * The least and the most the file grows by when it needs room: it doubles in between. Each
 * growth maps the last segment again, and every page touched after that faults once more,
 * so growing by a quarter made a 1M-record hash file spend 7% of its set time faulting.
 */
const MIN_GROWTH = 1 << 20
const MAX_GROWTH = 256 << 20
const OS_PAGE = 4096
const EMPTY = Buffer.alloc(0)
/** The positional mode's cached blocks: their size, how many, and the reads that use them. */
const BLOCK_SIZE = 4096
const MAX_BLOCKS = 1024
const SMALL_READ = 512

export interface MappedFileOptions {
  writable: boolean
  /** Start from an empty file. */
  truncate?: boolean
  /** Defaults: exclusive for writers, shared for readers. */
  lock?: LockMode
  /**
   * Read and write with system calls instead of through a mapping. For a file whose user
   * keeps its own cache of what it reads (the B+ tree keeps its pages): a mapping would
   * hold a second copy of the same bytes in the process's resident memory, since every
   * access maps the pages around it too.
   */
  positional?: boolean
}

/**
 * A file read and written in place through shared memory mappings. A write is in the
 * operating system's page cache the moment it is made: a process that is killed loses
 * nothing it wrote, and `sync(true)` is what carries the writes to the device.
 *
 * The file grows ahead of its content (the "logical size") in steps, with the space
 * allocated on disk before any byte of it is used: a full disk fails `reserve` cleanly,
 * never a write into the mapping. Bytes past the logical size are zeros; `sync` and
 * `close` cut the file back to its logical size. Nothing is mapped past the file's end,
 * so no access can fault there.
 */
export class MappedFile {
  readonly writable: boolean
  private pathName: string
  private fd: number
  private lockMode: LockMode
  private segments: (Buffer | undefined)[] = []
  private lastIndex = -1
  private lastSegment: Buffer = EMPTY
  /** Bytes the file has on disk, padding included. */
  private physicalSize: number
  private logicalSize: number
  private scratch = Buffer.alloc(4096)
  /** Whether anything was written, cut or allocated: a file left untouched is closed untouched. */
  private modified = false
  /** Where `span` placed the requested bytes in the buffer it returned. */
  base = 0
  /** Copies being made of the file as it was: every write saves the old bytes for them first. */
  private snapshots: FileSnapshot[] = []
  private readonly positional: boolean
  /** The positional mode's cache of small reads: blocks by index, oldest first. */
  private blocks = new Map<number, Buffer>()

  private constructor(path: string, fd: number, writable: boolean, lockMode: LockMode, positional: boolean) {
    this.positional = positional
    this.pathName = path
    this.fd = fd
    this.writable = writable
    this.lockMode = lockMode
    this.physicalSize = fs.fstatSync(fd).size
    this.logicalSize = this.physicalSize
  }

  static open(path: string, options: MappedFileOptions): MappedFile {
    const writable = options.writable
    const lock = options.lock ?? (writable ? 'exclusive' : 'shared')
    // Never O_TRUNC: a file is emptied only once its lock is held.
    const flags = writable ? fs.constants.O_RDWR | fs.constants.O_CREAT : fs.constants.O_RDONLY
    const fd = openLocked(path, flags, lock)
    let file: MappedFile | undefined
    try {
      file = new MappedFile(path, fd, writable, lock, options.positional === true)
      if (writable && options.truncate) file.truncate(0)
      // Holes inside the content (a sparse file) would fault on a full disk; fill them now.
      if (writable && file.physicalSize > 0) file.allocate(0, file.physicalSize)
      return file
    } catch (error) {
      if (file) file.abandon()
      else {
        forgetLock(fd, lock)
        fs.closeSync(fd)
      }
      throw fromSystemError(error, `cannot open ${path}`)
    }
  }

  get path(): string {
    return this.pathName
  }

  /** The content's size: where the next appended byte goes. */
  get size(): number {
    return this.logicalSize
  }

  get isOpen(): boolean {
    return this.fd >= 0
  }

  /**
   * Starts a copy of the file's content as it is now into `dest`, made while writes go on
   * (see FileSnapshot): the caller steps it to the end, then completes it.
   */
  startSnapshot(dest: string): FileSnapshot {
    const snapshot = new FileSnapshot(this, dest, this.logicalSize)
    this.snapshots = [...this.snapshots.filter((other) => !other.done), snapshot]
    return snapshot
  }

  /** Before [offset, offset + length) changes: the snapshots keep the old bytes. */
  private preserve(offset: number, length: number): void {
    for (const snapshot of this.snapshots) snapshot.preserve(offset, length)
    if (this.snapshots.some((snapshot) => snapshot.done)) this.snapshots = this.snapshots.filter((snapshot) => !snapshot.done)
  }

  /** Before the file is cut or closed: the snapshots take everything they still lack. */
  private finishSnapshots(): void {
    for (const snapshot of this.snapshots) snapshot.finishNow()
    this.snapshots = []
  }

  /** After the file was renamed: the name it goes by now. */
  renamed(path: string): void {
    this.pathName = path
  }

  /**
   * Opens a finished file at `temp` and moves it to `path`, over whatever is there: it is
   * locked before it takes the name, so the path is never unguarded. On failure the
   * temporary file is removed.
   */
  static takeOver(temp: string, path: string, options: MappedFileOptions): MappedFile {
    const next = MappedFile.open(temp, options)
    try {
      fs.renameSync(temp, path)
    } catch (error) {
      next.close()
      fs.rmSync(temp, {force: true})
      throw fromSystemError(error, `cannot replace ${path}`)
    }
    next.renamed(path)
    return next
  }

  private segment(index: number): Buffer {
    if (index === this.lastIndex) return this.lastSegment
    let segment = this.segments[index]
    if (segment === undefined) {
      const length = Math.min(SEGMENT_SIZE, this.physicalSize - index * SEGMENT_SIZE)
      if (length <= 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `an access past the end of ${this.pathName}`)
      const mapped = addon.map(this.fd, index * SEGMENT_SIZE, length, this.writable)
      if (typeof mapped === 'number') throw fromSystemError(systemError(mapped, 'mmap'), `cannot map ${this.pathName}`)
      segment = mapped
      while (this.segments.length < index) this.segments.push(undefined)
      this.segments[index] = segment
    }
    this.lastIndex = index
    this.lastSegment = segment
    return segment
  }

  /** Unmaps the segments from `index` on; they are mapped again, to the file's new end, when used. */
  private unmapFrom(index: number): void {
    for (let i = index; i < this.segments.length; i++) {
      const segment = this.segments[i]
      if (segment !== undefined) addon.unmap(segment)
    }
    if (index < this.segments.length) this.segments.length = index
    this.lastIndex = -1
    this.lastSegment = EMPTY
  }

  /**
   * Makes the file's first `end` bytes exist on disk, growing it when it is shorter. On
   * failure (a full disk) nothing has changed, and the error says so.
   */
  reserve(end: number): void {
    if (end <= this.physicalSize) return
    if (!this.writable) throw new StatusError(Code.PRECONDITION_ERROR, `${this.pathName} is open read-only`)
    const step = Math.min(MAX_GROWTH, Math.max(MIN_GROWTH, this.physicalSize))
    const generous = roundUp(Math.max(end, this.physicalSize + step), OS_PAGE)
    try {
      this.allocate(this.physicalSize, generous - this.physicalSize)
    } catch (first) {
      // Near a full disk: the exact need may still fit where the generous step did not.
      const exact = roundUp(end, OS_PAGE)
      if (exact >= generous) throw first
      this.allocate(this.physicalSize, exact - this.physicalSize)
    }
  }

  private allocate(offset: number, length: number): void {
    if (length <= 0) return
    const rc = addon.allocate(this.fd, offset, length)
    if (rc !== 0) {
      // A refused allocation may have grown the file partly: put its size back.
      try {
        fs.ftruncateSync(this.fd, this.physicalSize)
      } catch {
        // The size on disk stays larger; the padding is zeros and is cut at close.
      }
      const what = `cannot allocate ${length} bytes at ${offset} in ${this.pathName}`
      throw new StatusError(Code.SYSTEM_ERROR, `${what}: ${systemError(rc, 'fallocate').message}`)
    }
    this.modified = true
    if (offset + length > this.physicalSize) {
      // The last segment maps only to the old end: map it again when it is next used.
      this.unmapFrom(Math.floor(this.physicalSize / SEGMENT_SIZE))
      this.physicalSize = offset + length
    }
  }

  /**
   * The bytes [offset, offset + length) as a buffer and `base`, the position they start at
   * in it. The buffer is only valid until the next call on this file; copy what you keep.
   */
  span(offset: number, length: number): Buffer {
    if (this.positional) {
      if (this.scratch.length < length) this.scratch = Buffer.alloc(Math.max(length, this.scratch.length * 2))
      this.readAt(offset, length, this.scratch, 0)
      this.base = 0
      return this.scratch
    }
    const index = Math.floor(offset / SEGMENT_SIZE)
    const within = offset - index * SEGMENT_SIZE
    if (within + length <= SEGMENT_SIZE) {
      this.base = within
      return this.segment(index)
    }
    if (this.scratch.length < length) this.scratch = Buffer.alloc(Math.max(length, this.scratch.length * 2))
    this.copyOut(offset, length, this.scratch, 0)
    this.base = 0
    return this.scratch
  }

  /**
   * The whole file as one buffer, when it is mapped in a single segment (the mapped mode,
   * under 1 GiB): the hottest paths read it where it lies, with file offsets as indexes.
   * Valid until the next write, cut or close: ask again after any of them.
   */
  wholeMapping(): Buffer | undefined {
    if (this.positional || this.physicalSize > SEGMENT_SIZE || this.physicalSize === 0) return undefined
    return this.segment(0)
  }

  /**
   * [offset, offset + length) as a view of the mapping when it lies within one segment (a
   * copy otherwise): valid until the file is changed there, unmapped or closed.
   */
  view(offset: number, length: number): Buffer {
    if (this.positional) return this.read(offset, length)
    const index = Math.floor(offset / SEGMENT_SIZE)
    const within = offset - index * SEGMENT_SIZE
    if (within + length <= SEGMENT_SIZE) return this.segment(index).subarray(within, within + length)
    return this.read(offset, length)
  }

  /** A fresh copy of [offset, offset + length). */
  read(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    if (this.positional) {
      this.readAt(offset, length, out, 0)
      return out
    }
    const index = Math.floor(offset / SEGMENT_SIZE)
    const within = offset - index * SEGMENT_SIZE
    if (within + length <= SEGMENT_SIZE) {
      const data = this.segment(index)
      // Short copies are cheaper byte by byte than through the native copy.
      if (length <= 64) for (let i = 0; i < length; i++) out[i] = data[within + i]
      else data.copy(out, 0, within, within + length)
      return out
    }
    this.copyOut(offset, length, out, 0)
    return out
  }

  copyOut(offset: number, length: number, target: Uint8Array, targetStart: number): void {
    if (this.positional) return this.readAt(offset, length, target, targetStart)
    this.eachPiece(offset, length, (segment, within, done, n) => segment.copy(target, targetStart + done, within, within + n))
  }

  /** Visits [offset, offset + length) segment by segment: the piece's place in its segment, and how far into the range it starts. */
  private eachPiece(offset: number, length: number, visit: (segment: Buffer, within: number, done: number, n: number) => void): void {
    let done = 0
    while (done < length) {
      const position = offset + done
      const index = Math.floor(position / SEGMENT_SIZE)
      const within = position - index * SEGMENT_SIZE
      const n = Math.min(length - done, SEGMENT_SIZE - within)
      visit(this.segment(index), within, done, n)
      done += n
    }
  }

  /** Makes room for a write to [offset, offset + length) and moves the logical end past it. */
  private extendTo(end: number): void {
    this.modified = true
    if (end > this.physicalSize) this.reserve(end)
    if (end > this.logicalSize) this.logicalSize = end
  }

  /** Writes data[start, end) at the offset, growing the logical size when it reaches past it. */
  write(offset: number, data: Uint8Array, start = 0, end = data.length): void {
    const length = end - start
    if (this.snapshots.length > 0) this.preserve(offset, length)
    this.extendTo(offset + length)
    if (this.positional) return this.writeAt(offset, data, start, end)
    this.eachPiece(offset, length, (segment, within, done, n) => segment.set(data.subarray(start + done, start + done + n), within))
  }

  /**
   * Reads [offset, offset + length) into target with system calls (the positional mode).
   * Small reads (record headers, bucket slots) go through a few cached blocks, so that a
   * walk along a chain does not cost a system call per step.
   */
  private readAt(offset: number, length: number, target: Uint8Array, targetStart: number): void {
    if (offset + length > this.physicalSize) throw new StatusError(Code.BROKEN_DATA_ERROR, `an access past the end of ${this.pathName}`)
    const index = Math.floor(offset / BLOCK_SIZE)
    const within = offset - index * BLOCK_SIZE
    if (length <= SMALL_READ && within + length <= BLOCK_SIZE) {
      const block = this.block(index)
      if (within + length <= block.length) {
        target.set(block.subarray(within, within + length), targetStart)
        return
      }
    }
    this.readDirect(offset, length, target, targetStart)
  }

  /** A cached block of the file (shorter at its end), read when missing. */
  private block(index: number): Buffer {
    let block = this.blocks.get(index)
    if (block === undefined) {
      const data = Buffer.allocUnsafe(BLOCK_SIZE)
      const n = this.readSome(data, BLOCK_SIZE, index * BLOCK_SIZE)
      block = data.subarray(0, n)
      if (this.blocks.size >= MAX_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!)
      this.blocks.set(index, block)
    }
    return block
  }

  /** Drops the cached blocks a write to [offset, offset + length) changes. */
  private dropBlocks(offset: number, length: number): void {
    if (this.blocks.size === 0) return
    const last = Math.floor((offset + length - 1) / BLOCK_SIZE)
    for (let index = Math.floor(offset / BLOCK_SIZE); index <= last; index++) this.blocks.delete(index)
  }

  private readSome(data: Uint8Array, length: number, position: number): number {
    try {
      return fs.readSync(this.fd, data, 0, length, position)
    } catch (error) {
      throw fromSystemError(error, `cannot read ${this.pathName}`)
    }
  }

  private readDirect(offset: number, length: number, target: Uint8Array, targetStart: number): void {
    let done = 0
    try {
      while (done < length) {
        const n = fs.readSync(this.fd, target, targetStart + done, length - done, offset + done)
        if (n <= 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `${this.pathName} ended while being read`)
        done += n
      }
    } catch (error) {
      throw fromSystemError(error, `cannot read ${this.pathName}`)
    }
  }

  /** Writes data[start, end) at the offset with system calls (the positional mode). */
  private writeAt(offset: number, data: Uint8Array, start: number, end: number): void {
    this.dropBlocks(offset, end - start)
    let done = start
    try {
      while (done < end) done += fs.writeSync(this.fd, data, done, end - done, offset + done - start)
    } catch (error) {
      throw fromSystemError(error, `cannot write ${this.pathName}`)
    }
  }

  /**
   * For writing [offset, offset + length) in place: the segment's buffer, with `base` set,
   * when the range lies within one segment; undefined otherwise. The size grows as if the
   * range were written.
   */
  writableSpan(offset: number, length: number): Buffer | undefined {
    const index = Math.floor(offset / SEGMENT_SIZE)
    const within = offset - index * SEGMENT_SIZE
    if (this.positional || within + length > SEGMENT_SIZE) return undefined
    if (this.snapshots.length > 0) this.preserve(offset, length)
    this.extendTo(offset + length)
    this.base = within
    return this.segment(index)
  }

  /** Writes a big-endian unsigned integer of `width` bytes (up to 6). */
  writeUint(offset: number, value: number, width: number): void {
    const index = Math.floor(offset / SEGMENT_SIZE)
    const within = offset - index * SEGMENT_SIZE
    if (within + width <= SEGMENT_SIZE && !this.positional) {
      if (this.snapshots.length > 0) this.preserve(offset, width)
      this.extendTo(offset + width)
      const data = this.segment(index)
      // Offsets below 2^32 (nearly all) take shifts; wider ones, arithmetic.
      if (value <= 0xffffffff) {
        for (let pos = within + width - 1; pos >= within; pos--) {
          data[pos] = value & 0xff
          value >>>= 8
        }
        return
      }
      for (let pos = within + width - 1; pos >= within; pos--) {
        data[pos] = value % 256
        value = Math.floor(value / 256)
      }
      return
    }
    const bytes = Buffer.allocUnsafe(width)
    bytes.writeUIntBE(value, 0, width)
    this.write(offset, bytes)
  }

  /** Reads a big-endian unsigned integer of `width` bytes (up to 6). */
  readUint(offset: number, width: number): number {
    const index = Math.floor(offset / SEGMENT_SIZE)
    let pos = offset - index * SEGMENT_SIZE
    if (pos + width > SEGMENT_SIZE || this.positional) return this.span(offset, width).readUIntBE(this.base, width)
    const data = this.segment(index)
    let value = 0
    for (const end = pos + width; pos < end; pos++) value = value * 256 + data[pos]
    return value
  }

  /**
   * Sets the logical size. Shrinking cuts the file on disk too, so that what lies past the
   * new end reads as zeros when the file grows again.
   */
  truncate(size: number): void {
    if (this.snapshots.length > 0 && size < this.logicalSize) this.finishSnapshots()
    if (size < this.physicalSize) {
      if (!this.writable) throw new StatusError(Code.PRECONDITION_ERROR, `${this.pathName} is open read-only`)
      this.modified = true
      this.unmapFrom(Math.floor(size / SEGMENT_SIZE))
      try {
        this.blocks.clear()
        fs.ftruncateSync(this.fd, size)
      } catch (error) {
        throw fromSystemError(error, `cannot truncate ${this.pathName}`)
      }
      this.physicalSize = size
    } else if (size > this.physicalSize) {
      this.reserve(size)
    }
    this.logicalSize = size
  }

  /**
   * Declares where the content ends, within the file, without changing the file: what
   * follows is padding, cut at the next synchronize or close if the file is written.
   */
  setContentSize(size: number): void {
    if (size > this.physicalSize) throw new StatusError(Code.BROKEN_DATA_ERROR, `${this.pathName} is shorter than its content`)
    this.logicalSize = size
  }

  /**
   * Cuts the padding off the end, so that the file on disk is its content; with hard,
   * waits until the device has every byte.
   */
  sync(hard: boolean): void {
    if (!this.writable || this.fd < 0) return
    this.trim()
    if (!hard) return
    try {
      this.segments.forEach((segment, index) => {
        if (segment === undefined) return
        const length = Math.max(0, Math.min(segment.length, this.logicalSize - index * SEGMENT_SIZE))
        const rc = addon.msync(segment, 0, length)
        if (rc !== 0) throw systemError(rc, 'msync')
      })
      fs.fsyncSync(this.fd)
    } catch (error) {
      throw fromSystemError(error, `cannot synchronize ${this.pathName}`)
    }
  }

  private trim(): void {
    if (this.physicalSize === this.logicalSize || !this.modified) return
    this.unmapFrom(Math.floor(this.logicalSize / SEGMENT_SIZE))
    try {
      this.blocks.clear()
      fs.ftruncateSync(this.fd, this.logicalSize)
    } catch (error) {
      throw fromSystemError(error, `cannot truncate ${this.pathName}`)
    }
    this.physicalSize = this.logicalSize
  }

  /** Cuts the padding and closes; the lock goes with the descriptor. */
  close(): void {
    if (this.fd < 0) return
    try {
      if (this.writable) this.trim()
    } finally {
      this.release()
    }
  }

  /** Closes leaving the file as it is, padding and all: what a crash would leave. */
  abandon(): void {
    if (this.fd >= 0) this.release()
  }

  private release(): void {
    this.finishSnapshots()
    this.unmapFrom(0)
    const fd = this.fd
    this.fd = -1
    forgetLock(fd, this.lockMode)
    fs.closeSync(fd)
  }

  /**
   * Takes a lock on a file opened without one: a new file about to be renamed over a
   * locked one takes the lock first, so that the path is never unguarded.
   */
  lock(mode: LockMode): void {
    if (this.lockMode !== 'none') throw new StatusError(Code.PRECONDITION_ERROR, `${this.pathName} is locked already`)
    lockDescriptor(this.fd, this.pathName, mode)
    this.lockMode = mode
  }
}

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit
}
