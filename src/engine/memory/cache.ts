import {REMOVE, type DBMIterator, type InspectList, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {MapIterator} from './map-iterator.js'
import {MemoryDBM} from './memory-dbm.js'
import {applyToStored} from './stored.js'

export const CACHE_DEFAULT_CAP_REC_NUM = 1048576

// What a record costs beyond its bytes (map entry and string headers), for cap_mem_size.
const RECORD_OVERHEAD = 64

/**
 * The on-memory LRU cache: a Map in recency order (a touched record is moved to the end),
 * evicting from the front when the record count or the memory estimate exceeds its cap.
 */
export class CacheDBM extends MemoryDBM {
  readonly className = 'CacheDBM'
  private readonly table = new Map<string, string>()
  private capRecNum: number
  private capMemSize: number
  private effDataSize = 0

  private readonly capsGiven: boolean

  constructor(params: ParamReader = new ParamReader(new Map())) {
    super()
    this.capsGiven = params.has('cap_rec_num') || params.has('cap_mem_size')
    this.capRecNum = params.int('cap_rec_num', CACHE_DEFAULT_CAP_REC_NUM, 1)
    this.capMemSize = params.int('cap_mem_size', 0, 0)
  }

  protected override applyMetadata(meta: Map<string, string>): void {
    if (this.capsGiven) return
    const recNum = Number(meta.get('cap_rec_num'))
    const memSize = Number(meta.get('cap_mem_size'))
    if (Number.isSafeInteger(recNum) && recNum > 0) this.capRecNum = recNum
    if (Number.isSafeInteger(memSize) && memSize >= 0) this.capMemSize = memSize
  }

  process(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const name = key.toString('latin1')
    const old = this.table.get(name)
    const result = applyToStored(key, old, processor)
    if (typeof result === 'string' && writable) {
      this.store(name, result)
    } else if (result === REMOVE && writable) {
      if (old !== undefined) this.drop(name, old)
    } else if (old !== undefined) {
      // A read counts as use: move the record to the young end.
      this.table.delete(name)
      this.table.set(name, old)
    }
  }

  private store(key: string, value: string): void {
    const old = this.table.get(key)
    if (old !== undefined) {
      this.effDataSize -= key.length + old.length
      this.table.delete(key)
    }
    this.table.set(key, value)
    this.effDataSize += key.length + value.length
    this.evict()
  }

  private drop(key: string, value: string): void {
    this.table.delete(key)
    this.effDataSize -= key.length + value.length
  }

  private evict(): void {
    while (this.table.size > this.capRecNum || (this.capMemSize > 0 && this.memUsage() > this.capMemSize && this.table.size > 1)) {
      const oldest = this.table.entries().next().value as [string, string]
      this.drop(oldest[0], oldest[1])
    }
  }

  private memUsage(): number {
    return this.effDataSize + this.table.size * RECORD_OVERHEAD
  }

  makeIterator(): DBMIterator {
    // Writes through an iterator keep the record's place, so a scan does not revisit it.
    return new MapIterator(
      this.table,
      (key, value) => {
        const old = this.table.get(key)
        this.effDataSize += value.length - (old?.length ?? -key.length)
        this.table.set(key, value)
      },
      (key) => {
        const old = this.table.get(key)
        if (old !== undefined) this.drop(key, old)
      },
    )
  }

  count(): number {
    return this.table.size
  }

  protected clearRecords(): void {
    this.table.clear()
    this.effDataSize = 0
  }

  protected loadRecord(key: string, value: string): void {
    this.store(key, value)
  }

  protected entries(): Iterable<[string, string]> {
    return this.table.entries()
  }

  protected metadata(): [string, string][] {
    return [
      ['cap_mem_size', String(this.capMemSize)],
      ['cap_rec_num', String(this.capRecNum)],
    ]
  }

  rebuild(params: RebuildParams = {}): void {
    this.checkOpen()
    const reader = new ParamReader(new Map(Object.entries(params)))
    this.capRecNum = reader.int('cap_rec_num', this.capRecNum, 1)
    this.capMemSize = reader.int('cap_mem_size', this.capMemSize, 0)
    reader.finish()
    this.evict()
  }

  inspect(): InspectList {
    return [
      ...this.baseInspect(),
      ['eff_data_size', String(this.effDataSize)],
      ['mem_usage', String(this.memUsage())],
      ['cap_rec_num', String(this.capRecNum)],
      ['cap_mem_size', String(this.capMemSize)],
    ]
  }

  isOrdered(): boolean {
    return false
  }
}
