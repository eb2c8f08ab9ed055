import * as v8 from 'node:v8'

/**
 * Whether a command line runs a command of the dbm topic: the commands that fill databases
 * in memory or walk database files, whose objects live long. They hold V8's young generation
 * at its first size (holdYoungGeneration); the others keep V8's default.
 */
export function fillsDatabases(argv: readonly string[]): boolean {
  const first = argv[0] ?? ''
  return first === 'dbm' || first.startsWith('dbm:')
}

/**
 * Holds V8's young generation at the size it starts with.
 *
 * V8 doubles the young generation (up to 16 MB for each of its two halves) whenever many
 * objects outlive a collection, as they do while kv loads its modules and while a command
 * fills a database: the leaves of a tree, the arrays of a hash table. Those pages stay in
 * the process for good. Held at its first size from the start, the peak memory of
 * `kv dbm perf sequence` over a million records fell (medians of five runs each) from 141
 * to 106 MB for baby with random keys, 144 to 114 MB for baby, 105 to 94 MB for hash, 123 to
 * 117 MB for cache and 115 to 110 MB for tiny; set and get stayed within 4% either way.
 *
 * Other commands keep the default. Held from the start, every command started about 8 ms
 * later (more collections while modules load), and a client with many calls in flight, as
 * `kv perf` drives, lost 15-17% of its calls a second (medians of three runs), and gRPC
 * streams served by `kv serve` lost 5-10% with a small young generation.
 *
 * V8 reads the growth factor each time it would grow the young generation, so setting it
 * now, before the command's modules load, takes effect.
 */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
}
