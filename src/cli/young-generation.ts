import * as v8 from 'node:v8'

/**
 * Holds V8's young generation at the size it starts with.
 *
 * V8 doubles the young generation (up to 16 MB for each of its two halves) whenever many
 * objects outlive a collection, as they do while kv loads its modules and while a command
 * fills a database: the leaves of a tree, the arrays of a hash table. Those pages stay in
 * the process for good. Held at its first size from the start, the peak memory of
 * `kv dbm perf sequence` over a million records fell from 142 to 105 MB (baby, random keys),
 * 127 to 113 MB (baby) and 119 to 111 MB (tiny), at the same speed: the objects that
 * outlive a collection are moved once either way.
 *
 * V8 reads the growth factor each time it would grow the young generation, so it can be set
 * after start-up, and set back.
 */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
}

/**
 * Lets the young generation grow again, by V8's default factor: a server under many calls
 * a few at a time does better with a large one, in which most of each call's objects die
 * before a collection (gRPC streams lost 5-10% with a small one).
 */
export function releaseYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=2')
}
