import {REMOVE, type DBMIterator, type InspectList, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {MemoryDBM} from './memory-dbm.js'
import {BucketIterator} from './bucket-iterator.js'
import {StringHashTable} from './string-hash-table.js'
import {applyToStored, toStored} from './stored.js'

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
    const name = toStored(key)
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
    const reader = ParamReader.fromObject(params)
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
