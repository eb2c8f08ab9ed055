import {REMOVE, type DBMIterator, type InspectList, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {MapIterator} from './map-iterator.js'
import {MemoryDBM} from './memory-dbm.js'
import {applyToStored} from './stored.js'

export const TINY_DEFAULT_BUCKETS = 1048583

/** The on-memory hash database. */
export class TinyDBM extends MemoryDBM {
  readonly className = 'TinyDBM'
  private readonly table = new Map<string, string>()
  private numBuckets: number

  constructor(params: ParamReader = new ParamReader(new Map())) {
    super()
    this.numBuckets = params.int('num_buckets', TINY_DEFAULT_BUCKETS, 1)
  }

  process(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const name = key.toString('latin1')
    const result = applyToStored(key, this.table.get(name), processor)
    if (!writable) return
    if (typeof result === 'string') this.table.set(name, result)
    else if (result === REMOVE) this.table.delete(name)
  }

  makeIterator(): DBMIterator {
    return new MapIterator(this.table)
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
    return [['num_buckets', String(this.numBuckets)]]
  }

  /** Records the new bucket count; the Map re-sizes its table by itself. */
  rebuild(params: RebuildParams = {}): void {
    this.checkOpen()
    const reader = new ParamReader(new Map(Object.entries(params)))
    this.numBuckets = reader.int('num_buckets', Math.max(this.table.size * 2, TINY_DEFAULT_BUCKETS), 1)
    reader.finish()
  }

  inspect(): InspectList {
    return [...this.baseInspect(), ['num_buckets', String(this.numBuckets)]]
  }

  isOrdered(): boolean {
    return false
  }
}

