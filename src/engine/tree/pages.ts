import type {KeyOrder} from '../memory/bptree.js'
import {varintSize, writeVarint} from '../io/varint.js'
import {copyBytes, copyOut} from '../io/bytes.js'
import {Code, StatusError} from '../status.js'
import {PAGE_ID_WIDTH, readPageId, writePageId} from './format.js'

/** Bytes of a leaf's header: the previous and the next leaf's IDs. */
export const LEAF_HEADER_SIZE = PAGE_ID_WIDTH * 2

/** Reads a byte-delta size at pos in data[.., end); -1 when it runs past end or past 2^35. */
function sizeAt(data: Uint8Array, pos: number, end: number): number {
  let value = 0
  for (let i = 0; i < 5 && pos + i < end; i++) {
    const byte = data[pos + i]
    value = value * 128 + (byte & 0x7f)
    if (byte < 0x80) return value
  }
  return -1
}

/**
 * A leaf page, held in memory exactly as it is stored: the two sibling IDs, then its records
 * in key order, each a byte-delta key size, the key, a byte-delta value size and the value.
 * `starts` indexes the records, so a lookup is a binary search over the bytes themselves
 * and writing the page out is a slice of its buffer.
 */
export class LeafPage {
  dirty = false
  /** Used since the cache last looked (see TreeDBM's eviction). */
  used = false
  /** Pages that took records from this one and must be written before it (see TreeDBM's writeLeaf). */
  before: LeafPage[] | undefined

  private constructor(
    readonly id: number,
    private data: Buffer,
    /** Bytes in use: the page size Tkrzw counts (the header included). */
    public size: number,
    private starts: Int32Array<ArrayBuffer>,
    public count: number,
  ) {}

  static empty(id: number, prevId: number, nextId: number): LeafPage {
    const page = new LeafPage(id, Buffer.alloc(256), LEAF_HEADER_SIZE, new Int32Array(16), 0)
    page.prevId = prevId
    page.nextId = nextId
    page.dirty = true
    return page
  }

  /**
   * A page from its stored bytes, every size checked against the bytes there are: a
   * damaged page is BROKEN_DATA_ERROR, never an allocation sized by a corrupted field.
   */
  static parse(id: number, stored: Buffer): LeafPage {
    if (stored.length < LEAF_HEADER_SIZE) throw new StatusError(Code.BROKEN_DATA_ERROR, `leaf page ${id} is too short`)
    const data = Buffer.allocUnsafe(stored.length + 64)
    stored.copy(data)
    const end = stored.length
    let starts = new Int32Array(Math.max(16, end >> 4))
    let count = 0
    let pos = LEAF_HEADER_SIZE
    while (pos < end) {
      const keySize = sizeAt(data, pos, end)
      if (keySize < 0) throw brokenLeaf(id)
      const keyStart = pos + varintSize(keySize)
      const valuePos = keyStart + keySize
      const valueSize = valuePos < end ? sizeAt(data, valuePos, end) : -1
      if (valueSize < 0) throw brokenLeaf(id)
      const next = valuePos + varintSize(valueSize) + valueSize
      if (next > end) throw brokenLeaf(id)
      if (count === starts.length) starts = grow(starts, count * 2)
      starts[count++] = pos
      pos = next
    }
    return new LeafPage(id, data, end, starts, count)
  }

  // The sibling IDs live in the header bytes too; these copies spare reading them there.
  private prev = -1
  private next = -1

  get prevId(): number {
    if (this.prev < 0) this.prev = readPageId(this.data, 0)
    return this.prev
  }

  set prevId(id: number) {
    this.prev = id
    writePageId(this.data, 0, id)
  }

  get nextId(): number {
    if (this.next < 0) this.next = readPageId(this.data, PAGE_ID_WIDTH)
    return this.next
  }

  set nextId(id: number) {
    this.next = id
    writePageId(this.data, PAGE_ID_WIDTH, id)
  }

  /** The page as it is stored. */
  serialize(): Buffer {
    return this.data.subarray(0, this.size)
  }

  private keyStart(i: number): number {
    const start = this.starts[i]
    return this.data[start] < 0x80 ? start + 1 : start + varintSize(sizeAt(this.data, start, this.size))
  }

  private keySize(i: number): number {
    const start = this.starts[i]
    const first = this.data[start]
    return first < 0x80 ? first : sizeAt(this.data, start, this.size)
  }

  /** Compares a key with the key of record i (sign of key - that). */
  compareAt(order: KeyOrder, key: Buffer, i: number): number {
    const start = this.keyStart(i)
    return order.compareWith(key, this.data, start, start + this.keySize(i))
  }

  /**
   * Where the key is: its index when a record has it, else the index it would take,
   * complemented (~index, a negative number), so that a lookup allocates nothing.
   */
  search(order: KeyOrder, key: Buffer): number {
    if (order.bytewise) return this.searchBytes(key)
    let low = 0
    let high = this.count
    while (low < high) {
      const mid = (low + high) >>> 1
      const sign = this.compareAt(order, key, mid)
      if (sign === 0) return mid
      if (sign > 0) low = mid + 1
      else high = mid
    }
    return ~low
  }

  /** The same search in byte order, compared inline: the hot path of every lookup. */
  private searchBytes(key: Buffer): number {
    const data = this.data
    const starts = this.starts
    const keySize = key.length
    let low = 0
    let high = this.count
    // Keys arriving in order go after the last record: one comparison tells.
    if (high > 0 && this.compareBytesAt(key, high - 1) > 0) return ~high
    while (low < high) {
      const mid = (low + high) >>> 1
      let pos = starts[mid]
      let size = data[pos]
      if (size < 0x80) pos++
      else {
        size = sizeAt(data, pos, this.size)
        pos += varintSize(size)
      }
      const common = keySize < size ? keySize : size
      let sign = 0
      for (let i = 0; i < common; i++) {
        sign = key[i] - data[pos + i]
        if (sign !== 0) break
      }
      if (sign === 0) sign = keySize - size
      if (sign === 0) return mid
      if (sign > 0) low = mid + 1
      else high = mid
    }
    return ~low
  }

  private compareBytesAt(key: Buffer, i: number): number {
    const data = this.data
    let pos = this.starts[i]
    let size = data[pos]
    if (size < 0x80) pos++
    else {
      size = sizeAt(data, pos, this.size)
      pos += varintSize(size)
    }
    const keySize = key.length
    const common = keySize < size ? keySize : size
    for (let j = 0; j < common; j++) {
      const sign = key[j] - data[pos + j]
      if (sign !== 0) return sign
    }
    return keySize - size
  }

  key(i: number): Buffer {
    const start = this.keyStart(i)
    return copyOut(this.data, start, this.keySize(i))
  }

  private valuePos(i: number): number {
    return this.keyStart(i) + this.keySize(i)
  }

  value(i: number): Buffer {
    const pos = this.valuePos(i)
    const size = sizeAt(this.data, pos, this.size)
    return copyOut(this.data, pos + varintSize(size), size)
  }

  valueSize(i: number): number {
    return sizeAt(this.data, this.valuePos(i), this.size)
  }

  /** Bytes record i takes in the page. */
  recordSize(i: number): number {
    return (i + 1 < this.count ? this.starts[i + 1] : this.size) - this.starts[i]
  }

  /** Key and value bytes of record i, as the effective data size counts them. */
  dataSize(i: number): number {
    return this.keySize(i) + this.valueSize(i)
  }

  /** Makes room for `delta` more bytes (or fewer, when negative) at pos, moving what follows. */
  private resize(pos: number, delta: number, fromIndex: number): void {
    if (delta > 0 && this.size + delta > this.data.length) {
      // Grown a kilobyte at a time: pages are a few kilobytes, and slack in thousands of them is memory.
      const next = Buffer.allocUnsafe(Math.max(this.size + delta, this.data.length + 1024))
      this.data.copy(next, 0, 0, this.size)
      this.data = next
    }
    if (pos < this.size) this.data.copyWithin(pos + delta, pos, this.size)
    this.size += delta
    const starts = this.starts
    for (let j = fromIndex; j < this.count; j++) starts[j] += delta
    this.dirty = true
  }

  /** Inserts a record at index i (which search gave for its key). */
  insert(i: number, key: Uint8Array, value: Uint8Array): void {
    const size = varintSize(key.length) + key.length + varintSize(value.length) + value.length
    const pos = i < this.count ? this.starts[i] : this.size
    this.resize(pos, size, i)
    if (this.count === this.starts.length) this.starts = grow(this.starts, this.count * 2)
    if (i < this.count) this.starts.copyWithin(i + 1, i, this.count)
    this.starts[i] = pos
    this.count++
    this.writeRecord(pos, key, value)
  }

  private writeRecord(pos: number, key: Uint8Array, value: Uint8Array): void {
    const data = this.data
    const at = writeBytes(data, writeSize(data, pos, key.length), key)
    writeBytes(data, writeSize(data, at, value.length), value)
  }

  /** Replaces record i's value. */
  setValue(i: number, value: Uint8Array): void {
    const pos = this.valuePos(i)
    const oldSize = sizeAt(this.data, pos, this.size)
    const oldBytes = varintSize(oldSize) + oldSize
    const newBytes = varintSize(value.length) + value.length
    if (newBytes !== oldBytes) this.resize(pos + oldBytes, newBytes - oldBytes, i + 1)
    writeBytes(this.data, writeSize(this.data, pos, value.length), value)
    this.dirty = true
  }

  remove(i: number): void {
    const pos = this.starts[i]
    const bytes = this.recordSize(i)
    this.starts.copyWithin(i, i + 1, this.count)
    this.count--
    this.resize(pos + bytes, -bytes, i)
  }

  /** Moves the records from index `from` on into an empty page. */
  moveTailTo(from: number, other: LeafPage): void {
    const start = this.starts[from]
    other.appendBytes(this.data, start, this.size, this.starts, from, this.count)
    this.count = from
    this.size = start
    this.dirty = true
  }

  /** Appends every record of another page after this one's. */
  absorb(other: LeafPage): void {
    other.moveTailTo(0, this)
  }

  /** Appends records [fromIndex, toIndex) given as bytes [start, end) of their page. */
  private appendBytes(data: Buffer, start: number, end: number, starts: Int32Array, fromIndex: number, toIndex: number): void {
    const bytes = end - start
    if (this.size + bytes > this.data.length) {
      const next = Buffer.allocUnsafe(this.size + bytes + 64)
      this.data.copy(next, 0, 0, this.size)
      this.data = next
    }
    data.copy(this.data, this.size, start, end)
    const needed = this.count + (toIndex - fromIndex)
    if (needed > this.starts.length) this.starts = grow(this.starts, needed + 16)
    const shift = this.size - start
    for (let j = fromIndex; j < toIndex; j++) this.starts[this.count++] = starts[j] + shift
    this.size += bytes
    this.dirty = true
  }

  /** Lets go of spare room after a split, so that the cache holds about what the pages hold. */
  compact(): void {
    if (this.data.length > this.size * 2 + 256) {
      const next = Buffer.allocUnsafe(this.size + 64)
      this.data.copy(next, 0, 0, this.size)
      this.data = next
    }
  }
}

/** Writes a byte-delta size; returns the position after it. */
function writeSize(data: Buffer, pos: number, size: number): number {
  if (size < 0x80) {
    data[pos] = size
    return pos + 1
  }
  return writeVarint(data, pos, size)
}

/** Copies bytes in at pos; returns where they end. */
function writeBytes(data: Buffer, pos: number, bytes: Uint8Array): number {
  return copyBytes(bytes, 0, bytes.length, data, pos)
}

function grow(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size)
  next.set(array.subarray(0, Math.min(array.length, size)))
  return next
}

function brokenLeaf(id: number): StatusError {
  return new StatusError(Code.BROKEN_DATA_ERROR, `leaf page ${id} has a broken record`)
}

/**
 * An inner page: the heir (the child for keys below the first link) and links of a key and
 * the child holding the keys from it on, sorted by key.
 */
export class InnerPage {
  dirty = false
  used = false

  constructor(
    readonly id: number,
    public heirId: number,
    public keys: Buffer[] = [],
    public children: number[] = [],
  ) {}

  static parse(id: number, stored: Buffer): InnerPage {
    if (stored.length < PAGE_ID_WIDTH) throw new StatusError(Code.BROKEN_DATA_ERROR, `inner page ${id} is too short`)
    const page = new InnerPage(id, readPageId(stored, 0))
    const end = stored.length
    let pos = PAGE_ID_WIDTH
    while (pos < end) {
      const keySize = sizeAt(stored, pos, end)
      if (keySize < 0) throw brokenInner(id)
      const keyStart = pos + varintSize(keySize)
      const next = keyStart + keySize + PAGE_ID_WIDTH
      if (next > end) throw brokenInner(id)
      page.keys.push(Buffer.from(stored.subarray(keyStart, keyStart + keySize)))
      page.children.push(readPageId(stored, keyStart + keySize))
      pos = next
    }
    return page
  }

  serialize(): Buffer {
    let size = PAGE_ID_WIDTH
    for (const key of this.keys) size += varintSize(key.length) + key.length + PAGE_ID_WIDTH
    const buffer = Buffer.allocUnsafe(size)
    writePageId(buffer, 0, this.heirId)
    let pos = PAGE_ID_WIDTH
    for (let i = 0; i < this.keys.length; i++) {
      const key = this.keys[i]
      pos = writeVarint(buffer, pos, key.length)
      key.copy(buffer, pos)
      pos += key.length
      writePageId(buffer, pos, this.children[i])
      pos += PAGE_ID_WIDTH
    }
    return buffer
  }

  /** The index of the link whose child holds the key; -1 for the heir. */
  slotOf(order: KeyOrder, key: Buffer): number {
    let low = 0
    let high = this.keys.length
    const keys = this.keys
    // The last link whose key is not above the key.
    if (order.bytewise) {
      const keySize = key.length
      while (low < high) {
        const mid = (low + high) >>> 1
        const other = keys[mid]
        const size = other.length
        const common = keySize < size ? keySize : size
        let sign = 0
        for (let i = 0; i < common; i++) {
          sign = key[i] - other[i]
          if (sign !== 0) break
        }
        if (sign === 0) sign = keySize - size
        if (sign >= 0) low = mid + 1
        else high = mid
      }
      return low - 1
    }
    while (low < high) {
      const mid = (low + high) >>> 1
      if (order.compare(key, keys[mid]) >= 0) low = mid + 1
      else high = mid
    }
    return low - 1
  }

  childAt(slot: number): number {
    return slot < 0 ? this.heirId : this.children[slot]
  }

  /** The slot of a child by its ID (-1 for the heir), or undefined when it is not here. */
  slotOfChild(id: number): number | undefined {
    if (this.heirId === id) return -1
    const index = this.children.indexOf(id)
    return index < 0 ? undefined : index
  }

  /** Adds a link after the slot that held the key's range before it was split. */
  insertLink(order: KeyOrder, key: Buffer, child: number): void {
    const at = this.slotOf(order, key) + 1
    this.keys.splice(at, 0, key)
    this.children.splice(at, 0, child)
    this.dirty = true
  }

  removeLink(index: number): void {
    this.keys.splice(index, 1)
    this.children.splice(index, 1)
    this.dirty = true
  }
}

function brokenInner(id: number): StatusError {
  return new StatusError(Code.BROKEN_DATA_ERROR, `inner page ${id} has a broken link`)
}
