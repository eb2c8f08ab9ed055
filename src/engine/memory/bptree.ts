import type {KeyComparator} from '../comparators.js'

/**
 * An in-memory B+ tree of string keys and values. Leaves are linked both ways for ordered
 * scans; every insertion or removal bumps `version`, which lets cursors know whether a
 * remembered position is still good.
 */

export interface Leaf {
  leaf: true
  keys: string[]
  values: string[]
  prev: Leaf | null
  next: Leaf | null
}

interface Inner {
  leaf: false
  keys: string[]
  children: Node[]
}

type Node = Leaf | Inner

/** A place in the tree: a leaf and an index in it, normalised so it names a record. */
export interface Position {
  leaf: Leaf
  index: number
}

const LEAF_MAX = 128
const INNER_MAX = 128

function newLeaf(): Leaf {
  return {leaf: true, keys: [], values: [], prev: null, next: null}
}

export class BPlusTree {
  private root: Node = newLeaf()
  size = 0
  version = 0
  // The inner nodes and child indexes walked by the last descent, for splits and merges.
  private pathNodes: Inner[] = []
  private pathIndexes: number[] = []
  // How much of the path arrays the last descent filled (they are reused, never shrunk).
  private depth = 0

  constructor(readonly compare: KeyComparator) {}

  height(): number {
    let level = 1
    for (let node = this.root; !node.leaf; node = node.children[0]) level++
    return level
  }

  clear(): void {
    this.root = newLeaf()
    this.size = 0
    this.version++
  }

  /** The leaf where the key belongs, remembering the path to it. */
  private descend(key: string): Leaf {
    let depth = 0
    let node = this.root
    while (!node.leaf) {
      // The child index is the number of separators at or below the key.
      const keys = node.keys
      let lo = 0
      let hi = keys.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (this.compare(keys[mid], key) <= 0) lo = mid + 1
        else hi = mid
      }
      this.pathNodes[depth] = node
      this.pathIndexes[depth] = lo
      depth++
      node = node.children[lo]
    }
    this.depth = depth
    return node
  }

  /** First index in the leaf whose key is not below the key. */
  private leafLowerBound(leaf: Leaf, key: string): number {
    const keys = leaf.keys
    let lo = 0
    let hi = keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.compare(keys[mid], key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Locates a key: its leaf, the index where it is or would go, and whether it is there. */
  locate(key: string): {leaf: Leaf; index: number; found: boolean} {
    const leaf = this.descend(key)
    const index = this.leafLowerBound(leaf, key)
    return {leaf, index, found: index < leaf.keys.length && this.compare(leaf.keys[index], key) === 0}
  }

  get(key: string): string | undefined {
    const {leaf, index, found} = this.locate(key)
    return found ? leaf.values[index] : undefined
  }

  /** Inserts at a place `locate` just returned for the same key. */
  insertAt(leaf: Leaf, index: number, key: string, value: string): void {
    leaf.keys.splice(index, 0, key)
    leaf.values.splice(index, 0, value)
    this.size++
    this.version++
    if (leaf.keys.length > LEAF_MAX) this.splitLeaf(leaf, index)
  }

  private splitLeaf(leaf: Leaf, insertedAt: number): void {
    // Keys arriving in order fill leaves completely instead of leaving them half empty.
    const appending = insertedAt === leaf.keys.length - 1 && leaf.next === null
    const cut = appending ? leaf.keys.length - 1 : leaf.keys.length >>> 1
    const right: Leaf = {leaf: true, keys: leaf.keys.splice(cut), values: leaf.values.splice(cut), prev: leaf, next: leaf.next}
    if (leaf.next) leaf.next.prev = right
    leaf.next = right
    this.insertSeparator(this.depth - 1, right.keys[0], right)
  }

  /** Adds a separator and the child on its right into the inner node at a path depth. */
  private insertSeparator(depth: number, separator: string, child: Node): void {
    if (depth < 0) {
      this.root = {leaf: false, keys: [separator], children: [this.root, child]}
      return
    }
    const node = this.pathNodes[depth]
    const at = this.pathIndexes[depth]
    node.keys.splice(at, 0, separator)
    node.children.splice(at + 1, 0, child)
    if (node.keys.length > INNER_MAX) {
      const mid = node.keys.length >>> 1
      const up = node.keys[mid]
      const right: Inner = {leaf: false, keys: node.keys.splice(mid + 1), children: node.children.splice(mid + 1)}
      node.keys.length = mid
      this.insertSeparator(depth - 1, up, right)
    }
  }

  /** Removes the record at a place `locate` just returned. */
  removeAt(leaf: Leaf, index: number): void {
    leaf.keys.splice(index, 1)
    leaf.values.splice(index, 1)
    this.size--
    this.version++
    if (leaf.keys.length === 0 && leaf !== this.root) this.unlinkLeaf(leaf)
  }

  private unlinkLeaf(leaf: Leaf): void {
    if (leaf.prev) leaf.prev.next = leaf.next
    if (leaf.next) leaf.next.prev = leaf.prev
    for (let depth = this.depth - 1; depth >= 0; depth--) {
      const node = this.pathNodes[depth]
      const at = this.pathIndexes[depth]
      node.children.splice(at, 1)
      node.keys.splice(at > 0 ? at - 1 : 0, 1)
      if (node.children.length > 0) break
    }
    while (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]
    if (!this.root.leaf && this.root.children.length === 0) this.root = newLeaf()
  }

  private normalize(leaf: Leaf | null, index: number): Position | undefined {
    while (leaf && index >= leaf.keys.length) {
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
    while (leaf && leaf.keys.length === 0) leaf = leaf.prev
    return leaf ? {leaf, index: leaf.keys.length - 1} : undefined
  }

  /** The first record at or after the key (after it only, when not inclusive). */
  seekUpper(key: string, inclusive: boolean): Position | undefined {
    const {leaf, index, found} = this.locate(key)
    return this.normalize(leaf, found && !inclusive ? index + 1 : index)
  }

  /** The last record at or before the key (before it only, when not inclusive). */
  seekLower(key: string, inclusive: boolean): Position | undefined {
    const {leaf, index, found} = this.locate(key)
    return this.before(leaf, found && inclusive ? index + 1 : index)
  }

  /** The record just before an index of a leaf. */
  private before(leaf: Leaf | null, index: number): Position | undefined {
    while (leaf && index <= 0) {
      leaf = leaf.prev
      index = leaf ? leaf.keys.length : 0
    }
    return leaf ? {leaf, index: index - 1} : undefined
  }

  nextOf(pos: Position): Position | undefined {
    return this.normalize(pos.leaf, pos.index + 1)
  }

  previousOf(pos: Position): Position | undefined {
    return this.before(pos.leaf, pos.index)
  }

  *entries(): Generator<[string, string]> {
    for (let pos = this.first(); pos; pos = this.nextOf(pos)) yield [pos.leaf.keys[pos.index], pos.leaf.values[pos.index]]
  }
}
