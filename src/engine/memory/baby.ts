import {LEXICAL, findComparator, type NamedComparator} from '../comparators.js'
import {DBMIterator, REMOVE, toBuffer, type Bytes, type DBMIterator as Iterator, type InspectList, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {BPlusTree, type Position} from './bptree.js'
import {MemoryDBM} from './memory-dbm.js'
import {applyToStored, fromStored, toStored} from './stored.js'

/** The on-memory B+ tree database: records in key order, under a chosen comparator. */
export class BabyDBM extends MemoryDBM {
  readonly className = 'BabyDBM'
  readonly comparator: NamedComparator
  readonly tree: BPlusTree

  constructor(params: ParamReader = new ParamReader(new Map())) {
    super()
    const name = params.string('key_comparator')
    this.comparator = name === undefined ? LEXICAL : findComparator(name)
    this.tree = new BPlusTree(this.comparator.compare)
  }

  process(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const name = toStored(key)
    const {leaf, index, found} = this.tree.locate(name)
    const result = applyToStored(key, found ? leaf.values[index] : undefined, processor)
    if (!writable) return
    if (typeof result === 'string') {
      if (found) leaf.values[index] = result
      else this.tree.insertAt(leaf, index, name, result)
    } else if (result === REMOVE && found) {
      this.tree.removeAt(leaf, index)
    }
  }

  override compareKeys(a: Buffer, b: Buffer): number {
    return this.comparator.compare(a.toString('latin1'), b.toString('latin1'))
  }

  makeIterator(): Iterator {
    return new TreeIterator(this.tree)
  }

  count(): number {
    return this.tree.size
  }

  protected clearRecords(): void {
    this.tree.clear()
  }

  protected loadRecord(keyBytes: Buffer, valueBytes: Buffer): void {
    const key = toStored(keyBytes)
    const value = toStored(valueBytes)
    const {leaf, index, found} = this.tree.locate(key)
    if (found) leaf.values[index] = value
    else this.tree.insertAt(leaf, index, key, value)
  }

  protected entries(): Iterable<[string, string]> {
    return this.tree.entries()
  }

  protected metadata(): [string, string][] {
    return [['tree_level', String(this.tree.height())]]
  }

  rebuild(params: RebuildParams = {}): void {
    this.checkOpen()
    ParamReader.fromObject(params).finish()
  }

  inspect(): InspectList {
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
  private key: string | undefined
  private pos: Position | undefined
  private version = -1

  constructor(private readonly tree: BPlusTree) {
    super()
  }

  private moveTo(pos: Position | undefined): void {
    this.pos = pos
    this.key = pos ? pos.leaf.keys[pos.index] : undefined
    this.version = this.tree.version
  }

  /** The current position, re-found after the tree changed: the key, or the one after it. */
  private current(): Position | undefined {
    if (this.key === undefined) return undefined
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekUpper(this.key, true))
    return this.pos
  }

  first(): void {
    this.moveTo(this.tree.first())
  }

  last(): void {
    this.moveTo(this.tree.last())
  }

  jump(key: Bytes): void {
    this.moveTo(this.tree.seekUpper(toBuffer(key).toString('latin1'), true))
  }

  jumpLower(key: Bytes, inclusive = false): void {
    this.moveTo(this.tree.seekLower(toBuffer(key).toString('latin1'), inclusive))
  }

  jumpUpper(key: Bytes, inclusive = false): void {
    this.moveTo(this.tree.seekUpper(toBuffer(key).toString('latin1'), inclusive))
  }

  next(): void {
    const key = this.key
    if (key === undefined) return
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekUpper(key, false))
    else this.moveTo(this.pos && this.tree.nextOf(this.pos))
  }

  previous(): void {
    const key = this.key
    if (key === undefined) return
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekLower(key, false))
    else this.moveTo(this.pos && this.tree.previousOf(this.pos))
  }

  process(processor: RecordProcessor, writable: boolean): boolean {
    const pos = this.current()
    if (!pos) return false
    const {leaf, index} = pos
    const key = leaf.keys[index]
    const result = applyToStored(fromStored(key), leaf.values[index], processor)
    if (!writable) return true
    if (typeof result === 'string') {
      leaf.values[index] = result
    } else if (result === REMOVE) {
      // Removing needs the descent path, so go through the tree; then stand on the next key.
      const found = this.tree.locate(key)
      this.tree.removeAt(found.leaf, found.index)
      this.moveTo(this.tree.seekUpper(key, false))
    }
    return true
  }
}
