import * as fs from 'node:fs'
import {FLAT_DATA, FlatReader, FlatWriter} from '../io/flat.js'
import {MappedFile} from '../io/mapped-file.js'
import {varintSize} from '../io/varint.js'
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
    this.key = this.reader.key(record)
    this.value = this.reader.value(record)
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

/** Records held in memory, in the order given. */
class ArraySource implements RecordSource {
  key: Buffer = Buffer.alloc(0)
  value: Buffer = Buffer.alloc(0)
  private position = 0

  constructor(
    private readonly keys: Buffer[],
    private readonly values: Buffer[],
    private readonly order: number[],
  ) {}

  next(): boolean {
    if (this.position >= this.order.length) return false
    const i = this.order[this.position++]
    this.key = this.keys[i]
    this.value = this.values[i]
    return true
  }

  close(): void {}
}

/** Indices of keys in byte order, equal keys in the order they came (the sort is stable). */
function sortedOrder(keys: Buffer[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => Buffer.compare(keys[a], keys[b]))
}

/**
 * The updates of a skip list waiting for its next synchronize: held in memory up to
 * sort_mem_size bytes, then sorted and spilled to a temporary run file, so that a load
 * larger than memory is sorted by merging runs.
 */
export class PendingRecords {
  private keys: Buffer[] = []
  private values: Buffer[] = []
  private bytes = 0
  private readonly runs: string[] = []

  constructor(
    private readonly basePath: string,
    private readonly memoryLimit: number,
  ) {}

  get empty(): boolean {
    return this.keys.length === 0 && this.runs.length === 0
  }

  add(key: Buffer, value: Buffer): void {
    this.keys.push(Buffer.from(key))
    this.values.push(Buffer.from(value))
    // What a record costs in memory, counted as the reference counts it.
    this.bytes += varintSize(key.length) + key.length + varintSize(value.length) + value.length + 8
    if (this.bytes >= this.memoryLimit) this.spill()
  }

  private spill(): void {
    const path = `${this.basePath}.tmp.sorter.${String(this.runs.length).padStart(5, '0')}`
    const writer = new FlatWriter(path)
    try {
      for (const i of sortedOrder(this.keys)) {
        writer.write(this.keys[i])
        writer.write(this.values[i])
      }
    } finally {
      writer.close()
    }
    this.runs.push(path)
    this.keys = []
    this.values = []
    this.bytes = 0
  }

  /** The runs in the order they were made, then what is in memory: equal keys come oldest first. */
  sources(): RecordSource[] {
    const sources: RecordSource[] = this.runs.map((path) => new FlatRunSource(path))
    if (this.keys.length > 0) sources.push(new ArraySource(this.keys, this.values, sortedOrder(this.keys)))
    return sources
  }

  /** Drops everything, and the run files with it. */
  discard(): void {
    for (const path of this.runs) fs.rmSync(path, {force: true})
    this.runs.length = 0
    this.keys = []
    this.values = []
    this.bytes = 0
  }
}

/**
 * Merges sources in key order and hands over each key with its values: the sources'
 * order decides among equal keys (the first source's values first), then each source's
 * own order.
 */
export function mergeSources(sources: RecordSource[], visit: (key: Buffer, values: Buffer[]) => void): void {
  const live = sources.filter((source) => source.next())
  while (live.length > 0) {
    let key = live[0].key
    for (let i = 1; i < live.length; i++) if (Buffer.compare(live[i].key, key) < 0) key = live[i].key
    key = Buffer.from(key)
    const values: Buffer[] = []
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
