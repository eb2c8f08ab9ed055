import {DBMIterator, REMOVE, toBuffer, type Bytes, type RecordProcessor} from '../dbm.js'
import {Code, StatusError} from '../status.js'
import {applyToStored, fromStored} from './stored.js'

/**
 * An iterator over a Map in insertion order. A JS Map iterator survives insertions and
 * deletions, so the cursor keeps its place while others update the database.
 */
export class MapIterator extends DBMIterator {
  private cursor: IterableIterator<string> | undefined
  private current: string | undefined

  constructor(
    private readonly map: Map<string, string>,
    private readonly onStore: (key: string, value: string) => void = (key, value) => map.set(key, value),
    private readonly onRemove: (key: string) => void = (key) => map.delete(key),
  ) {
    super()
  }

  first(): void {
    this.cursor = this.map.keys()
    this.advance()
  }

  /** Hash order has no "after": jump lands on the key itself or nowhere. */
  jump(key: Bytes): void {
    const wanted = toBuffer(key).toString('latin1')
    this.cursor = undefined
    this.current = undefined
    if (!this.map.has(wanted)) return
    this.cursor = this.map.keys()
    for (;;) {
      this.advance()
      if (this.current === undefined || this.current === wanted) return
    }
  }

  last(): void {
    throw unordered()
  }

  jumpLower(): void {
    throw unordered()
  }

  jumpUpper(): void {
    throw unordered()
  }

  previous(): void {
    throw unordered()
  }

  next(): void {
    if (this.current === undefined) return
    this.advance()
  }

  private advance(): void {
    const step = this.cursor?.next()
    this.current = step === undefined || step.done ? undefined : step.value
    if (this.current === undefined) this.cursor = undefined
  }

  process(processor: RecordProcessor, writable: boolean): boolean {
    // A record removed behind the cursor's back: the Map iterator has already skipped it.
    while (this.current !== undefined && !this.map.has(this.current)) this.advance()
    const key = this.current
    if (key === undefined) return false
    const result = applyToStored(fromStored(key), this.map.get(key), processor)
    if (typeof result === 'string') {
      if (writable) this.onStore(key, result)
    } else if (result === REMOVE && writable) {
      this.onRemove(key)
      this.advance()
    }
    return true
  }
}

function unordered(): StatusError {
  return new StatusError(Code.NOT_IMPLEMENTED_ERROR, 'not implemented for an unordered database')
}
