import * as fs from 'node:fs'
import {FLAT_DATA, FlatReader, FlatWriter} from '../io/flat.js'
import {MappedFile} from '../io/mapped-file.js'
import {varintSize, writeVarint} from '../io/varint.js'
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

/** A byte-delta size at pos: [size, the position after it]. */
function readSize(data: Buffer, pos: number): [number, number] {
  let value = 0
  for (;;) {
    const byte = data[pos++]
    value = value * 128 + (byte & 0x7f)
    if (byte < 0x80) return [value, pos]
  }
}

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
      const next = new Uint32Array(this.starts.length * 2)
      next.set(this.starts)
      this.starts = next
    }
    const start = this.used
    let pos = writeVarint(this.arena, start, key.length)
    this.arena.set(key, pos)
    pos = writeVarint(this.arena, pos + key.length, value.length)
    this.arena.set(value, pos)
    this.used = pos + value.length
    this.starts[this.count++] = start
    if (this.inOrder && this.lastStart >= 0 && compareArenaKeys(this.arena, this.lastStart, start) > 0) this.inOrder = false
    this.lastStart = start
    // What a record costs, counted as the reference counts it.
    this.bytes += need + 8
    if (this.bytes >= this.memoryLimit) this.spill()
  }

  /** The records' starts in key order, equal keys in their order of arrival. */
  private sortedOrder(): Uint32Array {
    const order = this.starts.slice(0, this.count)
    if (!this.inOrder) {
      const arena = this.arena
      order.sort((a, b) => compareArenaKeys(arena, a, b))
    }
    return order
  }

  private spill(): void {
    if (this.count === 0) return
    const path = `${this.basePath}.tmp.sorter.${String(this.runs.length).padStart(5, '0')}`
    const writer = new FlatWriter(path)
    try {
      const source = new ArenaSource(this.arena, this.sortedOrder())
      while (source.next()) {
        writer.write(source.key)
        writer.write(source.value)
      }
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
  }

  /** The runs in the order they were made, then what is in memory: equal keys come oldest first. */
  sources(): RecordSource[] {
    const sources: RecordSource[] = this.runs.map((path) => new FlatRunSource(path))
    if (this.count > 0) sources.push(new ArenaSource(this.arena, this.sortedOrder()))
    return sources
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
 * own order.
 */
export function mergeSources(sources: RecordSource[], visit: (key: Buffer, values: Buffer[]) => void): void {
  const live = sources.filter((source) => source.next())
  // One array for every key's values: visit must not keep it.
  const values: Buffer[] = []
  while (live.length > 0) {
    // Every source's key stays valid after it moves on (views of files that do not change, or copies).
    let key = live[0].key
    for (let i = 1; i < live.length; i++) if (Buffer.compare(live[i].key, key) < 0) key = live[i].key
    values.length = 0
    for (let i = 0; i < live.length;) {
      const source = live[i]
      let more = true
      while (more && source.key.equals(key)) {
        values.push(source.value)
        more = source.next()
      }
      if (more) i++
      else live.splice(i, 1)
    }
    visit(key, values)
  }
}
