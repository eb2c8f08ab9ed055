import {AppendTail, NOOP, REMOVE, type ProcessResult, type RecordProcessor} from '../dbm.js'
import {copyOut} from '../io/bytes.js'

/**
 * A chained hash table with a fixed bucket count, the structure TinyDBM is specified with,
 * whose records live as bytes in large shared chunks instead of one heap object each.
 * A record id indexes typed arrays (chain link, chunk, offset, key size, value size, value
 * room), so a million small records cost a few tens of megabytes and no garbage
 * collection work. Space left by removed or moved records is reclaimed by compacting the
 * chunks when it outgrows the live data.
 */

const CHUNK_SIZE = 1 << 20
// Regions at least this large get a chunk of their own, so big values waste nothing.
const OWN_CHUNK_SIZE = CHUNK_SIZE >> 2
const MIN_COMPACT_GARBAGE = 16 << 20

function grow(array: Int32Array<ArrayBuffer>, size: number): Int32Array<ArrayBuffer> {
  if (size <= array.length) return array
  const grown = new Int32Array(Math.max(size, array.length * 2))
  grown.set(array)
  return grown
}

export class ByteHashTable {
  private buckets: Int32Array
  private chain = new Int32Array(1024)
  private chunkOf = new Int32Array(1024)
  private offsetOf = new Int32Array(1024)
  private keySize = new Int32Array(1024)
  private valueSize = new Int32Array(1024)
  /** Bytes reserved for the value; more than its size after appends, so appends stay linear. */
  private valueRoom = new Int32Array(1024)
  // Id 0 is never used, so that 0 can mean "no record" in buckets and chains.
  private nextId = 1
  // Ids of removed records, a stack in a typed array: a million removals cost 4 MB, not a heap array.
  /**
   * The ids of removed records, linked through their chain slots (a removed record is in no
   * bucket's chain): reusing them costs no memory of its own, where a stack of them grew to
   * 4 MB over a million removals. 0 ends the list.
   */
  private freeHead = 0
  private chunks: Buffer[] = []
  private tail = -1
  private tailUsed = CHUNK_SIZE
  private liveBytes = 0
  private garbageBytes = 0
  size = 0
  /**
   * Called before a value is overwritten in place: how a snapshot keeps the chunk as it
   * was. Nothing else changes bytes a record already uses (new bytes go to fresh space,
   * and appends in place write past the old value's end).
   */
  private chunkWatcher: ((chunkIndex: number) => void) | null = null

  /**
   * Every bucket below this one is empty: a search for the first record (a queue's pop, a
   * cursor's first) starts here instead of at bucket 0, which on a table of a million
   * buckets holding a few records costs a millisecond each time.
   */
  private lowestUsed = 0

  constructor(numBuckets: number) {
    this.buckets = new Int32Array(numBuckets)
  }

  get numBuckets(): number {
    return this.buckets.length
  }

  bucketOf(key: Uint8Array): number {
    let h = 0x811c9dc5
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i], 0x01000193)
    return (h >>> 0) % this.buckets.length
  }

  private matches(id: number, key: Uint8Array): boolean {
    const size = key.length
    if (this.keySize[id] !== size) return false
    const chunk = this.chunks[this.chunkOf[id]]
    const offset = this.offsetOf[id]
    let i = 0
    while (i < size && chunk[offset + i] === key[i]) i++
    return i === size
  }

  // The key find looked for last and its bucket: an insert that follows (the usual set of a
  // new key) does not hash it again.
  private foundKey: Uint8Array | undefined
  private foundBucket = 0

  /** The record id of a key, or 0. */
  find(key: Uint8Array): number {
    const bucket = this.bucketOf(key)
    this.foundKey = key
    this.foundBucket = bucket
    for (let id = this.buckets[bucket]; id !== 0; id = this.chain[id]) if (this.matches(id, key)) return id
    return 0
  }

  keyOf(id: number): Buffer {
    return copyOut(this.chunks[this.chunkOf[id]], this.offsetOf[id], this.keySize[id])
  }

  /** A copy of the value. */
  valueOf(id: number): Buffer {
    return copyOut(this.chunks[this.chunkOf[id]], this.offsetOf[id] + this.keySize[id], this.valueSize[id])
  }

  valueSizeOf(id: number): number {
    return this.valueSize[id]
  }

  // Where the last allocate placed its region (fields, so that no pair is made per record).
  private allocatedChunk = 0
  private allocatedOffset = 0

  /** Reserves a region, at allocatedChunk and allocatedOffset. May compact first. */
  private allocate(size: number): void {
    if (this.garbageBytes > MIN_COMPACT_GARBAGE && this.garbageBytes > this.liveBytes) this.compact()
    if (size >= OWN_CHUNK_SIZE) {
      this.chunks.push(Buffer.allocUnsafe(size))
      this.allocatedChunk = this.chunks.length - 1
      this.allocatedOffset = 0
      return
    }
    if (this.tail < 0 || this.tailUsed + size > CHUNK_SIZE) {
      if (this.tail >= 0) this.garbageBytes += CHUNK_SIZE - this.tailUsed
      this.chunks.push(Buffer.allocUnsafe(CHUNK_SIZE))
      this.tail = this.chunks.length - 1
      this.tailUsed = 0
    }
    this.allocatedChunk = this.tail
    this.allocatedOffset = this.tailUsed
    this.tailUsed += size
  }

  /** Places key and value in a fresh region with room for `room` value bytes. */
  private place(id: number, key: Uint8Array, value: Uint8Array, valueStart: number, room: number): void {
    this.allocate(key.length + room)
    const chunkIndex = this.allocatedChunk
    const offset = this.allocatedOffset
    const chunk = this.chunks[chunkIndex]
    if (key.length <= 32) for (let i = 0; i < key.length; i++) chunk[offset + i] = key[i]
    else chunk.set(key, offset)
    const length = value.length - valueStart
    const target = offset + key.length
    if (length <= 32) for (let i = 0; i < length; i++) chunk[target + i] = value[valueStart + i]
    else chunk.set(valueStart === 0 ? value : value.subarray(valueStart), target)
    this.chunkOf[id] = chunkIndex
    this.offsetOf[id] = offset
    this.keySize[id] = key.length
    this.valueSize[id] = length
    this.valueRoom[id] = room
    this.liveBytes += key.length + room
  }

  private release(id: number): void {
    const bytes = this.keySize[id] + this.valueRoom[id]
    this.liveBytes -= bytes
    this.garbageBytes += bytes
  }

  private newId(): number {
    if (this.freeHead !== 0) {
      const id = this.freeHead
      this.freeHead = this.chain[id]
      return id
    }
    const id = this.nextId++
    if (id >= this.chain.length) {
      const size = id + 1
      this.chain = grow(this.chain, size)
      this.chunkOf = grow(this.chunkOf, size)
      this.offsetOf = grow(this.offsetOf, size)
      this.keySize = grow(this.keySize, size)
      this.valueSize = grow(this.valueSize, size)
      this.valueRoom = grow(this.valueRoom, size)
    }
    return id
  }

  /** Stores a record that `find` said is absent, and returns its id. */
  insert(key: Uint8Array, value: Uint8Array): number {
    const id = this.newId()
    this.place(id, key, value, 0, value.length)
    const bucket = key === this.foundKey ? this.foundBucket : this.bucketOf(key)
    this.chain[id] = this.buckets[bucket]
    this.buckets[bucket] = id
    if (bucket < this.lowestUsed) this.lowestUsed = bucket
    this.size++
    return id
  }

  setValue(id: number, value: Uint8Array): void {
    if (value.length <= this.valueRoom[id]) {
      if (this.chunkWatcher !== null) this.chunkWatcher(this.chunkOf[id])
      const chunk = this.chunks[this.chunkOf[id]]
      const start = this.offsetOf[id] + this.keySize[id]
      if (value.length <= 32) for (let i = 0; i < value.length; i++) chunk[start + i] = value[i]
      else chunk.set(value, start)
      this.valueSize[id] = value.length
      return
    }
    const key = this.keyOf(id)
    this.release(id)
    this.place(id, key, value, 0, value.length)
  }

  /** Adds bytes at the end of a value; the room doubles when it runs out, so appends stay linear. */
  appendValue(id: number, tail: Uint8Array): void {
    const size = this.valueSize[id]
    const wanted = size + tail.length
    if (wanted > this.valueRoom[id]) {
      const key = this.keyOf(id)
      const old = this.valueOf(id)
      this.release(id)
      const joined = Buffer.allocUnsafe(wanted)
      old.copy(joined, 0)
      joined.set(tail, size)
      this.place(id, key, joined, 0, Math.max(wanted, Math.min(wanted * 2, wanted + (64 << 20))))
      this.valueSize[id] = wanted
      return
    }
    this.chunks[this.chunkOf[id]].set(tail, this.offsetOf[id] + this.keySize[id] + size)
    this.valueSize[id] = wanted
  }

  /** Removes a record; returns the id it had, or 0 if there was none. */
  delete(key: Uint8Array): number {
    const bucket = this.bucketOf(key)
    let prev = 0
    for (let id = this.buckets[bucket]; id !== 0; prev = id, id = this.chain[id]) {
      if (!this.matches(id, key)) continue
      if (prev === 0) this.buckets[bucket] = this.chain[id]
      else this.chain[prev] = this.chain[id]
      this.release(id)
      this.keySize[id] = -1
      this.chain[id] = this.freeHead
      this.freeHead = id
      this.size--
      return id
    }
    return 0
  }

  /** The keys of one bucket, in chain order. */
  bucketKeys(bucket: number): Buffer[] {
    const found: Buffer[] = []
    for (let id = this.buckets[bucket]; id !== 0; id = this.chain[id]) found.push(this.keyOf(id))
    return found
  }

  /** The first bucket at or after `from` that holds a record, or -1. */
  nextBucket(from: number): number {
    const start = Math.max(from, this.lowestUsed)
    for (let bucket = start; bucket < this.buckets.length; bucket++) {
      if (this.buckets[bucket] !== 0) {
        // Everything from the lowest known bound up to here was empty.
        if (start === this.lowestUsed) this.lowestUsed = bucket
        return bucket
      }
    }
    if (start === this.lowestUsed) this.lowestUsed = this.buckets.length
    return -1
  }

  /**
   * The records as they are now, unchanged by later writes, for a save: the record arrays
   * are copied at once (plain memory copies, a few milliseconds for a million records) and
   * the chunks copy-on-write: one is copied only when a value in it is about to be
   * overwritten in place. One snapshot at a time (the database's saves take turns).
   */
  snapshot(): TableSnapshot {
    const chunks = this.chunks.slice()
    const live = this.chunks
    const kept = new Set<number>()
    const watcher = (index: number) => {
      // After a compaction or a clear the snapshot's chunks are no longer written at all.
      if (this.chunks !== live || index >= chunks.length || kept.has(index)) return
      chunks[index] = Buffer.from(chunks[index])
      kept.add(index)
    }
    this.chunkWatcher = watcher
    const end = () => {
      if (this.chunkWatcher === watcher) this.chunkWatcher = null
    }
    const ids = this.nextId
    return new TableSnapshot(chunks, this.chunkOf.slice(0, ids), this.offsetOf.slice(0, ids), this.keySize.slice(0, ids), this.valueSize.slice(0, ids), end)
  }

  /** Every record id in bucket order. Nothing may be removed meanwhile: a removed record's chain slot joins the free list. */
  *ids(): Generator<number> {
    for (let bucket = 0; bucket < this.buckets.length; bucket++) {
      for (let id = this.buckets[bucket]; id !== 0; id = this.chain[id]) yield id
    }
  }

  *entries(): Generator<[Buffer, Buffer]> {
    for (const id of this.ids()) yield [this.keyOf(id), this.valueOf(id)]
  }

  /** Copies the live records into fresh chunks, in id order, leaving the garbage behind. */
  private compact(): void {
    const old = this.chunks
    this.chunks = []
    this.tail = -1
    this.tailUsed = CHUNK_SIZE
    this.liveBytes = 0
    this.garbageBytes = 0
    for (let id = 1; id < this.nextId; id++) {
      if (this.keySize[id] < 0) continue
      const chunk = old[this.chunkOf[id]]
      const start = this.offsetOf[id]
      const keyEnd = start + this.keySize[id]
      const value = chunk.subarray(keyEnd, keyEnd + this.valueSize[id])
      this.place(id, chunk.subarray(start, keyEnd), value, 0, value.length)
    }
  }

  clear(): void {
    this.foundKey = undefined
    this.buckets.fill(0)
    this.lowestUsed = 0
    this.chain = new Int32Array(1024)
    this.chunkOf = new Int32Array(1024)
    this.offsetOf = new Int32Array(1024)
    this.keySize = new Int32Array(1024)
    this.valueSize = new Int32Array(1024)
    this.valueRoom = new Int32Array(1024)
    this.nextId = 1
    this.freeHead = 0
    this.chunks = []
    this.tail = -1
    this.tailUsed = CHUNK_SIZE
    this.liveBytes = 0
    this.garbageBytes = 0
    this.size = 0
  }

  /** Re-distributes every record over a new bucket count, packing the records. */
  resize(numBuckets: number): void {
    const records = [...this.entries()]
    this.clear()
    this.buckets = new Int32Array(numBuckets)
    for (const [key, value] of records) this.insert(key, value)
  }
}

/** A table's records frozen at one moment: see ByteHashTable.snapshot. */
export class TableSnapshot {
  constructor(
    private readonly chunks: Buffer[],
    private readonly chunkOf: Int32Array,
    private readonly offsetOf: Int32Array,
    private readonly keySize: Int32Array,
    private readonly valueSize: Int32Array,
    /** Stops the copy-on-write: the snapshot has been read. */
    readonly release: () => void,
  ) {}

  keyOf(id: number): Buffer {
    const start = this.offsetOf[id]
    return Buffer.from(this.chunks[this.chunkOf[id]].subarray(start, start + this.keySize[id]))
  }

  valueOf(id: number): Buffer {
    const start = this.offsetOf[id] + this.keySize[id]
    return Buffer.from(this.chunks[this.chunkOf[id]].subarray(start, start + this.valueSize[id]))
  }

  /** Every live record, in id order; the snapshot ends when the walk does. */
  *entries(): Generator<[Buffer, Buffer]> {
    try {
      for (let id = 1; id < this.keySize.length; id++) if (this.keySize[id] >= 0) yield [this.keyOf(id), this.valueOf(id)]
    } finally {
      this.release()
    }
  }
}

/**
 * Runs a processor on a key's record in a table. Returns the processor's answer so that a
 * class can keep its own accounting; `store` applies it.
 */
export function processRecord(table: ByteHashTable, id: number, key: Buffer, processor: RecordProcessor): ProcessResult {
  return id === 0 ? processor.processEmpty(key) : processor.processFull(key, processor.ignoresValue ? EMPTY : table.valueOf(id))
}

/** Applies a processor's answer to the table; returns the record's id afterwards (0 when gone). */
export function storeResult(table: ByteHashTable, id: number, key: Buffer, result: ProcessResult): number {
  if (result === NOOP) return id
  if (result === REMOVE) {
    if (id !== 0) table.delete(key)
    return 0
  }
  if (result instanceof AppendTail) {
    if (id === 0) return table.insert(key, result.tail)
    table.appendValue(id, result.tail)
    return id
  }
  if (id === 0) return table.insert(key, result)
  table.setValue(id, result)
  return id
}

const EMPTY = Buffer.alloc(0)
