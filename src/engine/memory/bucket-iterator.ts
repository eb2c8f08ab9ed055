import {UnorderedIterator, REMOVE, type DBM, type ProcessResult, type RecordProcessor} from '../dbm.js'
import {processRecord, storeResult, type ByteHashTable} from './byte-hash-table.js'

/**
 * Walks buckets in order. Entering a bucket takes a snapshot of its keys, so removals
 * (of the current record or others) neither skip nor repeat the records around them.
 */
export class BucketIterator extends UnorderedIterator {
  private bucket = -1
  private pending: Buffer[] = []
  private index = 0

  constructor(
    owner: DBM,
    private readonly table: ByteHashTable,
    // How writes through the cursor reach the database, so a class can keep its accounting.
    private readonly store: (id: number, key: Buffer, result: ProcessResult) => void = (id, key, result) => void storeResult(table, id, key, result),
  ) {
    super(owner)
  }

  private enter(bucket: number): void {
    this.bucket = bucket < 0 ? -1 : this.table.nextBucket(bucket)
    this.pending = this.bucket < 0 ? [] : this.table.bucketKeys(this.bucket)
    this.index = 0
  }

  /** Settles on a key that still exists, moving through the buckets as needed. */
  private current(): Buffer | undefined {
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

  protected firstImpl(): void {
    this.enter(0)
  }

  protected jumpImpl(key: Buffer): void {
    const wanted = key
    if (this.table.find(wanted) === 0) {
      this.enter(-1)
      return
    }
    this.enter(this.table.bucketOf(wanted))
    this.index = this.pending.findIndex((candidate) => candidate.equals(wanted))
  }

  /** Steps past the slot it stands on, even if that record was removed meanwhile. */
  protected nextImpl(): void {
    if (this.bucket >= 0) this.index++
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    const key = this.current()
    if (key === undefined) return false
    const id = this.table.find(key)
    const result = processRecord(this.table, id, key, processor)
    if (!writable) return true
    this.store(id, key, result)
    if (result === REMOVE) this.index++
    return true
  }
}
