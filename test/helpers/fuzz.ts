import {execFileSync} from 'node:child_process'

/** xorshift32: reproducible junk from a seed, numbers in [0, 1). */
export function randomOf(seed: number): () => number {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

/** A process' resident memory in MiB. */
export function rssMB(pid: number): number {
  return (
    Number(
      execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
        .toString()
        .trim(),
    ) / 1024
  )
}
