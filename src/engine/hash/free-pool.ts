/**
 * Regions of removed or moved records that new records may reuse, in the in-place mode.
 * Kept sorted by size, largest first, so that forgetting the smallest region when the pool
 * is full is a pop (forgotten regions stay in the file as void records until a rebuild).
 */
export class FreeBlockPool {
  private sizes: number[] = []
  private offsets: number[] = []

  constructor(private capacity: number) {}

  get length(): number {
    return this.sizes.length
  }

  setCapacity(capacity: number): void {
    this.capacity = capacity
    while (this.sizes.length > capacity) this.pop()
  }

  clear(): void {
    this.sizes = []
    this.offsets = []
  }

  private pop(): void {
    this.sizes.pop()
    this.offsets.pop()
  }

  /** The first position whose size is below `size` (sizes descend). */
  private firstBelow(size: number): number {
    let low = 0
    let high = this.sizes.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (this.sizes[mid] >= size) low = mid + 1
      else high = mid
    }
    return low
  }

  insert(offset: number, size: number): void {
    if (this.capacity <= 0) return
    const count = this.sizes.length
    if (count >= this.capacity) {
      // Full: a region no larger than the smallest kept one is not worth keeping.
      if (size <= this.sizes[count - 1]) return
      this.pop()
    }
    const at = this.firstBelow(size)
    if (at === this.sizes.length) {
      this.sizes.push(size)
      this.offsets.push(offset)
    } else {
      this.sizes.splice(at, 0, size)
      this.offsets.splice(at, 0, offset)
    }
  }

  /** Takes the smallest region of at least `size` bytes; returns [offset, size] or undefined. */
  fetch(size: number): [number, number] | undefined {
    const at = this.firstBelow(size) - 1
    if (at < 0) return undefined
    const found: [number, number] = [this.offsets[at], this.sizes[at]]
    if (at === this.sizes.length - 1) {
      this.pop()
    } else {
      this.sizes.splice(at, 1)
      this.offsets.splice(at, 1)
    }
    return found
  }

  /** The largest regions first, as many as `limit`: what fits in the file's pool section. */
  largest(limit: number): [number, number][] {
    const out: [number, number][] = []
    for (let i = 0; i < this.sizes.length && out.length < limit; i++) out.push([this.offsets[i], this.sizes[i]])
    return out
  }
}
