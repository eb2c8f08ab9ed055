import * as fs from 'node:fs'
import * as path from 'node:path'
import {DBM, DBMIterator, type InspectList, type OpenOptions, type RebuildParams, type RebuildProgress, type RecordProcessor, type SyncParams} from './dbm.js'
import {secondaryHash} from './io/hashing.js'
import {Code, StatusError} from './status.js'

/** The file name of one shard: `path-00003-of-00010`. */
export function shardPath(base: string, index: number, count: number): string {
  return `${base}-${String(index).padStart(5, '0')}-of-${String(count).padStart(5, '0')}`
}

/** The shard count of existing files at a path, from the name of shard 0; 0 when none. */
export function detectShards(base: string): number {
  const dir = path.dirname(base)
  const prefix = `${path.basename(base)}-00000-of-`
  let names: string[]
  try {
    names = fs.readdirSync(dir === '' ? '.' : dir)
  } catch {
    return 0
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d{5}$/.test(name.slice(prefix.length))) return Number(name.slice(prefix.length))
  }
  return 0
}

/**
 * Several databases of one class behind one interface: a key lives in the shard its hash
 * picks, the same one other Tkrzw-format tools pick. Ordered classes iterate in global
 * key order by merging the shards' cursors.
 */
export class ShardDBM extends DBM {
  readonly className: string
  private opened = false
  private basePath = ''

  constructor(private readonly shards: DBM[]) {
    super()
    if (shards.length === 0) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'no shards')
    this.className = shards[0].className
  }

  get numShards(): number {
    return this.shards.length
  }

  /** Opens every shard at its own file name; on failure the ones opened are closed again. */
  protected openImpl(base: string, writable: boolean, options: OpenOptions = {}): void {
    const opened: DBM[] = []
    try {
      this.shards.forEach((shard, i) => {
        shard.open(base === '' ? '' : shardPath(base, i, this.shards.length), writable, options)
        opened.push(shard)
      })
    } catch (error) {
      for (const shard of opened) shard.close()
      throw error
    }
    this.basePath = base
    this.opened = true
  }

  private shardOf(key: Buffer): DBM {
    return this.shards.length === 1 ? this.shards[0] : this.shards[secondaryHash(key, this.shards.length)]
  }

  override removesUnseen(): boolean {
    return this.shards[0].removesUnseen()
  }

  protected processImpl(key: Buffer, processor: RecordProcessor, writable: boolean): void {
    this.shardOf(key).process(key, processor, writable)
  }

  protected makeIteratorImpl(): DBMIterator {
    return this.isOrdered() ? new MergingIterator(this) : new ChainIterator(this, this.shards)
  }

  /** The shard iterators for the merging cursor. */
  shardIterators(): DBMIterator[] {
    return this.shards.map((shard) => shard.makeIterator())
  }

  override compareKeys(a: Buffer, b: Buffer): number {
    return this.shards[0].compareKeys(a, b)
  }

  protected countImpl(): number {
    return this.shards.reduce((sum, shard) => sum + shard.count(), 0)
  }

  protected clearImpl(): void {
    for (const shard of this.shards) shard.clear()
  }

  protected closeImpl(): void {
    let failure: unknown
    for (const shard of this.shards) {
      try {
        shard.close()
      } catch (error) {
        failure ??= error
      }
    }
    this.opened = false
    if (failure) throw failure
  }

  /** Every shard takes the same parameters, as the reference passes them. */
  override syncParams(): string[] {
    return this.shards[0]?.syncParams() ?? []
  }

  protected synchronizeImpl(hard = false, params: SyncParams = {}): void {
    for (const shard of this.shards) shard.synchronize(hard, params)
  }

  protected override copyFileDataImpl(dest: string, hard = false): void {
    this.shards.forEach((shard, i) => shard.copyFileData(shardPath(dest, i, this.shards.length), hard))
  }

  /** Every shard starts its snapshot in the same turn of the event loop, so the copies are of one moment. */
  protected override async synchronizeInSlicesImpl(hard: boolean, params: SyncParams = {}): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.synchronizeInSlices(hard, params)))
  }

  protected override async copyFileDataInSlicesImpl(dest: string, hard: boolean, params: SyncParams = {}): Promise<void> {
    await Promise.all(this.shards.map((shard, i) => shard.copyFileDataInSlices(shardPath(dest, i, this.shards.length), hard, params)))
  }

  protected override async rebuildInSlicesImpl(params?: RebuildParams, onProgress?: RebuildProgress): Promise<void> {
    const count = this.shards.length
    for (const [i, shard] of this.shards.entries()) {
      await shard.rebuildInSlices(params, onProgress && ((fraction) => onProgress((i + fraction) / count)))
    }
  }

  protected rebuildImpl(params?: RebuildParams): void {
    for (const shard of this.shards) shard.rebuild(params)
  }

  protected shouldBeRebuiltImpl(): boolean {
    return this.shards.some((shard) => shard.shouldBeRebuilt())
  }

  protected inspectImpl(): InspectList {
    const list: InspectList = [
      ['class', this.className],
      ['healthy', String(this.isHealthy())],
      ['num_records', String(this.count())],
      ['file_size', String(this.getFileSize())],
      ['path', this.basePath],
    ]
    this.shards.forEach((shard, i) => {
      const prefix = `${String(i).padStart(5, '0')}-`
      for (const [name, value] of shard.inspect()) list.push([prefix + name, value])
    })
    return list
  }

  override isHealthy(): boolean {
    return this.shards.every((shard) => shard.isHealthy())
  }

  protected getFileSizeImpl(): number {
    return this.shards.reduce((sum, shard) => sum + shard.getFileSize(), 0)
  }

  getFilePath(): string {
    return this.basePath
  }

  getTimestamp(): number {
    return Math.max(...this.shards.map((shard) => shard.getTimestamp()))
  }

  isOrdered(): boolean {
    return this.shards[0].isOrdered()
  }

  isWritable(): boolean {
    return this.opened && this.shards[0].isWritable()
  }

  isOpen(): boolean {
    return this.opened
  }
}

/** Unordered shards are walked one after another. */
class ChainIterator extends DBMIterator {
  private readonly iters: DBMIterator[]
  private index = -1

  constructor(owner: ShardDBM, shards: DBM[]) {
    super(owner)
    this.iters = shards.map((shard) => shard.makeIterator())
  }

  /** Moves on to the next shard with a record, from the current one. */
  private settle(): void {
    while (this.index >= 0 && this.index < this.iters.length && this.iters[this.index].getKey() === undefined) {
      this.index++
      if (this.index < this.iters.length) this.iters[this.index].first()
    }
    if (this.index >= this.iters.length) this.index = -1
  }

  protected firstImpl(): void {
    this.index = 0
    this.iters[0].first()
    this.settle()
  }

  protected jumpImpl(key: Buffer): void {
    // The key can only be in one shard, but which one is a detail of routing: try each.
    for (let i = 0; i < this.iters.length; i++) {
      this.iters[i].jump(key)
      if (this.iters[i].getKey()?.equals(key)) {
        this.index = i
        return
      }
    }
    this.index = -1
  }

  protected lastImpl(): void {
    this.iters[0].last()
  }

  protected jumpLowerImpl(key: Buffer, inclusive: boolean): void {
    this.iters[0].jumpLower(key, inclusive)
  }

  protected jumpUpperImpl(key: Buffer, inclusive: boolean): void {
    this.iters[0].jumpUpper(key, inclusive)
  }

  protected previousImpl(): void {
    this.iters[0].previous()
  }

  protected nextImpl(): void {
    if (this.index < 0) return
    this.iters[this.index].next()
    this.settle()
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    if (this.index < 0) return false
    const done = this.iters[this.index].process(processor, writable)
    this.settle()
    return done || (this.index >= 0 && this.iters[this.index].process(processor, writable))
  }
}

/**
 * Ordered shards: every shard's cursor stands on its own candidate, and the merged cursor
 * is the smallest (moving forward) or the largest (moving backward) of them.
 */
class MergingIterator extends DBMIterator {
  private readonly iters: DBMIterator[]
  private forward = true
  private current = -1

  constructor(private readonly dbm: ShardDBM) {
    super(dbm)
    this.iters = dbm.shardIterators()
  }

  private pick(): void {
    let best = -1
    let bestKey: Buffer | undefined
    this.iters.forEach((iter, i) => {
      const key = iter.getKey()
      if (key === undefined) return
      if (bestKey === undefined) {
        best = i
        bestKey = key
        return
      }
      const order = this.dbm.compareKeys(key, bestKey)
      if (this.forward ? order < 0 : order > 0) {
        best = i
        bestKey = key
      }
    })
    this.current = best
  }

  private all(forward: boolean, move: (iter: DBMIterator) => void): void {
    this.forward = forward
    for (const iter of this.iters) move(iter)
    this.pick()
  }

  protected firstImpl(): void {
    this.all(true, (iter) => iter.first())
  }

  protected lastImpl(): void {
    this.all(false, (iter) => iter.last())
  }

  protected jumpImpl(key: Buffer): void {
    this.all(true, (iter) => iter.jump(key))
  }

  protected jumpLowerImpl(key: Buffer, inclusive: boolean): void {
    this.all(false, (iter) => iter.jumpLower(key, inclusive))
  }

  protected jumpUpperImpl(key: Buffer, inclusive: boolean): void {
    this.all(true, (iter) => iter.jumpUpper(key, inclusive))
  }

  protected nextImpl(): void {
    if (this.current < 0) return
    if (!this.forward) {
      const key = this.iters[this.current].getKey()
      if (key === undefined) return this.pick()
      return this.all(true, (iter) => iter.jumpUpper(key, false))
    }
    this.iters[this.current].next()
    this.pick()
  }

  protected previousImpl(): void {
    if (this.current < 0) return
    if (this.forward) {
      const key = this.iters[this.current].getKey()
      if (key === undefined) return this.pick()
      return this.all(false, (iter) => iter.jumpLower(key, false))
    }
    this.iters[this.current].previous()
    this.pick()
  }

  protected processImpl(processor: RecordProcessor, writable: boolean): boolean {
    if (this.current < 0) return false
    const done = this.iters[this.current].process(processor, writable)
    // A removal moved that shard's cursor forward; the merged cursor follows the order.
    if (this.forward) this.pick()
    return done
  }
}
