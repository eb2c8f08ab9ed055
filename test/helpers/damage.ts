import assert from 'node:assert/strict'
import {StatusError} from '../../src/engine/status.js'

// The corruption tests' tools: damage to a file's bytes, and a check that only status
// errors come out of what a damaged file is put through.

/** Damages a copy of a file's bytes, drawing from the random source. */
export type Damage = (data: Buffer, random: () => number) => Buffer

/** One to four flipped bits in [start, end). */
export const flip =
  (start: number, end: number): Damage =>
  (data, random) => {
    const out = Buffer.from(data)
    const count = 1 + Math.floor(random() * 4)
    for (let i = 0; i < count; i++) {
      const at = start + Math.floor(random() * Math.max(1, Math.min(end, out.length) - start))
      if (at < out.length) out[at] ^= 1 << Math.floor(random() * 8)
    }
    return out
  }

/** Runs the step; only status errors may come out. */
export function tolerate(what: string, fn: () => void): void {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof StatusError)) assert.fail(`${what}: ${(error as Error)?.stack ?? String(error)}`)
  }
}
