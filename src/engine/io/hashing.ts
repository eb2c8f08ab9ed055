/**
 * Hash functions whose exact values are part of file compatibility: the bucket a key lands
 * in (HashDBM) and the shard it lands in (ShardDBM) must be the ones other Tkrzw-format
 * tools look in. They run in a small WebAssembly module (wasm/hashing.wat) for its native
 * 64-bit multiply. The key is copied into the module's memory first, one page: a longer key
 * goes in piece by piece, so that no key, however long, makes the memory grow.
 */
import {WASM_BASE64} from './wasm/generated/hashing.js'

interface HashingExports {
  memory: WebAssembly.Memory
  murmur(length: number, seed: bigint): bigint
  fnv(length: number): bigint
  bucket(length: number, numBuckets: number): number
  shard(length: number, numShards: number): number
  slot(hash: bigint, count: number): number
  murmur_begin(length: number, seed: bigint): void
  murmur_blocks(length: number): void
  murmur_end(length: number): bigint
  fnv_begin(): void
  fnv_bytes(length: number): void
  fnv_end(): bigint
}

const hashing = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'))).exports as unknown as HashingExports
const memory = new Uint8Array(hashing.memory.buffer)
/** The most a key's piece can be: the memory's one page (a multiple of 8, as MurmurHash's blocks need). */
const PIECE = memory.length

/** Copies data[start, end) (at most PIECE bytes) to the start of the module's memory; returns its length. */
function load(data: Uint8Array, start: number, end: number): number {
  const length = end - start
  // Keys are short: a loop beats a native copy's call until a few dozen bytes.
  if (length <= 32) for (let i = 0; i < length; i++) memory[i] = data[start + i]
  else memory.set(data.subarray(start, end))
  return length
}

/** MurmurHash64A of data[start, end), a key longer than one piece, as the module's signed 64-bit integer. */
function murmurInPieces(data: Uint8Array, start: number, end: number, seed: bigint): bigint {
  hashing.murmur_begin(end - start, seed)
  let at = start
  for (; end - at > PIECE; at += PIECE) hashing.murmur_blocks(load(data, at, at + PIECE))
  return hashing.murmur_end(load(data, at, end))
}

/** FNV-1a of a key longer than one piece. */
function fnvInPieces(data: Uint8Array): bigint {
  hashing.fnv_begin()
  for (let at = 0; at < data.length; at += PIECE) hashing.fnv_bytes(load(data, at, Math.min(at + PIECE, data.length)))
  return hashing.fnv_end()
}

const MASK_32 = 0xffffffffn

/** FNV-1a style 64-bit hash with Tkrzw's multiplier, as [high, low] 32-bit halves. */
export function hashFnv(data: Uint8Array): [number, number] {
  const hash = data.length <= PIECE ? hashing.fnv(load(data, 0, data.length)) : fnvInPieces(data)
  return [Number((hash >> 32n) & MASK_32), Number(hash & MASK_32)]
}

/** The shard index of a key among numShards shards (at most 2^32 - 1). */
export function secondaryHash(data: Uint8Array, numShards: number): number {
  if (data.length <= PIECE) return hashing.shard(load(data, 0, data.length), numShards)
  return hashing.slot(fnvInPieces(data), numShards)
}

/** The seed of HashDBM's bucket hash. */
const PRIMARY_SEED = 19780211

/** MurmurHash64A of the whole buffer as a BigInt; for tests and diagnostics. */
export function hashMurmur(data: Uint8Array, seed = PRIMARY_SEED): bigint {
  const hash = data.length <= PIECE ? hashing.murmur(load(data, 0, data.length), BigInt(seed)) : murmurInPieces(data, 0, data.length, BigInt(seed))
  return BigInt.asUintN(64, hash)
}

/** The bucket index of the key data[start, end) in a HashDBM with numBuckets buckets. */
export function primaryHash(data: Uint8Array, start: number, end: number, numBuckets: number): number {
  if (end - start <= PIECE) return hashing.bucket(load(data, start, end), numBuckets)
  return hashing.slot(murmurInPieces(data, start, end, BigInt(PRIMARY_SEED)), numBuckets)
}
