import {DBMIterator, REMOVE, toBuffer, type Bytes, type InspectList, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {Code, StatusError} from '../status.js'
import {MemoryDBM} from './memory-dbm.js'
import {StringHashTable} from './string-hash-table.js'
import {applyToStored, fromStored} from './stored.js'

export const TINY_DEFAULT_BUCKETS = 1048583

/** The on-memory hash database: a chained hash table with `num_buckets` buckets. */
export class TinyDBM extends MemoryDBM {
  readonly className = 'TinyDBM'
  private readonly table: StringHashTable
  private readonly bucketsGiven: boolean

  constructor(params: ParamReader = new ParamReader(new Map())) {
    super()
    this.bucketsGiven = params.has('num_buckets')
    this.table = new StringHashTable(params.int('num_buckets', TINY_DEFAULT_BUCKETS, 1))
  }

  protected override applyMetadata(meta: Map<string, string>): void {
    const buckets = Number(meta.get('num_buckets'))
    if (!this.bucketsGiven && Number.isSafeInteger(buckets) && buckets > 0 && this.table.size === 0) this.table.resize(buckets)
  }

  process(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const name = key.toString("latin1")
    const table = this.table
    const id = table.find(name)
    const result = applyToStored(key, id === 0 ? undefined : table.valueOf(id), processor)
    if (!writable) return
    if (typeof result === 'string') {
      if (id === 0) table.insert(name, result)
      else table.setValue(id, result)
    } else if (result === REMOVE && id !== 0) {
      table.delete(name)
    }
  }

  makeIterator(): DBMIterator {
    return new BucketIterator(this.table)
  }

  count(): number {
    return this.table.size
  }

  protected clearRecords(): void {
    this.table.clear()
  }

  protected loadRecord(key: string, value: string): void {
    this.table.set(key, value)
  }

  protected entries(): Iterable<[string, string]> {
    return this.table.entries()
  }

  protected metadata(): [string, string][] {
    return [['num_buckets', String(this.table.numBuckets)]]
  }

  /** Re-sizes the buckets: to `num_buckets`, or to twice the record count (at least the default). */
  rebuild(params: RebuildParams = {}): void {
    this.checkOpen()
    const reader = new ParamReader(new Map(Object.entries(params)))
    const buckets = reader.int('num_buckets', Math.max(this.table.size * 2, TINY_DEFAULT_BUCKETS), 1)
    reader.finish()
    this.table.resize(buckets)
  }

  inspect(): InspectList {
    return [...this.baseInspect(), ['num_buckets', String(this.table.numBuckets)]]
  }

  isOrdered(): boolean {
    return false
  }
}

/**
 * Walks buckets in order. Entering a bucket takes a snapshot of its keys, so removals
 * (of the current record or others) neither skip nor repeat the records around them.
 */
class BucketIterator extends DBMIterator {
  private bucket = -1
  private pending: string[] = []
  private index = 0

  constructor(private readonly table: StringHashTable) {
    super()
  }

  private enter(bucket: number): void {
    this.bucket = bucket < 0 ? -1 : this.table.nextBucket(bucket)
    this.pending = this.bucket < 0 ? [] : this.table.bucketKeys(this.bucket)
    this.index = 0
  }

  /** Settles on a key that still exists, moving through the buckets as needed. */
  private current(): string | undefined {
    while (this.bucket >= 0) {
      while (this.index < this.pending.length) {
        const key = this.pending[this.index]
        if (this.table.find(key) !== 0) return key
        this.index++
      }
      this.enter(this.bucket + 1)
    }
    return undefined
  }

  first(): void {
    this.enter(0)
  }

  jump(key: Bytes): void {
    const name = toBuffer(key).toString('latin1')
    if (this.table.find(name) === 0) {
      this.enter(-1)
      return
    }
    this.enter(this.table.bucketOf(name))
    this.index = this.pending.indexOf(name)
  }

  last(): void {
    throw unordered()
  }

  jumpLower(): void {
    throw unordered()
  }

  jumpUpper(): void {
    throw unordered()
  }

  previous(): void {
    throw unordered()
  }

  /** Steps past the slot it stands on, even if that record was removed meanwhile. */
  next(): void {
    if (this.bucket >= 0) this.index++
  }

  process(processor: RecordProcessor, writable: boolean): boolean {
    const key = this.current()
    if (key === undefined) return false
    const id = this.table.find(key)
    const result = applyToStored(fromStored(key), this.table.valueOf(id), processor)
    if (!writable) return true
    if (typeof result === 'string') this.table.setValue(id, result)
    else if (result === REMOVE) {
      this.table.delete(key)
      this.index++
    }
    return true
  }
}

function unordered(): StatusError {
  return new StatusError(Code.NOT_IMPLEMENTED_ERROR, 'not implemented for an unordered database')
}
