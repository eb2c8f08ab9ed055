import type {DBMIterator, InspectList, RebuildParams, RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {MemoryDBM} from './memory-dbm.js'
import {BucketIterator} from '../bucket-iterator.js'
import {ByteHashTable, processRecord, storeResult} from './byte-hash-table.js'

export const TINY_DEFAULT_BUCKETS = 1048583

/** The on-memory hash database: a chained hash table with `num_buckets` buckets. */
export class TinyDBM extends MemoryDBM {
  readonly className: string = 'TinyDBM'
  private readonly table: ByteHashTable
  private readonly bucketsGiven: boolean

  constructor(params: ParamReader = new ParamReader(new Map())) {
    super()
    this.bucketsGiven = params.has('num_buckets')
    this.table = new ByteHashTable(params.int('num_buckets', TINY_DEFAULT_BUCKETS, 1))
  }

  protected override applyMetadata(meta: Map<string, string>): void {
    const buckets = Number(meta.get('num_buckets'))
    if (!this.bucketsGiven && Number.isSafeInteger(buckets) && buckets > 0 && this.table.size === 0) this.table.resize(buckets)
  }

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const table = this.table
    const id = table.find(key)
    const result = processRecord(table, id, key, processor)
    if (writable) storeResult(table, id, key, result)
  }

  protected makeIteratorImpl(): DBMIterator {
    return new BucketIterator(this, this.table)
  }

  protected countImpl(): number {
    return this.table.size
  }

  protected clearRecords(): void {
    this.table.clear()
  }

  protected loadRecord(key: Buffer, value: Buffer): void {
    storeResult(this.table, this.table.find(key), key, value)
  }

  protected entries(): Iterable<[Buffer, Buffer]> {
    return this.table.entries()
  }

  protected snapshotEntries(): Iterable<[Buffer, Buffer]> {
    return this.table.snapshot().entries()
  }

  protected metadata(): [string, string][] {
    return [['num_buckets', String(this.table.numBuckets)]]
  }

  /** Re-sizes the buckets: to `num_buckets`, or to twice the record count (at least the default). */
  protected rebuildImpl(params: RebuildParams = {}): void {
    const reader = ParamReader.fromObject(params)
    const buckets = reader.int('num_buckets', Math.max(this.table.size * 2, TINY_DEFAULT_BUCKETS), 1)
    reader.finish()
    this.table.resize(buckets)
  }

  protected inspectImpl(): InspectList {
    return [...this.baseInspect(), ['num_buckets', String(this.table.numBuckets)]]
  }

  isOrdered(): boolean {
    return false
  }
}
