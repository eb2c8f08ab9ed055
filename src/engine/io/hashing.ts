/**
 * Hash functions whose exact values are part of file compatibility: the bucket a key lands
 * in (HashDBM) and the shard it lands in (ShardDBM) must be the ones other Tkrzw-format
 * tools look in. They run in a small WebAssembly module (wasm/hashing.wat) for its native
 * 64-bit multiply; the key is copied into the module's memory first.
 */
import {WASM_BASE64} from './wasm/generated/hashing.js'

interface HashingExports {
  memory: WebAssembly.Memory
  murmur(length: number, seed: bigint): bigint
  fnv(length: number): bigint
  bucket(length: number, numBuckets: number): number
  shard(length: number, numShards: number): number
}

const hashing = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'))).exports as unknown as HashingExports
const PAGE_SIZE = 65536
let memory = new Uint8Array(hashing.memory.buffer)

/** Copies data[start, end) to the start of the module's memory; returns its length. */
function load(data: Uint8Array, start: number, end: number): number {
  const length = end - start
  if (length > memory.length) {
    hashing.memory.grow(Math.ceil((length - memory.length) / PAGE_SIZE))
    memory = new Uint8Array(hashing.memory.buffer)
  }
  // Keys are short: a loop beats a native copy's call until a few dozen bytes.
  if (length <= 32) for (let i = 0; i < length; i++) memory[i] = data[start + i]
  else memory.set(data.subarray(start, end))
  return length
}

const MASK_32 = 0xffffffffn

/** FNV-1a style 64-bit hash with Tkrzw's multiplier, as [high, low] 32-bit halves. */
export function hashFnv(data: Uint8Array): [number, number] {
  const hash = hashing.fnv(load(data, 0, data.length))
  return [Number((hash >> 32n) & MASK_32), Number(hash & MASK_32)]
}

/** The shard index of a key among numShards shards (at most 2^32 - 1). */
export function secondaryHash(data: Uint8Array, numShards: number): number {
  return hashing.shard(load(data, 0, data.length), numShards)
}

/** The seed of HashDBM's bucket hash. */
const PRIMARY_SEED = 19780211

/** MurmurHash64A of the whole buffer as a BigInt; for tests and diagnostics. */
export function hashMurmur(data: Uint8Array, seed = PRIMARY_SEED): bigint {
  return BigInt.asUintN(64, hashing.murmur(load(data, 0, data.length), BigInt(seed)))
}

/** The bucket index of the key data[start, end) in a HashDBM with numBuckets buckets. */
export function primaryHash(data: Uint8Array, start: number, end: number, numBuckets: number): number {
  return hashing.bucket(load(data, start, end), numBuckets)
}
