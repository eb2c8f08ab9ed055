import {AppendTail, NOOP, REMOVE, type RecordProcessor} from '../dbm.js'

/**
 * On-memory classes hold keys and values as latin1 strings: one byte per character, so
 * byte order is string order, and a string costs a fraction of a Buffer object. Appending
 * to a string builds a rope in V8, which keeps repeated appends linear.
 */

const EMPTY = Buffer.alloc(0)

export type StoredResult = string | typeof NOOP | typeof REMOVE

/** Runs a processor on a record held as strings and says what to store. */
export function applyToStored(key: Buffer, stored: string | undefined, processor: RecordProcessor): StoredResult {
  const result =
    stored === undefined
      ? processor.processEmpty(key)
      : processor.processFull(key, processor.ignoresValue ? EMPTY : Buffer.from(stored, 'latin1'))
  if (result === NOOP || result === REMOVE) return result
  if (result instanceof AppendTail) return (stored ?? '') + toStored(result.tail)
  return toStored(result)
}

export function fromStored(text: string): Buffer {
  return Buffer.from(text, 'latin1')
}

// Buffer#toString('latin1') checks its arguments and dispatches on the encoding before it
// calls this; on the per-record path that overhead is a measurable share of a set.
const latin1Slice = (Buffer.prototype as unknown as {latin1Slice: (this: Buffer, start: number, end: number) => string}).latin1Slice

export function toStored(data: Buffer): string {
  return latin1Slice.call(data, 0, data.length)
}
