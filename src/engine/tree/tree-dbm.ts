import * as fs from 'node:fs'
import {LEXICAL, findComparator, type NamedComparator} from '../comparators.js'
import {
  AppendTail,
  DBM,
  DBMIterator,
  NOOP,
  REMOVE,
  type InspectList,
  type OpenOptions,
  type ProcessResult,
  copyFileInSlices,
  nextTurn,
  TouchedKeys,
  temporaryCopyPath,
  type RebuildParams,
  type RebuildProgress,
  type RecordProcessor,
} from '../dbm.js'
import {HashDBM, readOpaqueMetadata} from '../hash/hash-dbm.js'
import {OP_REMOVE} from '../hash/format.js'
import {salvageRecords} from '../hash/restore.js'
import {defaultTuning, readHashTuning, type HashTuning} from '../hash/tuning.js'
import {keyOrder, type KeyOrder} from '../memory/bptree.js'
import {ParamReader} from '../params.js'
import {Code, StatusError, fromSystemError} from '../status.js'
import {
  DEFAULT_MAX_BRANCHES,
  DEFAULT_MAX_CACHED_PAGES,
  DEFAULT_MAX_PAGE_SIZE,
  INNER_ID_BASE,
  LEAF_ID_BASE,
  MAX_TREE_LEVEL,
  PAGE_ID_WIDTH,
  TREE_DEFAULT_ALIGN_POW,
  TREE_DEFAULT_NUM_BUCKETS,
  comparatorCode,
  comparatorOfCode,
  decodeTreeMeta,
  encodeTreeMeta,
  isBlankMeta,
  isInnerId,
  isLeafId,
  pageKey,
  readPageId,
} from './format.js'
import {InnerPage, LeafPage} from './pages.js'

const EMPTY = Buffer.alloc(0)

/** TreeDBM's tuning: its hash file's, with the tree's defaults, and the tree's own. */
export interface TreeTuning {
  hash: HashTuning
  /** -1: as the file says, or the default. */
  maxPageSize: number
  maxBranches: number
  maxCachedPages: number
  /** Every page change written at once (page_update_write) rather than at eviction and synchronize. */
  writeThrough: boolean
  /** undefined: as the file says, or lexical. */
  comparator: NamedComparator | undefined
}

const PAGE_UPDATE_MODES = {
  none: ['page_update_none', 'none'],
  write: ['page_update_write', 'write'],
}

/** Takes TreeDBM's parameters (its hash file's included) off a reader. */
export function readTreeTuning(params: ParamReader, base?: TreeTuning): TreeTuning {
  const hashBase = base?.hash ?? {...defaultTuning(), alignPow: TREE_DEFAULT_ALIGN_POW, numBuckets: TREE_DEFAULT_NUM_BUCKETS}
  // Pages are never written over themselves: a kill mid-write leaves the old version whole.
  // The file is read with system calls: the page cache here holds what a mapping would.
  const hash = {...readHashTuning(params, hashBase), writeAside: true, positionalIO: true}
  const comparatorName = params.string('key_comparator')
  return {
    hash,
    maxPageSize: params.int('max_page_size', base?.maxPageSize ?? -1, 1),
    maxBranches: params.int('max_branches', base?.maxBranches ?? -1, 2),
    maxCachedPages: params.int('max_cached_pages', base?.maxCachedPages ?? DEFAULT_MAX_CACHED_PAGES, 1),
    writeThrough: params.choice('page_update_mode', base?.writeThrough ? 'write' : 'none', PAGE_UPDATE_MODES) === 'write',
    comparator: comparatorName === undefined ? base?.comparator : namedComparator(comparatorName),
  }
}

/** A comparator by name, the byte order being the one shared object (its compare runs in place). */
function namedComparator(name: string): NamedComparator {
  const found = findComparator(name)
  return found.name === LEXICAL.name ? LEXICAL : found
}

/** Where a cursor stands: a leaf page and a record index in it. */
interface Position {
  page: LeafPage
  index: number
}

/**
 * The file B+ tree (Tkrzw's TreeDBM): a B+ tree whose pages are records of a hash file.
 * Leaf pages hold the records in key order and are linked both ways; inner pages route a
 * key to its leaf. Pages are cached, bounded by max_cached_pages, and written at eviction
 * and at synchronize (or at every change with page_update_mode=write). A page that takes
 * records from another (a split or a merge) reaches the file before the giver changes
 * there, so that after a crash every record synchronized is still in some leaf, where the
 * restore finds it.
 */
export class TreeDBM extends DBM {
  readonly className = 'TreeDBM'
  private tuning: TreeTuning
  private hash: HashDBM | undefined
  private comparator: NamedComparator = LEXICAL
  private order: KeyOrder = keyOrder(LEXICAL)
  private writable = false
  private autoRestored = false

  private numRecords = 0
  private effDataSize = 0
  private rootId = 0
  private firstId = 0
  private lastId = 0
  private numLeafNodes = 0
  private numInnerNodes = 0
  private treeLevel = 0
  private maxPageSize = DEFAULT_MAX_PAGE_SIZE
  private maxBranches = DEFAULT_MAX_BRANCHES
  private appOpaque: Buffer = Buffer.alloc(10)
  /** Whether anything changed since the metadata was last written. */
  private changed = false

  /** Cached pages, oldest first (see evict). */
  private readonly leaves = new Map<number, LeafPage>()
  private readonly inners = new Map<number, InnerPage>()
  /** Pages changed by the operation under way, written at its end with page_update_mode=write. */
  private readonly pending = new Set<LeafPage | InnerPage>()
  /** Bumped by every write, so that cursors know their remembered index may have moved. */
  version = 0
  /** Keys written while a sliced rebuild copies records; see rebuildInSlicesImpl. */
  private touchedDuringRebuild: TouchedKeys | undefined
  /** The leaf the last record operation used (see leafFor). */
  private hint: LeafPage | undefined
  /** Misses of the hint in a row, and a counter that spaces out its checks after many. */
  private hintMisses = 0
  private hintSkips = 0
  /** Whether `path` holds the descent to the current operation's leaf. */
  private pathReady = false
  /** The inner pages an operation descended through, root first. */
  private readonly path: number[] = []

  constructor(params: ParamReader | TreeTuning = new ParamReader(new Map())) {
    super()
    this.tuning = params instanceof ParamReader ? readTreeTuning(params) : params
  }

  // ---- lifecycle ----

  protected openImpl(path: string, writable: boolean, options: OpenOptions): void {
    if (path === '') throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'a tree database needs a file path')
    const mode = this.tuning.hash.restoreMode
    // The hash file is opened as it is: an unclean one is restored by the tree, from every
    // intact version of every leaf page, rather than by the hash file's own restore, which
    // keeps one version of each record.
    let hash = new HashDBM({...this.tuning.hash, restoreMode: 'read_only'})
    hash.open(path, writable, options)
    this.autoRestored = false
    try {
      if (writable && !hash.isHealthy() && mode !== 'read_only') {
        hash.close()
        if (mode !== 'noop') {
          const temp = `${path}.tmp.restore`
          fs.rmSync(temp, {force: true})
          TreeDBM.salvage(path, temp, mode === 'sync' ? 0 : -1, this.tuning, false)
          fs.renameSync(temp, path)
          this.autoRestored = true
        }
        hash = new HashDBM({...this.tuning.hash, restoreMode: 'noop'})
        hash.open(path, true, options)
      }
      this.attach(hash, writable && hash.isWritable())
    } catch (error) {
      if (hash.isOpen()) hash.close()
      throw error
    }
  }

  private attach(hash: HashDBM, writable: boolean): void {
    this.hash = hash
    this.writable = writable
    this.leaves.clear()
    this.inners.clear()
    this.pending.clear()
    this.version++
    const opaque = hash.getOpaqueMetadata()
    if (hash.count() === 0 && isBlankMeta(opaque)) {
      this.comparator = this.tuning.comparator ?? LEXICAL
      this.maxPageSize = this.tuning.maxPageSize > 0 ? this.tuning.maxPageSize : DEFAULT_MAX_PAGE_SIZE
      this.maxBranches = this.tuning.maxBranches > 0 ? this.tuning.maxBranches : DEFAULT_MAX_BRANCHES
      this.appOpaque = Buffer.alloc(10)
      this.startEmpty()
    } else {
      const meta = decodeTreeMeta(opaque)
      this.comparator = comparatorOfCode(meta.comparatorCode)
      if (this.comparator.name === LEXICAL.name) this.comparator = LEXICAL
      this.numRecords = meta.numRecords
      this.effDataSize = meta.effDataSize
      this.rootId = meta.rootId
      this.firstId = meta.firstId
      this.lastId = meta.lastId
      this.numLeafNodes = meta.numLeafNodes
      this.numInnerNodes = meta.numInnerNodes
      this.maxPageSize = meta.maxPageSize
      this.maxBranches = meta.maxBranches
      this.treeLevel = meta.treeLevel
      this.appOpaque = meta.opaque
      this.changed = false
    }
    this.order = keyOrder(this.comparator)
  }

  /** An empty tree: one leaf, which is the root, the first and the last. */
  private startEmpty(): void {
    this.numRecords = 0
    this.effDataSize = 0
    this.numLeafNodes = 0
    this.numInnerNodes = 0
    const root = this.newLeaf(0, 0)
    this.rootId = root.id
    this.firstId = root.id
    this.lastId = root.id
    this.treeLevel = 1
    this.changed = true
  }

  protected closeImpl(): void {
    const hash = this.hash!
    try {
      if (this.writable) this.saveAll()
    } finally {
      this.leaves.clear()
      this.inners.clear()
      this.pending.clear()
      this.hash = undefined
      hash.close()
    }
  }

  /** Writes every changed page and the metadata. */
  private saveAll(): void {
    if (!this.changed) return
    for (const page of this.leaves.values()) if (page.dirty) this.writeLeaf(page)
    for (const page of this.inners.values()) if (page.dirty) this.writeInner(page)
    this.hash!.setOpaqueMetadata(this.encodeMeta())
    this.changed = false
  }

  /** The tree's metadata as the hash file's opaque bytes hold it. */
  private encodeMeta(): Buffer {
    return encodeTreeMeta({
      numRecords: this.numRecords,
      effDataSize: this.effDataSize,
      rootId: this.rootId,
      firstId: this.firstId,
      lastId: this.lastId,
      numLeafNodes: this.numLeafNodes,
      numInnerNodes: this.numInnerNodes,
      maxPageSize: this.maxPageSize,
      maxBranches: this.maxBranches,
      treeLevel: this.treeLevel,
      comparatorCode: comparatorCode(this.comparator),
      opaque: this.appOpaque,
    })
  }

  protected synchronizeImpl(hard: boolean): void {
    if (!this.writable) return
    this.saveAll()
    this.hash!.synchronize(hard)
  }

  /** The same, with the changed pages written in slices first: what is left for the last step is what changed meanwhile. */
  protected override async synchronizeInSlicesImpl(hard: boolean): Promise<void> {
    if (!this.writable) return
    if (!(await this.savePagesInSlices())) return
    this.saveAll()
    this.hash!.synchronize(hard)
  }

  /**
   * A consistent copy while writers go on, of the moment of the call: the hash file is
   * copied through its copy-on-write snapshot, and the pages changed in memory (copied
   * at that same moment) and the metadata are written into the copy afterwards.
   */
  protected override async copyFileDataInSlicesImpl(dest: string, hard: boolean): Promise<void> {
    if (!this.writable) return copyFileInSlices(this.getFilePath(), dest, hard)
    const pages: [number, Buffer][] = []
    for (const page of this.leaves.values()) if (page.dirty) pages.push([page.id, Buffer.from(page.serialize())])
    for (const page of this.inners.values()) if (page.dirty) pages.push([page.id, page.serialize()])
    const meta = this.encodeMeta()
    const temp = temporaryCopyPath(dest)
    await this.hash!.copyFileDataInSlices(temp, false)
    try {
      const copy = new HashDBM(this.tuning.hash)
      copy.open(temp, true, {noLock: true})
      try {
        let deadline = performance.now() + 5
        for (const [id, bytes] of pages) {
          copy.set(pageKey(id), bytes)
          if (performance.now() > deadline) {
            await nextTurn()
            deadline = performance.now() + 5
          }
        }
        copy.setOpaqueMetadata(meta)
        copy.synchronize(hard)
      } finally {
        copy.close()
      }
      fs.renameSync(temp, dest)
    } catch (error) {
      fs.rmSync(temp, {force: true})
      throw fromSystemError(error, `cannot copy ${this.getFilePath()} to ${dest}`)
    }
  }

  /**
   * Writes the pages changed as of now, yielding to the event loop between slices. A page
   * let go or merged away meanwhile is skipped (it was written, or must not come back).
   * Returns false when the database was closed meanwhile.
   */
  private async savePagesInSlices(sliceMillis = 5): Promise<boolean> {
    const hash = this.hash
    const leaves = [...this.leaves.values()].filter((page) => page.dirty)
    const inners = [...this.inners.values()].filter((page) => page.dirty)
    let deadline = performance.now() + sliceMillis
    const maybePause = async (): Promise<boolean> => {
      if (performance.now() < deadline) return true
      await nextTurn()
      deadline = performance.now() + sliceMillis
      return this.hash === hash
    }
    for (const page of leaves) {
      if (page.dirty && this.leaves.get(page.id) === page) this.writeLeaf(page)
      if (!(await maybePause())) return false
    }
    for (const page of inners) {
      if (page.dirty && this.inners.get(page.id) === page) this.writeInner(page)
      if (!(await maybePause())) return false
    }
    return true
  }

  protected clearImpl(): void {
    // A rebuild under way has nothing left to copy: it is cancelled.
    this.touchedDuringRebuild = undefined
    this.hash!.clear()
    this.leaves.clear()
    this.inners.clear()
    this.pending.clear()
    this.version++
    this.startEmpty()
    this.flushPending()
  }

  // ---- pages ----

  private newLeaf(prevId: number, nextId: number): LeafPage {
    const page = LeafPage.empty(LEAF_ID_BASE + this.numLeafNodes++, prevId, nextId)
    this.leaves.set(page.id, page)
    this.touched(page)
    return page
  }

  private newInner(heirId: number, keys: Buffer[], children: number[]): InnerPage {
    const page = new InnerPage(INNER_ID_BASE + this.numInnerNodes++, heirId, keys, children)
    this.inners.set(page.id, page)
    this.touched(page)
    return page
  }

  /** Notes a changed page: with page_update_mode=write it is written when the operation ends. */
  private touched(page: LeafPage | InnerPage): void {
    page.dirty = true
    this.changed = true
    if (this.tuning.writeThrough && this.writable) this.pending.add(page)
  }

  /** A leaf page by ID, from the cache or the file. */
  leafPage(id: number): LeafPage {
    const cached = this.leaves.get(id)
    if (cached) {
      cached.used = true
      return cached
    }
    if (!isLeafId(id)) throw new StatusError(Code.BROKEN_DATA_ERROR, `page ${id} is not a leaf page`)
    const stored = this.hash!.get(pageKey(id))
    if (stored === undefined) throw new StatusError(Code.BROKEN_DATA_ERROR, `leaf page ${id} is missing`)
    const page = LeafPage.parse(id, stored)
    this.leaves.set(id, page)
    return page
  }

  private innerPage(id: number): InnerPage {
    const cached = this.inners.get(id)
    if (cached) {
      cached.used = true
      return cached
    }
    if (!isInnerId(id)) throw new StatusError(Code.BROKEN_DATA_ERROR, `page ${id} is not an inner page`)
    const stored = this.hash!.get(pageKey(id))
    if (stored === undefined) throw new StatusError(Code.BROKEN_DATA_ERROR, `inner page ${id} is missing`)
    const page = InnerPage.parse(id, stored)
    this.inners.set(id, page)
    return page
  }

  private writeLeaf(page: LeafPage): void {
    // Pages that took records from this one reach the file first: until this page is
    // written there, its old version still holds those records, so a crash loses none.
    const first = page.before
    if (first) {
      page.before = undefined
      for (const other of first) if (other.dirty && this.leaves.get(other.id) === other) this.writeLeaf(other)
    }
    this.hash!.set(pageKey(page.id), page.serialize())
    page.dirty = false
  }

  private writeInner(page: InnerPage): void {
    this.hash!.set(pageKey(page.id), page.serialize())
    page.dirty = false
  }

  private dropPage(id: number): void {
    this.hash!.process(pageKey(id), {ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
  }

  /**
   * Ends an operation: writes what page_update_mode=write wants written, and brings the
   * cache back within its bound, writing the changed pages it lets go.
   */
  private flushPending(): void {
    if (this.pending.size > 0) {
      for (const page of this.pending) {
        if (!page.dirty) continue
        if (page instanceof LeafPage) this.writeLeaf(page)
        else this.writeInner(page)
      }
      this.pending.clear()
    }
    const limit = this.tuning.maxCachedPages
    if (this.leaves.size > limit) this.evict(this.leaves, limit, (page) => this.writeLeaf(page))
    if (this.inners.size > limit) this.evict(this.inners, limit, (page) => this.writeInner(page))
  }

  /**
   * Lets go of pages until the cache is within its bound, oldest first; a page used since
   * the last pass gets a second chance at the end of the line (the clock algorithm: a hit
   * costs a flag, not a move in the map).
   */
  private evict<T extends LeafPage | InnerPage>(cache: Map<number, T>, limit: number, write: (page: T) => void): void {
    let chances = cache.size
    for (const [id, page] of cache) {
      if (cache.size <= limit) break
      cache.delete(id)
      if (page.used && chances-- > 0) {
        page.used = false
        cache.set(id, page)
        continue
      }
      if (page.dirty && this.writable) write(page)
    }
  }

  // ---- descent ----

  /** The leaf that holds the key's range; the inner pages passed are left in `path`. */
  private descend(key: Buffer): LeafPage {
    const path = this.path
    path.length = 0
    this.pathReady = true
    let id = this.rootId
    for (let level = this.treeLevel; level > 1; level--) {
      const page = this.innerPage(id)
      path.push(id)
      id = page.childAt(page.slotOf(this.order, key))
    }
    return this.leafPage(id)
  }

  // ---- records ----

  /**
   * The leaf for a key: the one the last operation used when the key lies within its
   * records (or beyond them at the edge of the tree), without a descent; otherwise by
   * descending. Runs of neighbouring keys, the common case of loads and scans, skip the
   * inner pages. A descent left out leaves `path` empty: `pathReady` says so.
   */
  private leafFor(key: Buffer): LeafPage {
    const hint = this.hint
    // Keys in no order miss nearly always: then the check is tried only now and then.
    if (hint !== undefined && (this.hintMisses < 8 || (++this.hintSkips & 15) === 0) && hint.count > 0 && this.leaves.get(hint.id) === hint) {
      const order = this.order
      if ((hint.prevId === 0 || hint.compareAt(order, key, 0) >= 0) && (hint.nextId === 0 || hint.compareAt(order, key, hint.count - 1) <= 0)) {
        hint.used = true
        this.pathReady = false
        this.hintMisses = 0
        return hint
      }
      this.hintMisses++
    }
    const page = this.descend(key)
    this.hint = page
    return page
  }

  /** Sets the path of inner pages down to the key's leaf, when leafFor took the shortcut. */
  private readyPath(key: Buffer): void {
    if (!this.pathReady) this.descend(key)
  }

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    try {
      const page = this.leafFor(key)
      const at = page.search(this.order, key)
      const found = at >= 0
      const index = found ? at : ~at
      const result = found ? processor.processFull(key, processor.ignoresValue ? EMPTY : page.value(index)) : processor.processEmpty(key)
      if (writable && result !== NOOP) this.apply(page, index, found, key, result)
    } finally {
      this.flushPending()
    }
  }

  /** Applies a processor's answer at the index `descend` and `search` gave (the path still set). */
  private apply(page: LeafPage, index: number, found: boolean, key: Buffer, result: ProcessResult): void {
    if (result === NOOP) return
    this.touchedDuringRebuild?.note(key)
    if (result === REMOVE) {
      if (!found) return
      this.effDataSize -= page.dataSize(index)
      page.remove(index)
      this.numRecords--
      this.version++
      this.touched(page)
      if (page.size < this.maxPageSize / 2 && page.id !== this.rootId) {
        this.readyPath(key)
        this.mergeLeaf(page)
      }
      return
    }
    let value: Buffer
    if (result instanceof AppendTail) value = found ? Buffer.concat([page.value(index), result.tail]) : result.tail
    else value = result
    if (found) {
      this.effDataSize += value.length - page.valueSize(index)
      page.setValue(index, value)
    } else {
      page.insert(index, key, value)
      this.numRecords++
      this.effDataSize += key.length + value.length
    }
    this.version++
    this.touched(page)
    if (page.size > this.maxPageSize && page.count > 1) {
      this.readyPath(key)
      this.splitLeaf(page)
    }
  }

  /** Splits a leaf in two halves and links the new one into its parent, splitting upwards as needed. */
  private splitLeaf(page: LeafPage): void {
    const right = this.newLeaf(page.id, page.nextId)
    page.moveTailTo(page.count >> 1, right)
    page.compact()
    if (right.nextId !== 0) {
      const next = this.leafPage(right.nextId)
      next.prevId = right.id
      this.touched(next)
    }
    page.nextId = right.id
    if (this.lastId === page.id) this.lastId = right.id
    // The records moved reach the file before the page that gave them up is written there.
    ;(page.before ??= []).push(right)
    let key = right.key(0)
    let child = right.id
    let left = page.id
    const path = this.path
    while (true) {
      const parentId = path.pop()
      if (parentId === undefined) {
        if (this.treeLevel >= MAX_TREE_LEVEL) throw new StatusError(Code.INFEASIBLE_ERROR, 'the tree is too deep')
        this.rootId = this.newInner(left, [key], [child]).id
        this.treeLevel++
        break
      }
      const parent = this.innerPage(parentId)
      parent.insertLink(this.order, key, child)
      this.touched(parent)
      if (parent.keys.length <= this.maxBranches) break
      const mid = parent.keys.length >> 1
      const promoted = parent.keys[mid]
      const sibling = this.newInner(parent.children[mid], parent.keys.slice(mid + 1), parent.children.slice(mid + 1))
      parent.keys.length = mid
      parent.children.length = mid
      key = promoted
      child = sibling.id
      left = parent.id
    }
    this.version++
  }

  /**
   * Merges an underfull leaf with its neighbour under the same parent: the left one of the
   * two takes the right one's records, and the right one goes.
   */
  private mergeLeaf(page: LeafPage): void {
    const path = this.path
    const parentId = path[path.length - 1]
    if (parentId === undefined) return
    const parent = this.innerPage(parentId)
    const slot = parent.slotOfChild(page.id)
    if (slot === undefined) throw new StatusError(Code.BROKEN_DATA_ERROR, `leaf page ${page.id} is not a child of inner page ${parent.id}`)
    if (parent.keys.length === 0) return
    const link = slot >= 0 ? slot : 0
    const left = slot >= 0 ? this.leafPage(parent.childAt(slot - 1)) : page
    const right = slot >= 0 ? page : this.leafPage(parent.children[0])
    if (left.nextId !== right.id) throw new StatusError(Code.BROKEN_DATA_ERROR, `leaf pages ${left.id} and ${right.id} are not linked`)
    left.absorb(right)
    left.nextId = right.nextId
    if (right.nextId !== 0) {
      const next = this.leafPage(right.nextId)
      next.prevId = left.id
      this.touched(next)
    }
    if (this.lastId === right.id) this.lastId = left.id
    this.touched(left)
    parent.removeLink(link)
    this.touched(parent)
    // The page that took the records reaches the file before the emptied one leaves it, and
    // so do the pages that took records from the emptied one earlier.
    this.writeLeaf(left)
    for (const other of right.before ?? []) if (other.dirty && this.leaves.get(other.id) === other) this.writeLeaf(other)
    right.before = undefined
    this.leaves.delete(right.id)
    this.pending.delete(right)
    this.dropPage(right.id)
    this.version++
    path.pop()
    this.rebalanceInner(parent)
  }

  /** Merges underfull inner pages upwards, and lowers the tree while its root routes to one child. */
  private rebalanceInner(start: InnerPage): void {
    const path = this.path
    let page = start
    while (true) {
      if (page.id === this.rootId) {
        while (this.treeLevel > 1) {
          const root = this.innerPage(this.rootId)
          if (root.keys.length > 0) break
          this.rootId = root.heirId
          this.treeLevel--
          this.inners.delete(root.id)
          this.pending.delete(root)
          this.dropPage(root.id)
        }
        return
      }
      if (page.keys.length >= this.maxBranches >> 1) return
      const parentId = path.pop()
      if (parentId === undefined) return
      const parent = this.innerPage(parentId)
      const slot = parent.slotOfChild(page.id)
      if (slot === undefined) throw new StatusError(Code.BROKEN_DATA_ERROR, `inner page ${page.id} is not a child of inner page ${parent.id}`)
      if (parent.keys.length > 0) {
        const link = slot >= 0 ? slot : 0
        const left = slot >= 0 ? this.innerPage(parent.childAt(slot - 1)) : page
        const right = slot >= 0 ? page : this.innerPage(parent.children[0])
        left.keys.push(parent.keys[link], ...right.keys)
        left.children.push(right.heirId, ...right.children)
        this.touched(left)
        parent.removeLink(link)
        this.touched(parent)
        this.inners.delete(right.id)
        this.pending.delete(right)
        this.dropPage(right.id)
      }
      page = parent
    }
  }

  // ---- cursor support ----

  /** The first record at or after the key (after it only, unless inclusive). */
  seekUpper(key: Buffer, inclusive: boolean): Position | undefined {
    try {
      const page = this.descend(key)
      const at = page.search(this.order, key)
      return this.forwardFrom(page, at < 0 ? ~at : inclusive ? at : at + 1)
    } finally {
      this.flushPending()
    }
  }

  /** The last record before the key (or at it, when inclusive). */
  seekLower(key: Buffer, inclusive: boolean): Position | undefined {
    try {
      const page = this.descend(key)
      const at = page.search(this.order, key)
      return this.backwardFrom(page, at < 0 ? ~at - 1 : inclusive ? at : at - 1)
    } finally {
      this.flushPending()
    }
  }

  // The ends are found by descending the edges of the tree rather than from the first and
  // last IDs of the metadata, which files of other writers do not always keep current.

  first(): Position | undefined {
    try {
      return this.forwardFrom(this.edgeLeaf(false), 0)
    } finally {
      this.flushPending()
    }
  }

  last(): Position | undefined {
    try {
      const page = this.edgeLeaf(true)
      return this.backwardFrom(page, page.count - 1)
    } finally {
      this.flushPending()
    }
  }

  private edgeLeaf(right: boolean): LeafPage {
    let id = this.rootId
    for (let level = this.treeLevel; level > 1; level--) {
      const page = this.innerPage(id)
      id = right && page.children.length > 0 ? page.children[page.children.length - 1] : page.heirId
    }
    return this.leafPage(id)
  }

  nextOf(pos: Position): Position | undefined {
    try {
      return this.forwardFrom(pos.page, pos.index + 1)
    } finally {
      this.flushPending()
    }
  }

  previousOf(pos: Position): Position | undefined {
    try {
      return this.backwardFrom(pos.page, pos.index - 1)
    } finally {
      this.flushPending()
    }
  }

  /** The record at index or the first one after it, following the leaf links over empty pages. */
  private forwardFrom(start: LeafPage, index: number): Position | undefined {
    let page = start
    let steps = 0
    while (index >= page.count) {
      if (page.nextId === 0) return undefined
      if (++steps > this.pageLimit()) throw new StatusError(Code.BROKEN_DATA_ERROR, 'a cycle in the leaf links')
      page = this.leafPage(page.nextId)
      index = 0
    }
    return {page, index}
  }

  /** More leaf steps than this is a cycle: the pages ever made, and no more than the file can hold. */
  private pageLimit(): number {
    return Math.min(this.numLeafNodes, Math.floor(this.hash!.getFileSize() / 16)) + 1
  }

  private backwardFrom(start: LeafPage, index: number): Position | undefined {
    let page = start
    let steps = 0
    while (index < 0) {
      if (page.prevId === 0) return undefined
      if (++steps > this.pageLimit()) throw new StatusError(Code.BROKEN_DATA_ERROR, 'a cycle in the leaf links')
      page = this.leafPage(page.prevId)
      index = page.count - 1
    }
    return {page, index}
  }

  /** Applies a cursor's processor answer to the record with this key. */
  applyAt(key: Buffer, result: ProcessResult): void {
    try {
      const page = this.descend(key)
      const at = page.search(this.order, key)
      this.apply(page, at >= 0 ? at : ~at, at >= 0, key, result)
    } finally {
      this.flushPending()
    }
  }

  protected makeIteratorImpl(): DBMIterator {
    return new TreeFileIterator(this)
  }

  override compareKeys(a: Buffer, b: Buffer): number {
    return this.order.compare(a, b)
  }

  // ---- rebuild and restore ----

  /** The tuning a rebuild makes its new file with: this one's, changed by the parameters. */
  private beginRebuild(params: RebuildParams): {tuning: TreeTuning; syncHard: boolean; fresh: TreeDBM; temp: string} {
    if (this.touchedDuringRebuild) throw new StatusError(Code.PRECONDITION_ERROR, 'a rebuild is already running')
    const hash = this.hash!
    const reader = ParamReader.fromObject(params)
    const base: TreeTuning = {
      ...this.tuning,
      hash: {...hash.layoutTuning(), numBuckets: -1},
      maxPageSize: this.maxPageSize,
      maxBranches: this.maxBranches,
      comparator: this.comparator,
    }
    const tuning = readTreeTuning(reader, base)
    const syncHard = reader.bool('sync_hard', false)
    reader.ignore('skip_broken_records', 'file', 'block_size', 'access_options')
    reader.finish()
    // Twice as many buckets as there are pages now, counting those only in the cache as yet:
    // a tree never synchronized has none in its file.
    const pages = Math.max(hash.count(), this.leaves.size + this.inners.size)
    if (tuning.hash.numBuckets <= 0) tuning.hash.numBuckets = pages * 2 + 1
    const temp = `${hash.getFilePath()}.tmp.rebuild`
    const fresh = new TreeDBM(tuning)
    fresh.open(temp, true, {truncate: true, noLock: true})
    fresh.appOpaque = this.appOpaque
    return {tuning, syncHard, fresh, temp}
  }

  /** Copies every record, in order, into a fresh file with new tuning, which then takes this one's place. */
  protected rebuildImpl(params: RebuildParams = {}): void {
    const {tuning, syncHard, fresh, temp} = this.beginRebuild(params)
    try {
      let previous: Buffer | undefined
      for (let pos = this.first(); pos; pos = this.nextOf(pos)) {
        const key = pos.page.key(pos.index)
        previous = this.checkAscending(previous, key)
        fresh.set(key, pos.page.value(pos.index))
      }
    } catch (error) {
      fresh.abandon(temp)
      throw error
    }
    this.finishRebuild(fresh, temp, tuning, syncHard)
  }

  /**
   * The same rebuild in slices that yield to the event loop, so that a server keeps
   * answering: the copy walks the tree by key from slice to slice, the keys written
   * meanwhile are noted and copied again at the end, and then the new file takes over.
   */
  protected override async rebuildInSlicesImpl(params: RebuildParams = {}, onProgress?: RebuildProgress, sliceMillis = 10): Promise<void> {
    const {tuning, syncHard, fresh, temp} = this.beginRebuild(params)
    const touched = new TouchedKeys()
    this.touchedDuringRebuild = touched
    const pause = async (): Promise<void> => {
      await nextTurn()
      if (!this.isOpen() || this.touchedDuringRebuild !== touched) {
        throw new StatusError(Code.CANCELED_ERROR, 'the database was closed or cleared during the rebuild')
      }
    }
    const copyKey = (name: string): void => {
      const key = Buffer.from(name, 'latin1')
      const value = this.get(key)
      if (value === undefined) fresh.process(key, {ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
      else fresh.set(key, value)
    }
    try {
      const total = Math.max(1, this.numRecords)
      let copied = 0
      let pos = this.first()
      while (pos) {
        const deadline = performance.now() + sliceMillis
        let key: Buffer | undefined
        for (let n = 0; pos && (n & 63 || performance.now() < deadline); n++) {
          key = this.checkAscending(key, pos.page.key(pos.index))
          fresh.set(key, pos.page.value(pos.index))
          copied++
          pos = this.nextOf(pos)
        }
        onProgress?.(Math.min(1, copied / total))
        if (!pos || !key) break
        // The new file's pages are written as the copy goes, so that its end has little left to write.
        await fresh.savePagesInSlices()
        await pause()
        // Whatever changed meanwhile, the walk goes on after the last key copied.
        pos = this.seekUpper(key, false)
      }
      await touched.recopyInSlices(copyKey, pause, sliceMillis)
      touched.copyRest(copyKey)
    } catch (error) {
      if (this.touchedDuringRebuild === touched) this.touchedDuringRebuild = undefined
      fresh.abandon(temp)
      throw error
    }
    this.touchedDuringRebuild = undefined
    this.finishRebuild(fresh, temp, tuning, syncHard)
  }

  private finishRebuild(fresh: TreeDBM, temp: string, tuning: TreeTuning, syncHard: boolean): void {
    try {
      fresh.synchronize(syncHard)
      fresh.close()
    } catch (error) {
      fresh.abandon(temp)
      throw error
    }
    this.replaceWith(temp, tuning)
  }

  /** Closes a rebuild's unfinished file and removes it. */
  private abandon(temp: string): void {
    try {
      if (this.isOpen()) this.close()
    } finally {
      fs.rmSync(temp, {force: true})
    }
  }

  /** A walk over the leaves must meet keys in ascending order: damaged links that loop back would walk forever. */
  private checkAscending(previous: Buffer | undefined, key: Buffer): Buffer {
    if (previous !== undefined && this.order.compare(previous, key) >= 0) throw new StatusError(Code.BROKEN_DATA_ERROR, 'the leaf links lead out of key order')
    return key
  }

  /** Puts a finished tree file in this one's place and goes on with it. */
  private replaceWith(temp: string, tuning: TreeTuning): void {
    const hash = this.hash!
    this.tuning = tuning
    const path = hash.getFilePath()
    this.leaves.clear()
    this.inners.clear()
    this.pending.clear()
    this.hash = undefined
    hash.close()
    try {
      fs.renameSync(temp, path)
    } catch (error) {
      fs.rmSync(temp, {force: true})
      throw fromSystemError(error, `cannot replace ${path}`)
    } finally {
      const reopened = new HashDBM(tuning.hash)
      reopened.open(path, true)
      this.attach(reopened, true)
    }
  }

  /**
   * Builds a tree again from the leaf pages of a (repaired) hash file: every record of every
   * leaf that reads, the first copy of a key winning. Returns the new file's hash database,
   * open, in the old one's place.
   */
  /**
   * Restores a damaged tree file into a new one (see salvage). Returns the records restored
   * and the damaged regions skipped.
   */
  static restoreFile(oldPath: string, newPath: string, endOffset = -1, options: {sourceLocked?: boolean} = {}): {records: number; broken: number} {
    fs.rmSync(newPath, {force: true})
    const broken = TreeDBM.salvage(oldPath, newPath, endOffset, readTreeTuning(new ParamReader(new Map())), options.sourceLocked === true)
    const check = new TreeDBM()
    check.open(newPath, false)
    const records = check.count()
    check.close()
    return {records, broken}
  }

  /**
   * Builds a new tree file at `dest` from the leaf pages found by scanning a (damaged) tree
   * file's records: every intact version of every leaf, the first copy of a key winning.
   * The tree's own structure (inner pages, links, metadata) is not trusted; its tuning and
   * comparator are kept where its metadata still reads. A page rewritten when the process
   * was killed has its old version intact beside the new (pages are written aside, never
   * over themselves), so every record of the last synchronize is found. `endOffset` as the
   * hash file's restore takes it. Returns the damaged regions skipped.
   */
  private static salvage(oldPath: string, dest: string, endOffset: number, tuning: TreeTuning, sourceLocked: boolean): number {
    let meta: {maxPageSize: number; maxBranches: number; comparator: NamedComparator | undefined; opaque: Buffer} | undefined
    try {
      const opaque = readOpaqueMetadata(oldPath)
      const decoded = opaque && decodeTreeMeta(opaque)
      if (decoded)
        meta = {
          maxPageSize: decoded.maxPageSize,
          maxBranches: decoded.maxBranches,
          comparator: comparatorOfCode(decoded.comparatorCode),
          opaque: decoded.opaque,
        }
    } catch {
      meta = undefined
    }
    let fresh: TreeDBM | undefined
    const keepFirst = (value: Buffer): RecordProcessor => ({ignoresValue: true, processFull: () => NOOP, processEmpty: () => value})
    try {
      const {broken} = salvageRecords(oldPath, endOffset, sourceLocked, (layout) => {
        const tree = new TreeDBM({
          ...tuning,
          hash: {
            ...tuning.hash,
            numBuckets: Math.max(layout.numBuckets, TREE_DEFAULT_NUM_BUCKETS),
            offsetWidth: layout.offsetWidth,
            alignPow: layout.alignPow,
            updateMode: layout.flags.updateMode,
            crcWidth: layout.flags.crcWidth,
            compMode: layout.flags.compMode,
          },
          maxPageSize: meta?.maxPageSize ?? tuning.maxPageSize,
          maxBranches: meta?.maxBranches ?? tuning.maxBranches,
          comparator: meta?.comparator ?? tuning.comparator,
          writeThrough: false,
        })
        tree.open(dest, true, {truncate: true, noLock: true})
        if (meta) tree.appOpaque = meta.opaque
        fresh = tree
        return {
          apply: (record) => {
            if (record.op === OP_REMOVE || record.key.length !== PAGE_ID_WIDTH) return
            const id = readPageId(record.key, 0)
            if (!isLeafId(id)) return
            let page: LeafPage
            try {
              page = LeafPage.parse(id, record.value)
            } catch {
              return
            }
            for (let i = 0; i < page.count; i++) tree.process(page.key(i), keepFirst(page.value(i)), true)
          },
          finish: () => {},
        }
      })
      const tree = fresh as TreeDBM | undefined
      if (tree) {
        tree.synchronize(tuning.hash.restoreWithHardSync)
        tree.close()
      }
      return broken
    } catch (error) {
      const tree = fresh as TreeDBM | undefined
      if (tree?.isOpen()) tree.close()
      fs.rmSync(dest, {force: true})
      throw error
    }
  }

  protected shouldBeRebuiltImpl(): boolean {
    return this.hash!.shouldBeRebuilt()
  }

  // ---- inspection ----

  protected inspectImpl(): InspectList {
    const renamed: {[name: string]: string} = {num_buckets: 'hash_num_buckets', num_records: 'hash_num_records', eff_data_size: 'hash_eff_data_size'}
    const hashAttributes = this.hash!.inspect()
      .filter(([name]) => name !== 'class' && name !== 'path')
      .map(([name, value]): [string, string] => [renamed[name] ?? name, value])
    return [
      ['class', this.className],
      ['healthy', String(this.isHealthy())],
      ['auto_restored', String(this.autoRestored)],
      ['path', this.hash!.getFilePath()],
      ['num_records', String(this.numRecords)],
      ['eff_data_size', String(this.effDataSize)],
      ['root_id', String(this.rootId)],
      ['first_id', String(this.firstId)],
      ['last_id', String(this.lastId)],
      ['num_leaf_nodes', String(this.numLeafNodes)],
      ['num_inner_nodes', String(this.numInnerNodes)],
      ['tree_level', String(this.treeLevel)],
      ['max_page_size', String(this.maxPageSize)],
      ['max_branches', String(this.maxBranches)],
      ['max_cached_pages', String(this.tuning.maxCachedPages)],
      ['key_comparator', comparatorCode(this.comparator) === 255 ? 'custom' : this.comparator.name],
      ...hashAttributes,
    ]
  }

  /**
   * Checks the tree: the hash file under it, then every leaf in link order (keys in order
   * within and across pages, links both ways, the record count), and that a descent from
   * the root finds each leaf's first key in that leaf.
   */
  protected override validateStructureImpl(): string[] {
    const problems = this.hash!.validateStructure()
    if (problems.length > 0) return problems
    this.saveAll()
    try {
      let count = 0
      let previous: Buffer | undefined
      let prevId = 0
      let steps = 0
      for (let id = this.firstId; id !== 0;) {
        if (++steps > this.pageLimit()) return ['a cycle in the leaf links']
        const page = this.leafPage(id)
        if (page.prevId !== prevId) problems.push(`leaf page ${id} links back to ${page.prevId}, not ${prevId}`)
        for (let i = 0; i < page.count; i++) {
          const key = page.key(i)
          if (previous && this.order.compare(previous, key) >= 0) problems.push(`keys out of order in leaf page ${id}`)
          previous = key
        }
        if (page.count > 0) {
          const found = this.descend(page.key(0))
          if (found.id !== id) problems.push(`the key at the start of leaf page ${id} leads to leaf page ${found.id}`)
        }
        count += page.count
        prevId = id
        id = page.nextId
        this.flushPending()
        if (problems.length > 10) break
      }
      if (prevId !== this.edgeLeaf(true).id) problems.push(`the leaf links end at page ${prevId}, the tree at page ${this.edgeLeaf(true).id}`)
      if (count !== this.numRecords) problems.push(`${count} records in the leaves, the metadata says ${this.numRecords}`)
    } catch (error) {
      problems.push((error as Error).message)
    }
    return problems
  }

  // ---- plain accessors ----

  protected countImpl(): number {
    return this.numRecords
  }

  protected getFileSizeImpl(): number {
    return this.hash!.getFileSize()
  }

  getFilePath(): string {
    return this.hash?.getFilePath() ?? ''
  }

  getTimestamp(): number {
    return this.hash!.getTimestamp()
  }

  isOrdered(): boolean {
    return true
  }

  isWritable(): boolean {
    return this.hash !== undefined && this.writable
  }

  isOpen(): boolean {
    return this.hash !== undefined
  }

  override isHealthy(): boolean {
    return this.hash !== undefined && this.hash.isHealthy()
  }

  isAutoRestored(): boolean {
    return this.autoRestored
  }
}

/**
 * A cursor that remembers its key, and the page and index it found it at while nothing
 * was written; after a write it seeks the key again.
 */
class TreeFileIterator extends DBMIterator {
  private key: Buffer | undefined
  private pageId = 0
  private index = 0
  private version = -1

  constructor(private readonly tree: TreeDBM) {
    super(tree)
  }

  private moveTo(pos: Position | undefined): void {
    this.key = pos ? pos.page.key(pos.index) : undefined
    if (pos) {
      this.pageId = pos.page.id
      this.index = pos.index
    }
    this.version = this.tree.version
  }

  /** The current position, re-found after a write: the key, or the one after it. */
  private current(): Position | undefined {
    if (this.key === undefined) return undefined
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekUpper(this.key, true))
    if (this.key === undefined) return undefined
    return {page: this.tree.leafPage(this.pageId), index: this.index}
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
    else this.moveTo(this.tree.nextOf({page: this.tree.leafPage(this.pageId), index: this.index}))
    this.checkOrder(key, 1)
  }

  protected previousImpl(): void {
    const key = this.key
    if (key === undefined) return
    if (this.version !== this.tree.version) this.moveTo(this.tree.seekLower(key, false))
    else this.moveTo(this.tree.previousOf({page: this.tree.leafPage(this.pageId), index: this.index}))
    this.checkOrder(key, -1)
  }

  /**
   * Each step must lead past the key it left, in the direction taken: damaged leaf links
   * that loop back would otherwise walk forever.
   */
  private checkOrder(left: Buffer, direction: 1 | -1): void {
    if (this.key !== undefined && Math.sign(this.tree.compareKeys(this.key, left)) !== direction) {
      this.key = undefined
      throw new StatusError(Code.BROKEN_DATA_ERROR, 'the leaf links lead out of key order')
    }
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    const pos = this.current()
    if (!pos) return false
    const key = pos.page.key(pos.index)
    const result = processor.processFull(key, processor.ignoresValue ? EMPTY : pos.page.value(pos.index))
    if (!writable || result === NOOP) return true
    this.tree.applyAt(key, result)
    if (result === REMOVE) this.moveTo(this.tree.seekUpper(key, false))
    return true
  }
}
