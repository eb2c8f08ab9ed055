/**
 * Regions of removed or moved records that new records may reuse, in the in-place mode.
 * Kept sorted by size then offset; when full, the smallest regions are forgotten (they
 * stay in the file as void records until a rebuild).
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
    this.trim()
  }

  clear(): void {
    this.sizes = []
    this.offsets = []
  }

  /** The position where (size, offset) sorts. */
  private position(size: number, offset: number): number {
    let low = 0
    let high = this.sizes.length
    while (low < high) {
      const mid = (low + high) >>> 1
      const s = this.sizes[mid]
      if (s < size || (s === size && this.offsets[mid] < offset)) low = mid + 1
      else high = mid
    }
    return low
  }

  insert(offset: number, size: number): void {
    if (this.capacity <= 0) return
    const at = this.position(size, offset)
    this.sizes.splice(at, 0, size)
    this.offsets.splice(at, 0, offset)
    this.trim()
  }

  private trim(): void {
    const excess = this.sizes.length - this.capacity
    if (excess > 0) {
      this.sizes.splice(0, excess)
      this.offsets.splice(0, excess)
    }
  }

  /** Takes the smallest region of at least `size` bytes; returns [offset, size] or undefined. */
  fetch(size: number): [number, number] | undefined {
    if (this.sizes.length === 0) return undefined
    const at = this.position(size, 0)
    if (at >= this.sizes.length) return undefined
    const found: [number, number] = [this.offsets[at], this.sizes[at]]
    this.sizes.splice(at, 1)
    this.offsets.splice(at, 1)
    return found
  }

  /** Forgets every region inside [start, end): they were overwritten or cut off. */
  removeWithin(start: number, end: number): void {
    for (let i = this.offsets.length - 1; i >= 0; i--) {
      if (this.offsets[i] >= start && this.offsets[i] < end) {
        this.offsets.splice(i, 1)
        this.sizes.splice(i, 1)
      }
    }
  }

  /** The largest regions first, as many as `limit`: what fits in the file's pool section. */
  largest(limit: number): [number, number][] {
    const out: [number, number][] = []
    for (let i = this.sizes.length - 1; i >= 0 && out.length < limit; i--) out.push([this.offsets[i], this.sizes[i]])
    return out
  }
}
