import {NOOP, REMOVE, UnorderedIterator, type DBM, type RecordProcessor} from './dbm.js'

/** What a cursor needs of a hash-like class: its buckets and the keys in each. */
export interface Buckets {
  /** The first bucket at or after `from` that may hold records; -1 past the last. */
  nextBucket(from: number): number
  /** The live keys in a bucket, as copies. */
  bucketKeys(bucket: number): Buffer[]
  /** The bucket a key hashes to. */
  bucketOf(key: Buffer): number
}

/**
 * The cursor of every hash-like class: it walks the buckets in order, and entering a bucket
 * takes a snapshot of its keys, so removals (of the current record or others) neither skip
 * nor repeat the records around them. Every visit looks the key up through the class's
 * own primitive, so records removed meanwhile are skipped; the cursor's gate has checked
 * the state and observes its writes like any other.
 */
export class BucketIterator extends UnorderedIterator {
  private bucket = -1
  private keys: Buffer[] = []
  private index = 0

  constructor(
    owner: DBM,
    private readonly buckets: Buckets,
  ) {
    super(owner)
  }

  /** Enters the first bucket at or after `from` that has keys; past the end when none does. */
  private enter(from: number): void {
    for (let bucket = this.buckets.nextBucket(Math.max(0, from)); bucket >= 0; bucket = this.buckets.nextBucket(bucket + 1)) {
      const keys = this.buckets.bucketKeys(bucket)
      if (keys.length > 0) {
        this.bucket = bucket
        this.keys = keys
        this.index = 0
        return
      }
    }
    this.end()
  }

  private end(): void {
    this.bucket = -1
    this.keys = []
    this.index = 0
  }

  protected firstImpl(): void {
    this.enter(0)
  }

  protected jumpImpl(key: Buffer): void {
    const bucket = this.buckets.bucketOf(key)
    const keys = this.buckets.bucketKeys(bucket)
    const at = keys.findIndex((candidate) => candidate.equals(key))
    if (at < 0) return this.end()
    this.bucket = bucket
    this.keys = keys
    this.index = at
  }

  /** Steps past the key it stands on, even if that record was removed meanwhile. */
  protected nextImpl(): void {
    if (this.bucket >= 0) this.index++
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    while (this.bucket >= 0) {
      while (this.index < this.keys.length) {
        const key = this.keys[this.index]
        let present = false
        let removed = false
        this.owner.processForCursor(
          key,
          {
            ignoresValue: processor.ignoresValue,
            walking: true,
            processFull: (k, value) => {
              present = true
              const result = processor.processFull(k, value)
              removed = result === REMOVE
              return result
            },
            processEmpty: () => NOOP,
          },
          writable,
        )
        if (present) {
          // A removal moves the cursor on to the next record.
          if (removed && writable) this.index++
          return true
        }
        this.index++
      }
      this.enter(this.bucket + 1)
    }
    return false
  }
}
