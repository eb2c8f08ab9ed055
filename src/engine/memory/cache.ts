import {NOOP, REMOVE, type DBMIterator, type InspectList, type ProcessResult, type RebuildParams, type RecordProcessor} from '../dbm.js'
import {ParamReader} from '../params.js'
import {BucketIterator} from '../bucket-iterator.js'
import {ByteHashTable, processRecord, storeResult} from './byte-hash-table.js'
import {MemoryDBM} from './memory-dbm.js'

export const CACHE_DEFAULT_CAP_REC_NUM = 1048576
const CACHE_BUCKETS = 1048583

// What a record costs beyond its bytes (table slots and list links), for cap_mem_size.
const RECORD_OVERHEAD = 40

/**
 * The on-memory LRU cache: the hash table of TinyDBM plus a doubly linked recency list in
 * typed arrays indexed by record id. Every access moves a record to the young end; when the
 * record count or the memory estimate passes its cap, records leave from the old end.
 */
export class CacheDBM extends MemoryDBM {
  readonly className = 'CacheDBM'
  private readonly table = new ByteHashTable(CACHE_BUCKETS)
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

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    const id = this.table.find(key)
    const result = processRecord(this.table, id, key, processor)
    const use = !processor.walking
    if (writable && result !== NOOP) this.apply(id, key, result, use)
    else if (id !== 0 && use) this.touch(id)
  }

  /** Applies a processor's answer with the cache's accounting; `use` marks the record used. */
  private apply(id: number, key: Buffer, result: ProcessResult, use: boolean): void {
    if (result === NOOP) return
    if (result === REMOVE) {
      if (id !== 0) this.drop(key, id)
      return
    }
    const before = id === 0 ? 0 : this.table.valueSizeOf(id)
    const after = storeResult(this.table, id, key, result)
    if (id === 0) {
      this.linkYoungest(after)
      this.effDataSize += key.length + this.table.valueSizeOf(after)
    } else {
      this.effDataSize += this.table.valueSizeOf(after) - before
      if (use) this.touch(after)
    }
    this.evict()
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

  private drop(key: Buffer, id: number): void {
    this.effDataSize -= key.length + this.table.valueSizeOf(id)
    this.unlink(id)
    this.table.delete(key)
  }

  private evict(): void {
    while (this.oldest !== 0 && (this.table.size > this.capRecNum || (this.capMemSize > 0 && this.memUsage() > this.capMemSize && this.table.size > 1))) {
      this.drop(this.table.keyOf(this.oldest), this.oldest)
    }
  }

  private memUsage(): number {
    return this.effDataSize + this.table.size * RECORD_OVERHEAD
  }

  protected makeIteratorImpl(): DBMIterator {
    // Writes through a cursor keep the accounting right but do not count as use.
    return new BucketIterator(this, this.table)
  }

  protected countImpl(): number {
    return this.table.size
  }

  protected clearRecords(): void {
    this.table.clear()
    this.oldest = 0
    this.youngest = 0
    this.effDataSize = 0
  }

  protected loadRecord(key: Buffer, value: Buffer): void {
    this.apply(this.table.find(key), key, value, true)
  }

  /** Records from the oldest to the youngest, so a reload keeps the recency order. */
  protected *entries(): Iterable<[Buffer, Buffer]> {
    for (let id = this.oldest; id !== 0; id = this.younger[id]) yield [this.table.keyOf(id), this.table.valueOf(id)]
  }

  /** The records from the oldest to the youngest, as they are now. */
  protected snapshotEntries(): Iterable<[Buffer, Buffer]> {
    const table = this.table.snapshot()
    const younger = this.younger.slice()
    const oldest = this.oldest
    return (function* () {
      try {
        for (let id = oldest; id !== 0; id = younger[id]) yield [table.keyOf(id), table.valueOf(id)]
      } finally {
        table.release()
      }
    })()
  }

  protected metadata(): [string, string][] {
    return [
      ['cap_mem_size', String(this.capMemSize)],
      ['cap_rec_num', String(this.capRecNum)],
    ]
  }

  protected rebuildImpl(params: RebuildParams = {}): void {
    const reader = ParamReader.fromObject(params)
    this.capRecNum = reader.int('cap_rec_num', this.capRecNum, 1)
    this.capMemSize = reader.int('cap_mem_size', this.capMemSize, 0)
    reader.finish()
    this.evict()
  }

  protected inspectImpl(): InspectList {
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
