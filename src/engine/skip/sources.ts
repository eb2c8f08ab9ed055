import * as fs from 'node:fs'
import {FLAT_DATA, FlatReader, FlatWriter} from '../io/flat.js'
import {MappedFile} from '../io/mapped-file.js'
import {readVarint, varintSize, writeVarint} from '../io/varint.js'
import {Code, StatusError} from '../status.js'
import {SKIP_META_SIZE, SkipRecord, SkipRecordReader, decodeSkipMeta} from './format.js'

/** Records in key order from one place, read one at a time: `next` moves to the next and says whether there is one. */
export interface RecordSource {
  key: Buffer
  value: Buffer
  next(): boolean
  close(): void
}

/** The records of a skip file, in file order. */
export class SkipFileSource implements RecordSource {
  key: Buffer = Buffer.alloc(0)
  value: Buffer = Buffer.alloc(0)
  private offset = SKIP_META_SIZE
  private index = 0
  private readonly record = new SkipRecord()

  private constructor(
    private readonly reader: SkipRecordReader,
    private readonly owned: MappedFile | undefined,
  ) {}

  /** Reads an open skip file through its reader. */
  static of(reader: SkipRecordReader): SkipFileSource {
    return new SkipFileSource(reader, undefined)
  }

  /** Opens another skip file (its own layout) to read, without a lock. */
  static open(path: string): SkipFileSource {
    const file = MappedFile.open(path, {writable: false, lock: 'none'})
    try {
      const meta = decodeSkipMeta(file.read(0, Math.min(file.size, SKIP_META_SIZE)))
      const end = meta.cyclicMagic >= 0 ? Math.min(meta.fileSize, file.size) : file.size
      return new SkipFileSource(new SkipRecordReader(file, meta.offsetWidth, meta.stepUnit, meta.maxLevel, end), file)
    } catch (error) {
      file.close()
      throw error
    }
  }

  next(): boolean {
    if (this.offset >= this.reader.end) return false
    const record = this.reader.read(this.offset, this.index, this.record)
    // Views of the mapping, which stays as it is while the merge reads it.
    this.key = this.reader.file.view(record.keyStart, record.keySize)
    this.value = this.reader.file.view(record.valueStart, record.valueSize)
    this.offset += record.size
    this.index++
    return true
  }

  close(): void {
    this.owned?.close()
  }
}

/** Records of a sorted run spilled to a flat record file: key, then value. */
class FlatRunSource implements RecordSource {
  key: Buffer = Buffer.alloc(0)
  value: Buffer = Buffer.alloc(0)
  private readonly reader: FlatReader

  constructor(path: string) {
    this.reader = new FlatReader(path)
  }

  next(): boolean {
    const key = this.reader.read()
    if (!key) return false
    this.key = Buffer.from(key[1])
    const value = this.reader.read()
    if (!value || key[0] !== FLAT_DATA || value[0] !== FLAT_DATA) throw new StatusError(Code.BROKEN_DATA_ERROR, 'a broken sorted run')
    this.value = Buffer.from(value[1])
    return true
  }

  close(): void {
    this.reader.close()
  }
}

/** Records per sorted chunk of the queued updates: a sort of this many takes a few milliseconds. */
const SORT_CHUNK = 32768

/** Records held in an arena, in the order of their starts given: key and value are views of it. */
class ArenaSource implements RecordSource {
  key: Buffer = Buffer.alloc(0)
  value: Buffer = Buffer.alloc(0)
  private position = 0

  constructor(
    private readonly arena: Buffer,
    private readonly order: Uint32Array,
  ) {}

  next(): boolean {
    if (this.position >= this.order.length) return false
    const arena = this.arena
    let [size, pos] = readSize(arena, this.order[this.position++])
    this.key = arena.subarray(pos, pos + size)
    ;[size, pos] = readSize(arena, pos + size)
    this.value = arena.subarray(pos, pos + size)
    return true
  }

  close(): void {}
}

/** A byte-delta size in the arena (written there, so always whole): [size, the position after it]. */
const readSize = (arena: Buffer, pos: number): [number, number] => readVarint(arena, pos)!

/** Byte order of the keys of two arena records (their starts); equal keys by their order of arrival. */
function compareArenaKeys(arena: Buffer, a: number, b: number): number {
  let aSize = arena[a]
  let aPos = a + 1
  if (aSize >= 0x80) [aSize, aPos] = readSize(arena, a)
  let bSize = arena[b]
  let bPos = b + 1
  if (bSize >= 0x80) [bSize, bPos] = readSize(arena, b)
  const common = aSize < bSize ? aSize : bSize
  for (let i = 0; i < common; i++) {
    const sign = arena[aPos + i] - arena[bPos + i]
    if (sign !== 0) return sign
  }
  return aSize - bSize || a - b
}

/**
 * The updates of a skip list waiting for its next synchronize: packed one after another in
 * an arena (no object per record), up to sort_mem_size bytes, then sorted and spilled to
 * a temporary run file, so that a load larger than memory is sorted by merging runs.
 */
export class PendingRecords {
  private arena = Buffer.allocUnsafe(1 << 16)
  private used = 0
  private starts = new Uint32Array(1024)
  private count = 0
  private bytes = 0
  /** Whether the records so far came in key order, so that no sort is needed. */
  private inOrder = true
  private lastStart = -1
  /**
   * Chunks of records already sorted, as they filled (each a short sort at the write that
   * filled it), so that a synchronize has only the last few to sort.
   */
  private chunks: Uint32Array[] = []
  private chunkStart = 0
  /** Each record's first 8 key bytes (zero-padded) as two big-endian halves: most comparisons of a sort end there. */
  private high = new Uint32Array(1024)
  private low = new Uint32Array(1024)
  private readonly runs: string[] = []

  constructor(
    private readonly basePath: string,
    private readonly memoryLimit: number,
  ) {}

  get empty(): boolean {
    return this.count === 0 && this.runs.length === 0
  }

  add(key: Uint8Array, value: Uint8Array): void {
    const need = varintSize(key.length) + key.length + varintSize(value.length) + value.length
    // A run's positions are 32-bit.
    if (this.used + need > 0x7fffffff) this.spill()
    if (this.used + need > this.arena.length) {
      const next = Buffer.allocUnsafe(Math.max(this.used + need, this.arena.length * 2))
      this.arena.copy(next, 0, 0, this.used)
      this.arena = next
    }
    if (this.count === this.starts.length) {
      const grow = (array: Uint32Array): Uint32Array<ArrayBuffer> => {
        const next = new Uint32Array(array.length * 2)
        next.set(array)
        return next
      }
      this.starts = grow(this.starts)
      this.high = grow(this.high)
      this.low = grow(this.low)
    }
    let high = 0
    let low = 0
    for (let i = 0; i < 4; i++) high = high * 256 + (i < key.length ? key[i] : 0)
    for (let i = 4; i < 8; i++) low = low * 256 + (i < key.length ? key[i] : 0)
    this.high[this.count] = high
    this.low[this.count] = low
    const start = this.used
    let pos = writeVarint(this.arena, start, key.length)
    this.arena.set(key, pos)
    pos = writeVarint(this.arena, pos + key.length, value.length)
    this.arena.set(value, pos)
    this.used = pos + value.length
    this.starts[this.count++] = start
    if (this.inOrder && this.lastStart >= 0 && compareArenaKeys(this.arena, this.lastStart, start) > 0) {
      // Everything before this record came in order: it is one sorted chunk as it stands.
      this.inOrder = false
      this.chunks.push(this.starts.slice(0, this.count - 1))
      this.chunkStart = this.count - 1
    }
    this.lastStart = start
    // What a record costs, counted as the reference counts it.
    this.bytes += need + 8
    if (!this.inOrder && this.count - this.chunkStart >= SORT_CHUNK) {
      this.chunks.push(this.sortedRange(this.chunkStart, this.count))
      this.chunkStart = this.count
    }
    if (this.bytes >= this.memoryLimit) this.spill()
  }

  /** The starts of records [from, to) in key order, equal keys in their order of arrival. */
  private sortedRange(from: number, to: number): Uint32Array {
    const records = new Uint32Array(to - from)
    for (let i = 0; i < records.length; i++) records[i] = from + i
    const {arena, starts, high, low} = this
    records.sort((a, b) => high[a] - high[b] || low[a] - low[b] || compareArenaKeys(arena, starts[a], starts[b]))
    const order = new Uint32Array(records.length)
    for (let i = 0; i < records.length; i++) order[i] = starts[records[i]]
    return order
  }

  /**
   * The records as sources in key order: one when they came in order or `whole` asks for
   * one sort of everything (the quickest, the sorted chunks being runs the sort merges),
   * else a source per sorted chunk, which leaves only the last chunk to sort now.
   */
  private arenaSources(whole = false): RecordSource[] {
    if (this.count === 0) return []
    if (this.inOrder) return [new ArenaSource(this.arena, this.starts.slice(0, this.count))]
    if (whole) return [new ArenaSource(this.arena, this.sortedRange(0, this.count))]
    const chunks = [...this.chunks]
    if (this.chunkStart < this.count) chunks.push(this.sortedRange(this.chunkStart, this.count))
    return chunks.map((order) => new ArenaSource(this.arena, order))
  }

  private spill(): void {
    if (this.count === 0) return
    const path = `${this.basePath}.tmp.sorter.${String(this.runs.length).padStart(5, '0')}`
    const writer = new FlatWriter(path)
    try {
      mergeSources(this.arenaSources(true), (key, values) => {
        for (const value of values) {
          writer.write(key)
          writer.write(value)
        }
      })
    } finally {
      writer.close()
    }
    this.runs.push(path)
    this.reset()
  }

  private reset(): void {
    this.used = 0
    this.count = 0
    this.bytes = 0
    this.inOrder = true
    this.lastStart = -1
    this.chunks = []
    this.chunkStart = 0
  }

  /**
   * The runs in the order they were made, then what is in memory: equal keys come oldest
   * first. `whole`: what is in memory sorted at once (a synchronous synchronize), rather
   * than from its sorted chunks (a sliced one, which must not stall).
   */
  sources(whole = false): RecordSource[] {
    return [...this.runs.map((path): RecordSource => new FlatRunSource(path)), ...this.arenaSources(whole)]
  }

  /** Drops everything, and the run files with it. */
  discard(): void {
    for (const path of this.runs) fs.rmSync(path, {force: true})
    this.runs.length = 0
    this.reset()
    if (this.arena.length > 1 << 20) this.arena = Buffer.allocUnsafe(1 << 16)
  }
}

/**
 * Merges sources in key order and hands over each key with its values: the sources'
 * order decides among equal keys (the first source's values first), then each source's
 * own order. It goes as far as asked at a time, so that a long merge can yield between
 * steps.
 */
export class SourceMerger {
  /** Live sources as a binary heap by (current key, source order). */
  private heap: number[] | undefined
  // One array for every key's values: visit must not keep it.
  private readonly values: Buffer[] = []

  constructor(private readonly sources: RecordSource[]) {}

  private less(a: number, b: number): boolean {
    const order = Buffer.compare(this.sources[a].key, this.sources[b].key)
    return order < 0 || (order === 0 && a < b)
  }

  private push(source: number): void {
    const heap = this.heap!
    let i = heap.length
    heap.push(source)
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(heap[i], heap[parent])) break
      ;[heap[i], heap[parent]] = [heap[parent], heap[i]]
      i = parent
    }
  }

  private pop(): number {
    const heap = this.heap!
    const top = heap[0]
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const left = i * 2 + 1
        const right = left + 1
        let smallest = i
        if (left < heap.length && this.less(heap[left], heap[smallest])) smallest = left
        if (right < heap.length && this.less(heap[right], heap[smallest])) smallest = right
        if (smallest === i) break
        ;[heap[i], heap[smallest]] = [heap[smallest], heap[i]]
        i = smallest
      }
    }
    return top
  }

  /** Merges up to `keys` keys; true once every source is exhausted. */
  step(visit: (key: Buffer, values: Buffer[]) => void, keys = Number.POSITIVE_INFINITY): boolean {
    if (!this.heap) {
      this.heap = []
      this.sources.forEach((source, i) => {
        if (source.next()) this.push(i)
      })
    }
    const heap = this.heap
    const values = this.values
    for (let done = 0; done < keys && heap.length > 0; done++) {
      // Every source's key stays valid after it moves on (views of files that do not change, or copies).
      const key = this.sources[heap[0]].key
      values.length = 0
      // The sources holding the key come off the heap in their order; each gives all its values for it.
      while (heap.length > 0 && this.sources[heap[0]].key.equals(key)) {
        const index = this.pop()
        const source = this.sources[index]
        let more = true
        while (more && source.key.equals(key)) {
          values.push(source.value)
          more = source.next()
        }
        if (more) this.push(index)
      }
      visit(key, values)
    }
    return heap.length === 0
  }
}

/** Merges sources whole (see SourceMerger). */
export function mergeSources(sources: RecordSource[], visit: (key: Buffer, values: Buffer[]) => void): void {
  new SourceMerger(sources).step(visit)
}
