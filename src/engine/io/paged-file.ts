import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from '../status.js'

/** Bytes per cached page. Large enough that records rarely straddle two. */
export const PAGE_SIZE = 32768

export interface PagedFileOptions {
  writable: boolean
  /** Start from an empty file. */
  truncate?: boolean
  /** Bytes of pages kept in memory before clean pages are dropped. */
  cacheSize?: number
  /** Bytes of dirty pages held before they are written out without being asked. */
  dirtyLimit?: number
}

interface Page {
  data: Buffer
  dirty: boolean
  /** Set on every touch; the clock hand clears it and evicts pages found clear. */
  referenced: boolean
}

export const DEFAULT_CACHE_SIZE = 1 << 30
export const DEFAULT_DIRTY_LIMIT = 256 << 20

/**
 * A file read and written at offsets through an in-process page cache, so that a record
 * operation on a warm file is memory work, not a system call. Writes stay in the cache
 * until `flush`, which writes dirty pages in ascending order, contiguous runs in one call.
 * The logical size may run ahead of the size on disk until the next flush.
 */
export class PagedFile {
  readonly path: string
  readonly writable: boolean
  private fd: number
  // Indexed by page number; holes are pages not in memory.
  private pages: (Page | undefined)[] = []
  private resident = 0
  private readonly clock: number[] = []
  private clockHand = 0
  private dirtyPages: number[] = []
  private readonly maxPages: number
  private readonly maxDirty: number
  private diskSize: number
  private logicalSize: number
  // The page touched last: most record operations stay within one.
  private lastIndex = -1
  private lastPage: Page | undefined
  private scratch = Buffer.alloc(PAGE_SIZE)
  /** Where `span` placed the requested bytes in the buffer it returned. */
  base = 0

  private constructor(path: string, fd: number, writable: boolean, options: PagedFileOptions) {
    this.path = path
    this.fd = fd
    this.writable = writable
    this.maxPages = Math.max(16, Math.floor((options.cacheSize ?? DEFAULT_CACHE_SIZE) / PAGE_SIZE))
    this.maxDirty = Math.max(8, Math.floor((options.dirtyLimit ?? DEFAULT_DIRTY_LIMIT) / PAGE_SIZE))
    this.diskSize = fs.fstatSync(fd).size
    this.logicalSize = this.diskSize
  }

  static open(path: string, options: PagedFileOptions): PagedFile {
    let flags = 'r'
    if (options.writable) flags = options.truncate ? 'w+' : fs.existsSync(path) ? 'r+' : 'w+'
    let fd: number
    try {
      fd = fs.openSync(path, flags, 0o644)
    } catch (error) {
      throw fromSystemError(error, `cannot open ${path}`)
    }
    try {
      if (fs.fstatSync(fd).isDirectory()) throw new StatusError(Code.SYSTEM_ERROR, `${path} is a directory`)
      return new PagedFile(path, fd, options.writable, options)
    } catch (error) {
      fs.closeSync(fd)
      throw fromSystemError(error, `cannot open ${path}`)
    }
  }

  get size(): number {
    return this.logicalSize
  }

  /** Bytes of cached pages not yet written. */
  get dirtyBytes(): number {
    return this.dirtyPages.length * PAGE_SIZE
  }

  private page(index: number): Page {
    if (index === this.lastIndex) return this.lastPage as Page
    let page = index < this.pages.length ? this.pages[index] : undefined
    if (page === undefined) page = this.load(index)
    page.referenced = true
    this.lastIndex = index
    this.lastPage = page
    return page
  }

  private load(index: number): Page {
    if (this.resident >= this.maxPages) this.evict()
    const data = Buffer.alloc(PAGE_SIZE)
    const start = index * PAGE_SIZE
    if (start < this.diskSize) {
      const want = Math.min(PAGE_SIZE, this.diskSize - start)
      let done = 0
      try {
        while (done < want) {
          const n = fs.readSync(this.fd, data, done, want - done, start + done)
          if (n === 0) break
          done += n
        }
      } catch (error) {
        throw fromSystemError(error, `cannot read ${this.path}`)
      }
    }
    const page: Page = {data, dirty: false, referenced: true}
    while (this.pages.length <= index) this.pages.push(undefined)
    this.pages[index] = page
    this.resident++
    this.clock.push(index)
    return page
  }

  /** Drops one page the clock finds unreferenced, writing it first when dirty. */
  private evict(): void {
    for (;;) {
      if (this.clockHand >= this.clock.length) this.clockHand = 0
      const index = this.clock[this.clockHand]
      const page = this.pages[index]
      if (page === undefined) {
        this.clock.splice(this.clockHand, 1)
        continue
      }
      if (page.referenced) {
        page.referenced = false
        this.clockHand++
        continue
      }
      if (page.dirty) this.flush()
      this.pages[index] = undefined
      this.resident--
      this.clock[this.clockHand] = this.clock[this.clock.length - 1]
      this.clock.pop()
      if (this.lastIndex === index) {
        this.lastIndex = -1
        this.lastPage = undefined
      }
      return
    }
  }

  /**
   * The bytes [offset, offset + length) as a buffer and `base`, the position they start at
   * in it. The buffer is only valid until the next call on this file; copy what you keep.
   */
  span(offset: number, length: number): Buffer {
    const index = Math.floor(offset / PAGE_SIZE)
    const within = offset - index * PAGE_SIZE
    if (within + length <= PAGE_SIZE) {
      this.base = within
      return this.page(index).data
    }
    if (this.scratch.length < length) this.scratch = Buffer.alloc(Math.max(length, this.scratch.length * 2))
    this.copyOut(offset, length, this.scratch, 0)
    this.base = 0
    return this.scratch
  }

  /** A fresh copy of [offset, offset + length). */
  read(offset: number, length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    if (length <= 64) {
      // Short copies are cheaper byte by byte than through the native copy.
      const index = Math.floor(offset / PAGE_SIZE)
      const within = offset - index * PAGE_SIZE
      if (within + length <= PAGE_SIZE) {
        const data = this.page(index).data
        for (let i = 0; i < length; i++) out[i] = data[within + i]
        return out
      }
    }
    this.copyOut(offset, length, out, 0)
    return out
  }

  copyOut(offset: number, length: number, target: Uint8Array, targetStart: number): void {
    let done = 0
    while (done < length) {
      const position = offset + done
      const index = Math.floor(position / PAGE_SIZE)
      const within = position - index * PAGE_SIZE
      const n = Math.min(length - done, PAGE_SIZE - within)
      const data = this.page(index).data
      data.copy(target, targetStart + done, within, within + n)
      done += n
    }
  }

  /** Writes data[start, end) at the offset, growing the logical size when it reaches past it. */
  write(offset: number, data: Uint8Array, start = 0, end = data.length): void {
    let done = 0
    const length = end - start
    while (done < length) {
      const position = offset + done
      const index = Math.floor(position / PAGE_SIZE)
      const within = position - index * PAGE_SIZE
      const n = Math.min(length - done, PAGE_SIZE - within)
      const page = this.page(index)
      const source = data.subarray(start + done, start + done + n)
      page.data.set(source, within)
      this.markDirty(index, page)
      done += n
    }
    if (offset + length > this.logicalSize) this.logicalSize = offset + length
  }

  /**
   * For writing [offset, offset + length) in place: the page's buffer, with `base` set,
   * when the range lies within one page; undefined otherwise. The page is marked dirty and
   * the size grows as if the range were written.
   */
  writableSpan(offset: number, length: number): Buffer | undefined {
    const index = Math.floor(offset / PAGE_SIZE)
    const within = offset - index * PAGE_SIZE
    if (within + length > PAGE_SIZE) return undefined
    const page = this.page(index)
    this.markDirty(index, page)
    if (offset + length > this.logicalSize) this.logicalSize = offset + length
    this.base = within
    return page.data
  }

  /** Writes a big-endian unsigned integer of `width` bytes (up to 6). */
  writeUint(offset: number, value: number, width: number): void {
    const original = value
    const index = Math.floor(offset / PAGE_SIZE)
    const within = offset - index * PAGE_SIZE
    if (within + width <= PAGE_SIZE) {
      const page = this.page(index)
      const data = page.data
      for (let pos = within + width - 1; pos >= within; pos--) {
        data[pos] = value % 256
        value = Math.floor(value / 256)
      }
      this.markDirty(index, page)
      if (offset + width > this.logicalSize) this.logicalSize = offset + width
      return
    }
    const bytes = Buffer.allocUnsafe(width)
    bytes.writeUIntBE(original, 0, width)
    this.write(offset, bytes)
  }

  /** Reads a big-endian unsigned integer of `width` bytes (up to 6). */
  readUint(offset: number, width: number): number {
    const index = Math.floor(offset / PAGE_SIZE)
    let pos = offset - index * PAGE_SIZE
    if (pos + width > PAGE_SIZE) return this.span(offset, width).readUIntBE(this.base, width)
    const data = this.page(index).data
    let value = 0
    for (const end = pos + width; pos < end; pos++) value = value * 256 + data[pos]
    return value
  }

  private markDirty(index: number, page: Page): void {
    if (page.dirty) return
    page.dirty = true
    this.dirtyPages.push(index)
    if (this.dirtyPages.length >= this.maxDirty) this.flush()
  }

  /** Sets the logical size; cached bytes beyond it are dropped from the next flush. */
  truncate(size: number): void {
    if (size < this.logicalSize) {
      // Clear the tail of the page holding the new end so that growing again reads zeros.
      const index = Math.floor(size / PAGE_SIZE)
      this.pages[index]?.data.fill(0, size - index * PAGE_SIZE)
      for (let i = index + 1; i < this.pages.length; i++) this.pages[i]?.data.fill(0)
    }
    this.logicalSize = size
  }

  /** Writes every dirty page, in ascending order and contiguous runs in one call each. */
  flush(): void {
    if (!this.writable) return
    const dirty = this.dirtyPages.sort((a, b) => a - b)
    this.dirtyPages = []
    try {
      let i = 0
      while (i < dirty.length) {
        let j = i + 1
        while (j < dirty.length && dirty[j] === dirty[j - 1] + 1) j++
        const start = dirty[i] * PAGE_SIZE
        if (start < this.logicalSize) {
          const buffers: Buffer[] = []
          for (let k = i; k < j; k++) {
            const page = this.pages[dirty[k]]!
            page.dirty = false
            const pageStart = dirty[k] * PAGE_SIZE
            if (pageStart >= this.logicalSize) break
            buffers.push(pageStart + PAGE_SIZE > this.logicalSize ? page.data.subarray(0, this.logicalSize - pageStart) : page.data)
          }
          writeAll(this.fd, buffers, start)
          const end = start + buffers.reduce((sum, b) => sum + b.length, 0)
          if (end > this.diskSize) this.diskSize = end
        } else {
          for (let k = i; k < j; k++) this.pages[dirty[k]]!.dirty = false
        }
        i = j
      }
      if (this.diskSize !== this.logicalSize) {
        fs.ftruncateSync(this.fd, this.logicalSize)
        this.diskSize = this.logicalSize
      }
    } catch (error) {
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
  }

  /** Flushes, and with hard, waits until the device has the data. */
  sync(hard: boolean): void {
    this.flush()
    if (hard && this.writable) {
      try {
        fs.fsyncSync(this.fd)
      } catch (error) {
        throw fromSystemError(error, `cannot synchronize ${this.path}`)
      }
    }
  }

  /** Writes directly to the file, bypassing and updating the cache: for the header, which must reach the disk at once. */
  writeThrough(offset: number, data: Buffer): void {
    this.write(offset, data)
    for (let index = Math.floor(offset / PAGE_SIZE); index * PAGE_SIZE < offset + data.length; index++) {
      const page = this.pages[index]
      if (page) page.dirty = false
    }
    this.dirtyPages = this.dirtyPages.filter((index) => this.pages[index]?.dirty === true)
    try {
      writeAll(this.fd, [data], offset)
      if (offset + data.length > this.diskSize) this.diskSize = offset + data.length
    } catch (error) {
      throw fromSystemError(error, `cannot write ${this.path}`)
    }
  }

  /** Drops every cached page without writing it. */
  discard(): void {
    this.pages = []
    this.resident = 0
    this.clock.length = 0
    this.dirtyPages = []
    this.lastIndex = -1
    this.lastPage = undefined
    this.logicalSize = this.diskSize
  }

  close(): void {
    if (this.fd < 0) return
    try {
      this.flush()
    } finally {
      const fd = this.fd
      this.fd = -1
      this.pages = []
      this.resident = 0
      this.clock.length = 0
      this.lastIndex = -1
      this.lastPage = undefined
      fs.closeSync(fd)
    }
  }

  /** Closes without writing cached changes: what a crash would leave, for tests and failed opens. */
  abandon(): void {
    if (this.fd < 0) return
    this.discard()
    fs.closeSync(this.fd)
    this.fd = -1
  }
}

function writeAll(fd: number, buffers: Buffer[], position: number): void {
  let offset = position
  let rest = buffers
  while (rest.length > 0) {
    let written = fs.writevSync(fd, rest, offset)
    offset += written
    const next: Buffer[] = []
    for (const buffer of rest) {
      if (written >= buffer.length) {
        written -= buffer.length
      } else {
        next.push(written > 0 ? buffer.subarray(written) : buffer)
        written = 0
      }
    }
    rest = next
  }
}
