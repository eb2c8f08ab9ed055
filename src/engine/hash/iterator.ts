import {UnorderedIterator, NOOP, REMOVE, type RecordProcessor} from '../dbm.js'
import type {HashDBM} from './hash-dbm.js'

/**
 * Walks the buckets in order. Entering a bucket takes a snapshot of its live keys, and each
 * visit goes through the database's own process, so records removed meanwhile are skipped
 * and updates made through the cursor are ordinary updates.
 */
export class HashIterator extends UnorderedIterator {
  private bucket = -1
  private keys: Buffer[] = []
  private index = 0

  constructor(private readonly dbm: HashDBM) {
    super(dbm)
  }

  /** Enters the first bucket at or after `from` that has records; -1 past the end. */
  private enter(from: number): void {
    const count = this.dbm.bucketCount
    for (let bucket = Math.max(0, from); bucket < count; bucket++) {
      const keys = this.dbm.bucketKeys(bucket)
      if (keys.length > 0) {
        this.bucket = bucket
        this.keys = keys
        this.index = 0
        return
      }
    }
    this.bucket = -1
    this.keys = []
    this.index = 0
  }

  protected firstImpl(): void {
    this.enter(0)
  }

  protected jumpImpl(key: Buffer): void {
    const wanted = key
    const bucket = this.dbm.bucketOfKey(wanted)
    const keys = this.dbm.bucketKeys(bucket)
    const at = keys.findIndex((candidate) => candidate.equals(wanted))
    if (at < 0) {
      this.enter(-1)
      this.bucket = -1
      return
    }
    this.bucket = bucket
    this.keys = keys
    this.index = at
  }

  protected nextImpl(): void {
    if (this.bucket >= 0) this.index++
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    while (this.bucket >= 0) {
      while (this.index < this.keys.length) {
        const key = this.keys[this.index]
        let present = false
        let removed = false
        this.dbm.process(
          key,
          {
            ignoresValue: processor.ignoresValue,
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
