import type {NamedComparator} from '../comparators.js'
import {LEXICAL} from '../comparators.js'
import {copyBytes, copyOut} from '../io/bytes.js'

/**
 * An in-memory B+ tree whose leaves keep their records packed in one buffer each, so a
 * million records are a few thousand objects, not millions of strings. Leaves are linked
 * both ways for ordered scans; every insertion or removal bumps `version`, which lets
 * cursors know whether a remembered position is still good.
 */

const LEAF_MAX = 128
// Room for a full leaf (plus the record that splits it) of 8-byte keys and values.
const LEAF_BYTES = 2560
/** The smallest byte buffer a leaf gets when its records are packed anew. */
const LEAF_MIN_BYTES = 256
/** Where leaves pack their records before copying them back into their own buffers: one for all, up to this size. */
const SCRATCH_MAX = 64 << 10
let scratch = Buffer.allocUnsafeSlow(0)
/**
 * The slots a half of a split leaf starts with: its records and room for half as many
 * again. Keys arriving in random order leave leaves about 70% full on average, so slots
 * and bytes for a full leaf in each of them were a third of the tree's memory spent on
 * nothing; a leaf that fills up grows its slots once, to the full count.
 */
const SPLIT_SLOTS = (LEAF_MAX >>> 1) + (LEAF_MAX >>> 2) + 1
const INNER_MAX = 128

/** How keys are ordered: between whole keys, and between a key and one inside a leaf. */
export interface KeyOrder {
  /** Plain byte order, which searches may compare inline. */
  readonly bytewise: boolean
  compare(a: Buffer, b: Buffer): number
  /** The order of `key` against the bytes data[start, end), without copying them. */
  compareWith(key: Buffer, data: Buffer, start: number, end: number): number
}

const latin1Slice = (Buffer.prototype as unknown as {latin1Slice: (this: Buffer, start: number, end: number) => string}).latin1Slice

/** Byte order of a[aStart, aEnd) against b[bStart, bEnd); a loop beats the native call for short keys. */
function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aSize = aEnd - aStart
  const bSize = bEnd - bStart
  const size = aSize < bSize ? aSize : bSize
  if (size > 64) {
    const order = Buffer.compare(a.subarray(aStart, aStart + size), b.subarray(bStart, bStart + size))
    return order !== 0 ? order : aSize - bSize
  }
  for (let i = 0; i < size; i++) {
    const d = a[aStart + i] - b[bStart + i]
    if (d !== 0) return d
  }
  return aSize - bSize
}

/** Byte order compares in place; other comparators see latin1 strings (one character per byte). */
export function keyOrder(comparator: NamedComparator): KeyOrder {
  if (comparator === LEXICAL) {
    return {
      bytewise: true,
      compare: (a, b) => compareBytes(a, 0, a.length, b, 0, b.length),
      compareWith: (key, data, start, end) => compareBytes(key, 0, key.length, data, start, end),
    }
  }
  const compare = comparator.compare
  return {
    bytewise: false,
    compare: (a, b) => compare(latin1Slice.call(a, 0, a.length), latin1Slice.call(b, 0, b.length)),
    compareWith: (key, data, start, end) => compare(latin1Slice.call(key, 0, key.length), latin1Slice.call(data, start, end)),
  }
}

// A record's slot: where its key starts in the buffer, key size, value size, value room,
// and the key's first eight bytes as two words (see prefixWord).
const START = 0
const KEY_SIZE = 1
const VALUE_SIZE = 2
const ROOM = 3
const PREFIX_HIGH = 4
const PREFIX_LOW = 5
const SLOT = 6

/**
 * Four bytes of a key from `from` (zeros past its end), big-endian, with the top bit
 * flipped so that comparing the words as signed integers is comparing the bytes. Two of
 * them, kept in a leaf's slots, settle most comparisons in byte order without reading the
 * record's key: a search in a leaf touches one array instead of two.
 */
function prefixWord(key: Uint8Array, start: number, size: number, from: number): number {
  let word = 0
  for (let i = from; i < from + 4; i++) word = (word << 8) | (i < size ? key[start + i] : 0)
  return word ^ 0x80000000
}

export class Leaf {
  readonly leaf = true
  // Keys and values, back to back.
  private data: Buffer
  private used = 0
  private garbage = 0
  /** The records' slots in key order, SLOT numbers each; a leaf holds at most LEAF_MAX + 1. */
  private slots: Int32Array
  count = 0
  prev: Leaf | null = null
  next: Leaf | null = null

  /** A new leaf is sized for a full leaf of small records unless told otherwise. */
  constructor(slotCount = LEAF_MAX + 1, bytes = LEAF_BYTES) {
    this.data = Buffer.allocUnsafeSlow(bytes)
    this.slots = new Int32Array(slotCount * SLOT)
  }

  /** Compares a key with the key at index i (sign of key - that). */
  compareAt(order: KeyOrder, key: Buffer, i: number): number {
    const start = this.slots[i * SLOT + START]
    return order.compareWith(key, this.data, start, start + this.slots[i * SLOT + KEY_SIZE])
  }

  /**
   * compareAt for byte order, given the key's prefix words: the record's key is read only
   * when its first eight bytes are the same.
   */
  compareBytewiseAt(key: Buffer, high: number, low: number, i: number): number {
    const slot = i * SLOT
    const slots = this.slots
    const recordHigh = slots[slot + PREFIX_HIGH]
    if (high !== recordHigh) return high < recordHigh ? -1 : 1
    const recordLow = slots[slot + PREFIX_LOW]
    if (low !== recordLow) return low < recordLow ? -1 : 1
    const start = slots[slot + START]
    return compareBytes(key, 0, key.length, this.data, start, start + slots[slot + KEY_SIZE])
  }

  /** Called once, before the next change to the leaf: how a snapshot keeps the leaf as it was. */
  watcher: ((leaf: Leaf) => void) | null = null

  private beforeChange(): void {
    const watcher = this.watcher
    if (watcher === null) return
    this.watcher = null
    watcher(this)
  }

  /** Every record of the leaf, copied. */
  records(): [Buffer, Buffer][] {
    const found: [Buffer, Buffer][] = []
    for (let i = 0; i < this.count; i++) found.push([this.key(i), this.value(i)])
    return found
  }

  key(i: number): Buffer {
    const start = this.slots[i * SLOT + START]
    return copyOut(this.data, start, this.slots[i * SLOT + KEY_SIZE])
  }

  /** The key at index i, copied to be kept for long (a separator in an inner node). */
  keptKey(i: number): Buffer {
    const start = this.slots[i * SLOT + START]
    return keepBytes(this.data, start, this.slots[i * SLOT + KEY_SIZE])
  }

  value(i: number): Buffer {
    const start = this.slots[i * SLOT + START] + this.slots[i * SLOT + KEY_SIZE]
    return copyOut(this.data, start, this.slots[i * SLOT + VALUE_SIZE])
  }

  /**
   * Makes room for `bytes` more. When removed and moved records left enough garbage, the live
   * records are packed again in the same buffer; otherwise into a larger one with room to
   * spare. A new buffer for every packing would leave the old ones for the garbage
   * collector, which lets them pile up to tens of megabytes before it runs.
   */
  private reserve(bytes: number): void {
    if (this.used + bytes <= this.data.length) return
    const needed = this.used - this.garbage + bytes
    this.pack(needed <= this.data.length * 0.75 ? this.data.length : Math.max(LEAF_MIN_BYTES, Math.ceil(needed * 1.5)))
  }

  /** Packs the live records, in slot order, into a buffer of `size` bytes: this one when it is that size. */
  private pack(size: number): void {
    const inPlace = size === this.data.length && size <= SCRATCH_MAX
    if (inPlace && scratch.length < size) scratch = Buffer.allocUnsafeSlow(SCRATCH_MAX)
    const target = inPlace ? scratch : Buffer.allocUnsafeSlow(size)
    const data = this.data
    const slots = this.slots
    let pos = 0
    for (let i = 0; i < this.count; i++) {
      const start = slots[i * SLOT + START]
      slots[i * SLOT + START] = pos
      pos = copyBytes(data, start, slots[i * SLOT + KEY_SIZE] + slots[i * SLOT + ROOM], target, pos)
    }
    if (inPlace) scratch.copy(data, 0, 0, pos)
    else this.data = target
    this.used = pos
    this.garbage = 0
  }

  /** Stores key and value at the end of the buffer, with `room` bytes for the value, as record i's bytes. */
  private place(i: number, key: Uint8Array, keyStart: number, keySize: number, value: Uint8Array, valueStart: number, valueSize: number, room: number): void {
    this.reserve(keySize + room)
    const at = this.used
    copyBytes(value, valueStart, valueSize, this.data, copyBytes(key, keyStart, keySize, this.data, at))
    this.used += keySize + room
    const slot = i * SLOT
    this.slots[slot + START] = at
    this.slots[slot + KEY_SIZE] = keySize
    this.slots[slot + VALUE_SIZE] = valueSize
    this.slots[slot + ROOM] = room
    this.slots[slot + PREFIX_HIGH] = prefixWord(key, keyStart, keySize, 0)
    this.slots[slot + PREFIX_LOW] = prefixWord(key, keyStart, keySize, 4)
  }

  /** Opens an empty slot at i, moving the slots from i on one place up. */
  private openSlot(i: number): void {
    if ((this.count + 1) * SLOT > this.slots.length) {
      const grown = new Int32Array((LEAF_MAX + 1) * SLOT)
      grown.set(this.slots.subarray(0, this.count * SLOT))
      this.slots = grown
    }
    this.slots.copyWithin((i + 1) * SLOT, i * SLOT, this.count * SLOT)
    // Until placed, the slot holds nothing that a compaction could copy.
    this.slots.fill(0, i * SLOT, (i + 1) * SLOT)
    this.count++
  }

  insert(i: number, key: Uint8Array, value: Uint8Array): void {
    this.beforeChange()
    this.openSlot(i)
    this.place(i, key, 0, key.length, value, 0, value.length, value.length)
  }

  private recordBytes(i: number): number {
    return this.slots[i * SLOT + KEY_SIZE] + this.slots[i * SLOT + ROOM]
  }

  remove(i: number): void {
    this.beforeChange()
    this.garbage += this.recordBytes(i)
    this.slots.copyWithin(i * SLOT, (i + 1) * SLOT, this.count * SLOT)
    this.count--
  }

  setValue(i: number, value: Uint8Array): void {
    this.beforeChange()
    const slot = i * SLOT
    if (value.length <= this.slots[slot + ROOM]) {
      this.data.set(value, this.slots[slot + START] + this.slots[slot + KEY_SIZE])
      this.slots[slot + VALUE_SIZE] = value.length
      return
    }
    this.relocate(i, value, value.length, value.length)
  }

  /** Adds bytes to a value; the room doubles when it runs out, so appends stay linear. */
  appendValue(i: number, tail: Uint8Array): void {
    this.beforeChange()
    const slot = i * SLOT
    const size = this.slots[slot + VALUE_SIZE]
    const wanted = size + tail.length
    const valueStart = this.slots[slot + START] + this.slots[slot + KEY_SIZE]
    if (wanted <= this.slots[slot + ROOM]) {
      this.data.set(tail, valueStart + size)
      this.slots[slot + VALUE_SIZE] = wanted
      return
    }
    const joined = Buffer.allocUnsafe(wanted)
    this.data.copy(joined, 0, valueStart, valueStart + size)
    joined.set(tail, size)
    this.relocate(i, joined, wanted, wanted * 2)
  }

  /** Moves record i to fresh space with a new value; its old bytes become garbage. */
  private relocate(i: number, value: Uint8Array, valueSize: number, room: number): void {
    const key = this.key(i)
    const old = this.recordBytes(i)
    // While moving, the record must not be copied by a compaction as if it stayed.
    this.slots.fill(0, i * SLOT, (i + 1) * SLOT)
    this.place(i, key, 0, key.length, value, 0, valueSize, room)
    this.garbage += old
  }

  /**
   * Moves the records from index `cut` on into a new leaf linked after this one. With keys
   * arriving in order (`fillsUp`) the new leaf is the one they go on filling: it gets the
   * room a full leaf needs. Otherwise it gets room sized to what it holds (this one packs
   * its records again, in place, once it runs out of room).
   */
  splitOff(cut: number, fillsUp: boolean): Leaf {
    this.beforeChange()
    let right: Leaf
    if (fillsUp) {
      right = new Leaf()
    } else {
      let movedBytes = 0
      for (let i = cut; i < this.count; i++) movedBytes += this.recordBytes(i)
      right = new Leaf(SPLIT_SLOTS, Math.ceil(movedBytes * 1.5))
    }
    const slots = this.slots
    for (let i = cut; i < this.count; i++) {
      const j = right.count
      right.openSlot(j)
      const start = slots[i * SLOT + START]
      const keySize = slots[i * SLOT + KEY_SIZE]
      const valueSize = slots[i * SLOT + VALUE_SIZE]
      right.place(j, this.data, start, keySize, this.data, start + keySize, valueSize, valueSize)
      this.garbage += this.recordBytes(i)
    }
    this.count = cut
    right.prev = this
    right.next = this.next
    if (this.next) this.next.prev = right
    this.next = right
    return right
  }
}

/**
 * An inner node: separators and the children between them. Each separator's prefix words
 * sit in one typed array, so that a descent in byte order reads the separators themselves
 * only where their first eight bytes tie.
 */
class Inner {
  readonly leaf = false
  /** Two words per separator (see prefixWord); room for the one that splits a full node. */
  readonly prefixes = new Int32Array((INNER_MAX + 1) * 2)

  constructor(
    readonly keys: Buffer[],
    readonly children: Node[],
  ) {
    for (let i = 0; i < keys.length; i++) this.setPrefix(i, keys[i])
  }

  private setPrefix(i: number, key: Buffer): void {
    this.prefixes[i * 2] = prefixWord(key, 0, key.length, 0)
    this.prefixes[i * 2 + 1] = prefixWord(key, 0, key.length, 4)
  }

  /** The child where a key belongs, in byte order given its prefix words: the number of separators at or below it. */
  childIndexBytewise(key: Buffer, high: number, low: number): number {
    const keys = this.keys
    const prefixes = this.prefixes
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const separatorHigh = prefixes[mid * 2]
      const separatorLow = prefixes[mid * 2 + 1]
      let below: boolean
      if (separatorHigh !== high) below = separatorHigh < high
      else if (separatorLow !== low) below = separatorLow < low
      else below = compareBytes(keys[mid], 0, keys[mid].length, key, 0, key.length) <= 0
      if (below) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Adds a separator at index `at` and the child on its right. */
  insert(at: number, separator: Buffer, child: Node): void {
    this.prefixes.copyWithin((at + 1) * 2, at * 2, this.keys.length * 2)
    this.keys.splice(at, 0, separator)
    this.children.splice(at + 1, 0, child)
    this.setPrefix(at, separator)
  }

  /** Splits off the separators past the middle into a new node; returns the middle one, which goes up, and the new node. */
  split(): [Buffer, Inner] {
    const mid = this.keys.length >>> 1
    const up = this.keys[mid]
    const right = new Inner(this.keys.splice(mid + 1), this.children.splice(mid + 1))
    this.keys.length = mid
    return [up, right]
  }

  /** Takes out child `at` with the separator beside it (on its left, or on its right for the first child). */
  removeChild(at: number): void {
    const separator = at > 0 ? at - 1 : 0
    this.children.splice(at, 1)
    if (this.keys.length === 0) return
    this.prefixes.copyWithin(separator * 2, (separator + 1) * 2, this.keys.length * 2)
    this.keys.splice(separator, 1)
  }
}

type Node = Leaf | Inner

/** A place in the tree: a leaf and an index in it, normalised so it names a record. */
export interface Position {
  leaf: Leaf
  index: number
}

/** Where kept keys are copied: slabs that hold nothing else, handed out in pieces. */
const KEPT_SLAB = 16 << 10
let keptSlab = Buffer.allocUnsafeSlow(0)
let keptUsed = 0

/**
 * Copies bytes that will be kept for long. Node.js' shared pool, which Buffer.allocUnsafe
 * cuts small buffers from, keeps a whole 8 KB piece alive for as long as any buffer cut
 * from it is: one separator kept there held the garbage of the calls around it, some
 * megabytes over a tree of a million records. Kept copies go to slabs of their own instead
 * (a large one gets a buffer of its own).
 */
function keepBytes(data: Buffer, start: number, size: number): Buffer {
  if (size > KEPT_SLAB >>> 4) {
    const own = Buffer.allocUnsafeSlow(size)
    copyBytes(data, start, size, own, 0)
    return own
  }
  if (keptUsed + size > keptSlab.length) {
    keptSlab = Buffer.allocUnsafeSlow(KEPT_SLAB)
    keptUsed = 0
  }
  const out = keptSlab.subarray(keptUsed, keptUsed + size)
  copyBytes(data, start, size, out, 0)
  // Each piece starts on an 8-byte boundary, as the pool's do.
  keptUsed += (size + 7) & ~7
  return out
}

export class BPlusTree {
  private root: Node = new Leaf()
  size = 0
  version = 0
  // The inner nodes and child indexes walked by the last descent, for splits and merges.
  private pathNodes: Inner[] = []
  private pathIndexes: number[] = []
  // How much of the path arrays the last descent filled (they are reused, never shrunk).
  private depth = 0
  /** Whether the last key located went past the last record (keys are arriving in order). */
  private appending = false
  /** Bumped whenever nodes split, merge or go: a remembered path is good only within one shape. */
  private shape = 0
  private hint: Leaf | null = null
  private hintShape = -1
  private hintDepth = 0
  private readonly hintNodes: Inner[] = []
  private readonly hintIndexes: number[] = []
  private lastDescended: Leaf | null = null

  constructor(readonly order: KeyOrder) {}

  height(): number {
    let level = 1
    for (let node = this.root; !node.leaf; node = node.children[0]) level++
    return level
  }

  clear(): void {
    this.shape++
    this.root = new Leaf()
    this.size = 0
    this.version++
  }

  /** The leaf where the key belongs (null: the last leaf), remembering the path to it. */
  private descend(key: Buffer | null): Leaf {
    let depth = 0
    let node = this.root
    while (!node.leaf) {
      const at =
        key === null ? node.children.length - 1 : this.order.bytewise ? node.childIndexBytewise(key, this.keyHigh, this.keyLow) : this.childIndex(node, key)
      this.pathNodes[depth] = node
      this.pathIndexes[depth] = at
      depth++
      node = node.children[at]
    }
    this.depth = depth
    return node
  }

  /** The child of an inner node where the key belongs: the number of separators at or below it. */
  private childIndex(node: Inner, key: Buffer): number {
    const keys = node.keys
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.order.compare(keys[mid], key) <= 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * The leaf of the last full descent, when the key falls between its first and last
   * records and the tree's shape has not changed since: keys that come near each other
   * (in order, or in clusters) skip the inner levels. The path to it is restored too,
   * for a split or a removal that follows. A key outside the leaf turns the hint off until
   * a descent lands in the same leaf twice.
   */
  private hintedLeaf(key: Buffer): Leaf | undefined {
    const leaf = this.hint
    if (leaf === null || this.hintShape !== this.shape || leaf.count === 0) return undefined
    if (this.compareIn(leaf, key, 0) < 0 || this.compareIn(leaf, key, leaf.count - 1) > 0) {
      this.hint = null
      return undefined
    }
    for (let depth = 0; depth < this.hintDepth; depth++) {
      this.pathNodes[depth] = this.hintNodes[depth]
      this.pathIndexes[depth] = this.hintIndexes[depth]
    }
    this.depth = this.hintDepth
    return leaf
  }

  /** Keeps a descent's leaf and path as the hint when the descent before reached it too. */
  private remember(leaf: Leaf): void {
    const again = leaf === this.lastDescended
    this.lastDescended = leaf
    if (!again) return
    this.hint = leaf
    this.hintShape = this.shape
    this.hintDepth = this.depth
    for (let depth = 0; depth < this.depth; depth++) {
      this.hintNodes[depth] = this.pathNodes[depth]
      this.hintIndexes[depth] = this.pathIndexes[depth]
    }
  }

  /** The prefix words of the key being located, in byte order (see prefixWord). */
  private keyHigh = 0
  private keyLow = 0

  /** Compares the key being located with record i of a leaf. */
  private compareIn(leaf: Leaf, key: Buffer, i: number): number {
    return this.order.bytewise ? leaf.compareBytewiseAt(key, this.keyHigh, this.keyLow, i) : leaf.compareAt(this.order, key, i)
  }

  /** First index in the leaf whose key is not below the key being located. */
  private leafLowerBound(leaf: Leaf, key: Buffer): number {
    let lo = 0
    let hi = leaf.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compareIn(leaf, key, mid) > 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * Locates a key: its leaf, the index where it is or would go, and whether it is there.
   * Keys arriving in order land past the last record every time: while they do, one
   * comparison with the last key finds the place, instead of a search at every level.
   */
  locate(key: Buffer): {leaf: Leaf; index: number; found: boolean} {
    if (this.order.bytewise) {
      this.keyHigh = prefixWord(key, 0, key.length, 0)
      this.keyLow = prefixWord(key, 0, key.length, 4)
    }
    if (this.appending) {
      const last = this.descend(null)
      if (last.count > 0 && this.compareIn(last, key, last.count - 1) > 0) return {leaf: last, index: last.count, found: false}
      this.appending = false
    }
    const hinted = this.hintedLeaf(key)
    const leaf = hinted ?? this.descend(key)
    const index = this.leafLowerBound(leaf, key)
    if (index === leaf.count && leaf.next === null) this.appending = true
    if (!hinted) this.remember(leaf)
    return {leaf, index, found: index < leaf.count && this.compareIn(leaf, key, index) === 0}
  }

  /** Inserts at a place `locate` just returned for the same key. */
  insertAt(leaf: Leaf, index: number, key: Uint8Array, value: Uint8Array): void {
    leaf.insert(index, key, value)
    this.size++
    this.version++
    if (leaf.count > LEAF_MAX) this.splitLeaf(leaf, index)
  }

  private splitLeaf(leaf: Leaf, insertedAt: number): void {
    this.shape++
    // Keys arriving in order fill leaves completely instead of leaving them half empty.
    const appending = insertedAt === leaf.count - 1 && leaf.next === null
    const cut = appending ? leaf.count - 1 : leaf.count >>> 1
    const right = leaf.splitOff(cut, appending)
    this.insertSeparator(this.depth - 1, right.keptKey(0), right)
  }

  /** Adds a separator and the child on its right into the inner node at a path depth. */
  private insertSeparator(depth: number, separator: Buffer, child: Node): void {
    if (depth < 0) {
      this.root = new Inner([separator], [this.root, child])
      return
    }
    const node = this.pathNodes[depth]
    node.insert(this.pathIndexes[depth], separator, child)
    if (node.keys.length > INNER_MAX) {
      const [up, right] = node.split()
      this.insertSeparator(depth - 1, up, right)
    }
  }

  /** Removes the record at a place `locate` just returned. */
  removeAt(leaf: Leaf, index: number): void {
    leaf.remove(index)
    this.size--
    this.version++
    if (leaf.count === 0 && leaf !== this.root) this.unlinkLeaf(leaf)
  }

  private unlinkLeaf(leaf: Leaf): void {
    this.shape++
    if (leaf.prev) leaf.prev.next = leaf.next
    if (leaf.next) leaf.next.prev = leaf.prev
    for (let depth = this.depth - 1; depth >= 0; depth--) {
      const node = this.pathNodes[depth]
      node.removeChild(this.pathIndexes[depth])
      if (node.children.length > 0) break
    }
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]
    if (!this.root.leaf && this.root.children.length === 0) this.root = new Leaf()
  }

  private normalize(leaf: Leaf | null, index: number): Position | undefined {
    while (leaf && index >= leaf.count) {
      leaf = leaf.next
      index = 0
    }
    return leaf ? {leaf, index} : undefined
  }

  first(): Position | undefined {
    let node = this.root
    while (!node.leaf) node = node.children[0]
    return this.normalize(node, 0)
  }

  last(): Position | undefined {
    let node = this.root
    while (!node.leaf) node = node.children[node.children.length - 1]
    let leaf: Leaf | null = node
    while (leaf && leaf.count === 0) leaf = leaf.prev
    return leaf ? {leaf, index: leaf.count - 1} : undefined
  }

  /** The first record at or after the key (after it only, when not inclusive). */
  seekUpper(key: Buffer, inclusive: boolean): Position | undefined {
    const {leaf, index, found} = this.locate(key)
    return this.normalize(leaf, found && !inclusive ? index + 1 : index)
  }

  /** The last record at or before the key (before it only, when not inclusive). */
  seekLower(key: Buffer, inclusive: boolean): Position | undefined {
    const {leaf, index, found} = this.locate(key)
    return this.before(leaf, found && inclusive ? index + 1 : index)
  }

  /** The record just before an index of a leaf. */
  private before(leaf: Leaf | null, index: number): Position | undefined {
    while (leaf && index <= 0) {
      leaf = leaf.prev
      index = leaf ? leaf.count : 0
    }
    return leaf ? {leaf, index: index - 1} : undefined
  }

  nextOf(pos: Position): Position | undefined {
    return this.normalize(pos.leaf, pos.index + 1)
  }

  previousOf(pos: Position): Position | undefined {
    return this.before(pos.leaf, pos.index)
  }

  /**
   * Every record as it is now, in order, unchanged by later writes: copy-on-write by leaf.
   * The leaves of the moment are listed and watched; a leaf about to change first gives
   * its records to the snapshot, and the others are read as they are, unchanged. One
   * snapshot at a time (the database's saves take turns).
   */
  snapshot(): Iterable<[Buffer, Buffer]> {
    const leaves: Leaf[] = []
    const kept = new Map<Leaf, [Buffer, Buffer][]>()
    const keep = (leaf: Leaf) => kept.set(leaf, leaf.records())
    for (let leaf = this.first()?.leaf; leaf; leaf = leaf.next ?? undefined) {
      if (leaf.count === 0) continue
      leaves.push(leaf)
      leaf.watcher = keep
    }
    return (function* () {
      let at = 0
      try {
        for (; at < leaves.length; at++) {
          const leaf = leaves[at]
          // A leaf still watched is unchanged: read it whole now, before anything can change it.
          if (leaf.watcher === keep) leaf.watcher = null
          const records = kept.get(leaf) ?? leaf.records()
          kept.delete(leaf)
          yield* records
        }
      } finally {
        for (; at < leaves.length; at++) if (leaves[at].watcher === keep) leaves[at].watcher = null
      }
    })()
  }

  *entries(): Generator<[Buffer, Buffer]> {
    for (let pos = this.first(); pos; pos = this.nextOf(pos)) yield [pos.leaf.key(pos.index), pos.leaf.value(pos.index)]
  }
}
