/**
 * A chained hash table of latin1 string keys and values with a fixed bucket count, the
 * structure TinyDBM is specified with. Records live in parallel arrays indexed by a record
 * id, so the table itself adds no object per record and never rehashes while it grows.
 */
export class StringHashTable {
  private buckets: Int32Array
  private chain = new Int32Array(1024)
  // Slot 0 is unused so that 0 can mean "no record" in buckets and chains.
  private keys: (string | undefined)[] = [undefined]
  private values: (string | undefined)[] = [undefined]
  private freeIds: number[] = []
  size = 0

  constructor(numBuckets: number) {
    this.buckets = new Int32Array(numBuckets)
  }

  get numBuckets(): number {
    return this.buckets.length
  }

  bucketOf(key: string): number {
    let h = 0x811c9dc5
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
    return (h >>> 0) % this.buckets.length
  }

  /** The record id of a key, or 0. */
  find(key: string): number {
    for (let id = this.buckets[this.bucketOf(key)]; id !== 0; id = this.chain[id]) {
      if (this.keys[id] === key) return id
    }
    return 0
  }

  get(key: string): string | undefined {
    const id = this.find(key)
    return id === 0 ? undefined : this.values[id]
  }

  valueOf(id: number): string {
    return this.values[id]!
  }

  setValue(id: number, value: string): void {
    this.values[id] = value
  }

  /** Record ids run from 1 to below this; arrays indexed by id must be this long. */
  get idLimit(): number {
    return this.keys.length
  }

  keyOf(id: number): string {
    return this.keys[id]!
  }

  /** Stores a record that `find` said is absent, and returns its id. */
  insert(key: string, value: string): number {
    const bucket = this.bucketOf(key)
    let id = this.freeIds.pop()
    if (id === undefined) {
      id = this.keys.length
      this.keys.push(key)
      this.values.push(value)
      if (id >= this.chain.length) {
        const grown = new Int32Array(this.chain.length * 2)
        grown.set(this.chain)
        this.chain = grown
      }
    } else {
      this.keys[id] = key
      this.values[id] = value
    }
    this.chain[id] = this.buckets[bucket]
    this.buckets[bucket] = id
    this.size++
    return id
  }

  set(key: string, value: string): void {
    const id = this.find(key)
    if (id === 0) this.insert(key, value)
    else this.values[id] = value
  }

  /** Removes a record; returns the id it had, or 0 if there was none. */
  delete(key: string): number {
    const bucket = this.bucketOf(key)
    let prev = 0
    for (let id = this.buckets[bucket]; id !== 0; prev = id, id = this.chain[id]) {
      if (this.keys[id] !== key) continue
      if (prev === 0) this.buckets[bucket] = this.chain[id]
      else this.chain[prev] = this.chain[id]
      this.keys[id] = undefined
      this.values[id] = undefined
      this.freeIds.push(id)
      this.size--
      return id
    }
    return 0
  }

  /** The keys of one bucket, in chain order. */
  bucketKeys(bucket: number): string[] {
    const found: string[] = []
    for (let id = this.buckets[bucket]; id !== 0; id = this.chain[id]) found.push(this.keys[id]!)
    return found
  }

  /** The first bucket at or after `from` that holds a record, or -1. */
  nextBucket(from: number): number {
    for (let bucket = from; bucket < this.buckets.length; bucket++) if (this.buckets[bucket] !== 0) return bucket
    return -1
  }

  *entries(): Generator<[string, string]> {
    for (let bucket = 0; bucket < this.buckets.length; bucket++) {
      for (let id = this.buckets[bucket]; id !== 0; id = this.chain[id]) yield [this.keys[id]!, this.values[id]!]
    }
  }

  clear(): void {
    this.buckets.fill(0)
    this.chain = new Int32Array(1024)
    this.keys = [undefined]
    this.values = [undefined]
    this.freeIds = []
    this.size = 0
  }

  /** Re-distributes every record over a new bucket count, packing the record arrays. */
  resize(numBuckets: number): void {
    const records = [...this.entries()]
    this.buckets = new Int32Array(numBuckets)
    this.clear()
    for (const [key, value] of records) this.insert(key, value)
  }
}
