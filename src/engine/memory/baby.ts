import {LEXICAL, findComparator, type NamedComparator} from '../comparators.js'
import {
  AppendTail,
  DBMIterator,
  NOOP,
  REMOVE,
  type DBM,
  type DBMIterator as Iterator,
  type InspectList,
  type ProcessResult,
  type RebuildParams,
  type RecordProcessor,
} from '../dbm.js'
import {ParamReader} from '../params.js'
import {BPlusTree, keyOrder, type Leaf, type Position} from './bptree.js'
import {MemoryDBM} from './memory-dbm.js'

const EMPTY = Buffer.alloc(0)

/** Runs a processor on the record at a leaf index (or on its absence). */
function processAt(leaf: Leaf, index: number, found: boolean, key: Buffer, processor: RecordProcessor): ProcessResult {
  return found ? processor.processFull(key, processor.ignoresValue ? EMPTY : leaf.value(index)) : processor.processEmpty(key)
}

/** The on-memory B+ tree database: records in key order, under a chosen comparator. */
export class BabyDBM extends MemoryDBM {
  readonly className: string = 'BabyDBM'
  readonly comparator: NamedComparator
  readonly tree: BPlusTree

  constructor(params: ParamReader = new ParamReader(new Map())) {
    super()
    const name = params.string('key_comparator')
    this.comparator = name === undefined ? LEXICAL : findComparator(name)
    this.tree = new BPlusTree(keyOrder(this.comparator))
  }

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const {leaf, index, found} = this.tree.locate(key)
    const result = processAt(leaf, index, found, key, processor)
    if (writable) storeAt(this.tree, leaf, index, found, key, result)
  }

  override compareKeys(a: Buffer, b: Buffer): number {
    return this.tree.order.compare(a, b)
  }

  protected makeIteratorImpl(): Iterator {
    return new TreeIterator(this, this.tree)
  }

  protected countImpl(): number {
    return this.tree.size
  }

  protected clearRecords(): void {
    this.tree.clear()
  }

  protected loadRecord(key: Buffer, value: Buffer): void {
    const {leaf, index, found} = this.tree.locate(key)
    storeAt(this.tree, leaf, index, found, key, value)
  }

  protected entries(): Iterable<[Buffer, Buffer]> {
    return this.tree.entries()
  }

  protected snapshotEntries(): Iterable<[Buffer, Buffer]> {
    return this.tree.snapshot()
  }

  protected metadata(): [string, string][] {
    return [['tree_level', String(this.tree.height())]]
  }

  protected rebuildImpl(params: RebuildParams = {}): void {
    ParamReader.fromObject(params).finish()
  }

  protected inspectImpl(): InspectList {
    return [...this.baseInspect(), ['tree_level', String(this.tree.height())]]
  }

  isOrdered(): boolean {
    return true
  }
}

/**
 * A cursor that remembers its key. The position it found is reused while the tree has
 * not changed shape; after any insertion or removal it seeks the key again.
 */
export class TreeIterator extends DBMIterator {
  private key: Buffer | undefined
  private pos: Position | undefined
  private version = -1

  constructor(
    owner: DBM,
    private readonly tree: BPlusTree,
  ) {
    super(owner)
  }

  private moveTo(pos: Position | undefined): void {
    this.pos = pos
    this.key = pos ? pos.leaf.key(pos.index) : undefined
    this.version = this.tree.version
  }

  /** The current position, re-found after the tree changed: the key, or the one after it. */
  private current(): Position | undefined {
    if (this.key === undefined) return undefined
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekUpper(this.key, true))
    return this.pos
  }

  protected firstImpl(): void {
    this.moveTo(this.tree.first())
  }

  protected lastImpl(): void {
    this.moveTo(this.tree.last())
  }

  protected jumpImpl(key: Buffer): void {
    this.moveTo(this.tree.seekUpper(key, true))
  }

  protected jumpLowerImpl(key: Buffer, inclusive: boolean): void {
    this.moveTo(this.tree.seekLower(key, inclusive))
  }

  protected jumpUpperImpl(key: Buffer, inclusive: boolean): void {
    this.moveTo(this.tree.seekUpper(key, inclusive))
  }

  protected nextImpl(): void {
    const key = this.key
    if (key === undefined) return
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekUpper(key, false))
    else this.moveTo(this.pos && this.tree.nextOf(this.pos))
  }

  protected previousImpl(): void {
    const key = this.key
    if (key === undefined) return
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekLower(key, false))
    else this.moveTo(this.pos && this.tree.previousOf(this.pos))
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    const pos = this.current()
    if (!pos) return false
    const {leaf, index} = pos
    const key = leaf.key(index)
    const result = processAt(leaf, index, true, key, processor)
    if (!writable) return true
    if (result === REMOVE) {
      // Removing needs the descent path, so go through the tree; then stand on the next key.
      const found = this.tree.locate(key)
      this.tree.removeAt(found.leaf, found.index)
      this.moveTo(this.tree.seekUpper(key, false))
    } else {
      storeAt(this.tree, leaf, index, true, key, result)
    }
    return true
  }
}

/** Applies a processor's answer at a leaf index that `locate` (or a cursor) just gave. */
function storeAt(tree: BPlusTree, leaf: Leaf, index: number, found: boolean, key: Buffer, result: ProcessResult): void {
  if (result === NOOP) return
  if (result === REMOVE) {
    if (found) tree.removeAt(leaf, index)
    return
  }
  if (result instanceof AppendTail) {
    if (found) leaf.appendValue(index, result.tail)
    else tree.insertAt(leaf, index, key, result.tail)
    return
  }
  if (found) leaf.setValue(index, result)
  else tree.insertAt(leaf, index, key, result)
}
