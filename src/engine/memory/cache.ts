import {REMOVE, type DBMIterator, type InspectList, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {BucketIterator} from './bucket-iterator.js'
import {MemoryDBM} from './memory-dbm.js'
import {StringHashTable} from './string-hash-table.js'
import {applyToStored, toStored} from './stored.js'

export const CACHE_DEFAULT_CAP_REC_NUM = 1048576
const CACHE_BUCKETS = 1048583

// What a record costs beyond its bytes (table slots and string headers), for cap_mem_size.
const RECORD_OVERHEAD = 64

/**
 * The on-memory LRU cache: the hash table of TinyDBM plus a doubly linked recency list in
 * typed arrays indexed by record id. Every access moves a record to the young end; when the
 * record count or the memory estimate passes its cap, records leave from the old end.
 */
export class CacheDBM extends MemoryDBM {
  readonly className = 'CacheDBM'
  private readonly table = new StringHashTable(CACHE_BUCKETS)
  private older = new Int32Array(1024)
  private younger = new Int32Array(1024)
  // The list's ends; 0 means none.
  private oldest = 0
  private youngest = 0
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
    const name = toStored(key)
    const id = this.table.find(name)
    const old = id === 0 ? undefined : this.table.valueOf(id)
    const result = applyToStored(key, old, processor)
    if (writable && typeof result === 'string') {
      if (id === 0) this.add(name, result)
      else this.replace(id, result)
    } else if (writable && result === REMOVE) {
      if (id !== 0) this.drop(name)
    } else if (id !== 0) {
      this.touch(id)
    }
  }

  private unlink(id: number): void {
    const older = this.older[id]
    const younger = this.younger[id]
    if (older === 0) this.oldest = younger
    else this.younger[older] = younger
    if (younger === 0) this.youngest = older
    else this.older[younger] = older
  }

  private linkYoungest(id: number): void {
    if (id >= this.older.length) {
      const size = Math.max(id + 1, this.older.length * 2)
      const older = new Int32Array(size)
      older.set(this.older)
      this.older = older
      const younger = new Int32Array(size)
      younger.set(this.younger)
      this.younger = younger
    }
    this.older[id] = this.youngest
    this.younger[id] = 0
    if (this.youngest === 0) this.oldest = id
    else this.younger[this.youngest] = id
    this.youngest = id
  }

  private touch(id: number): void {
    if (id === this.youngest) return
    this.unlink(id)
    this.linkYoungest(id)
  }

  private add(key: string, value: string): void {
    const id = this.table.insert(key, value)
    this.linkYoungest(id)
    this.effDataSize += key.length + value.length
    this.evict()
  }

  private replace(id: number, value: string): void {
    this.effDataSize += value.length - this.table.valueOf(id).length
    this.table.setValue(id, value)
    this.touch(id)
    this.evict()
  }

  private drop(key: string): void {
    const id = this.table.find(key)
    if (id === 0) return
    this.effDataSize -= key.length + this.table.valueOf(id).length
    this.unlink(id)
    this.table.delete(key)
  }

  private evict(): void {
    while (
      this.oldest !== 0 &&
      (this.table.size > this.capRecNum || (this.capMemSize > 0 && this.memUsage() > this.capMemSize && this.table.size > 1))
    ) {
      this.drop(this.table.keyOf(this.oldest))
    }
  }

  private memUsage(): number {
    return this.effDataSize + this.table.size * RECORD_OVERHEAD
  }

  makeIterator(): DBMIterator {
    // Writes through a cursor keep the accounting right but do not count as use.
    return new BucketIterator(
      this.table,
      (id, value) => {
        this.effDataSize += value.length - this.table.valueOf(id).length
        this.table.setValue(id, value)
      },
      (key) => this.drop(key),
    )
  }

  count(): number {
    return this.table.size
  }

  protected clearRecords(): void {
    this.table.clear()
    this.oldest = 0
    this.youngest = 0
    this.effDataSize = 0
  }

  protected loadRecord(key: string, value: string): void {
    const id = this.table.find(key)
    if (id === 0) this.add(key, value)
    else this.replace(id, value)
  }

  /** Records from the oldest to the youngest, so a reload keeps the recency order. */
  protected *entries(): Iterable<[string, string]> {
    for (let id = this.oldest; id !== 0; id = this.younger[id]) yield [this.table.keyOf(id), this.table.valueOf(id)]
  }

  protected metadata(): [string, string][] {
    return [
      ['cap_mem_size', String(this.capMemSize)],
      ['cap_rec_num', String(this.capRecNum)],
    ]
  }

  rebuild(params: RebuildParams = {}): void {
    this.checkOpen()
    const reader = ParamReader.fromObject(params)
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
