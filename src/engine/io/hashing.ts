/**
 * Hash functions whose exact values are part of file compatibility: the bucket a key lands
 * in (HashDBM) and the shard it lands in (ShardDBM) must be the ones other Tkrzw-format
 * tools look in. 64-bit arithmetic is done on 32-bit halves: BigInt would allocate on
 * every step of the hottest path in the engine.
 */

// The result of mul64, kept in module state so that the hot loops allocate nothing.
let productHi = 0
let productLo = 0

/** (aHi:aLo) * (bHi:bLo) modulo 2^64, into productHi:productLo. */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number): void {
  // The high word of aLo * bLo from 16-bit limbs; every partial sum stays below 2^32.
  const a0 = aLo & 0xffff
  const a1 = aLo >>> 16
  const b0 = bLo & 0xffff
  const b1 = bLo >>> 16
  let t = a0 * b0
  t = a1 * b0 + (t >>> 16)
  const w1 = t & 0xffff
  const w2 = t >>> 16
  t = a0 * b1 + w1
  const high = a1 * b1 + w2 + (t >>> 16)
  productHi = (high + Math.imul(aHi, bLo) + Math.imul(aLo, bHi)) >>> 0
  productLo = Math.imul(aLo, bLo) >>> 0
}

const FNV_OFFSET_HI = 0xcbf29ce4
const FNV_OFFSET_LO = 0x84222325
// The multiplier 109951162811 split into 32-bit halves.
const FNV_MUL_HI = 25
const FNV_MUL_LO = 2576980411

/** FNV-1a style 64-bit hash with Tkrzw's multiplier, as [high, low] 32-bit halves. */
export function hashFnv(data: Uint8Array): [number, number] {
  let hi = FNV_OFFSET_HI
  let lo = FNV_OFFSET_LO
  for (let i = 0; i < data.length; i++) {
    lo = (lo ^ data[i]) >>> 0
    mul64(hi, lo, FNV_MUL_HI, FNV_MUL_LO)
    hi = productHi
    lo = productLo
  }
  return [hi, lo]
}

/** Folds a 64-bit hash to 32 bits the way both bucket and shard selection do. */
function fold32(hi: number, lo: number): number {
  return ((((hi & 0xffff) << 16) | (hi >>> 16)) ^ (((lo & 0xffff) << 16) | (lo >>> 16))) >>> 0
}

/** The shard index of a key among numShards shards (at most 2^32 - 1). */
export function secondaryHash(data: Uint8Array, numShards: number): number {
  const [hi, lo] = hashFnv(data)
  return fold32(hi, lo) % numShards
}

// MurmurHash64A's multiplier 0xc6a4a7935bd1e995 in halves, and the seed HashDBM uses.
const MM_HI = 0xc6a4a793
const MM_LO = 0x5bd1e995
const PRIMARY_SEED = 19780211

// The last hash computed by murmur64, as halves.
let murmurHi = 0
let murmurLo = 0

/** MurmurHash64A of data[start, end) with a seed below 2^32, into murmurHi:murmurLo. */
function murmur64(data: Uint8Array, start: number, end: number, seed: number): void {
  const length = end - start
  // h = seed ^ (length * m)
  mul64(Math.floor(length / 0x100000000), length >>> 0, MM_HI, MM_LO)
  let hi = productHi
  let lo = (productLo ^ seed) >>> 0
  let i = start
  for (; i + 8 <= end; i += 8) {
    let kLo = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0
    let kHi = (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24)) >>> 0
    mul64(kHi, kLo, MM_HI, MM_LO)
    kHi = productHi
    kLo = (productLo ^ (productHi >>> 15)) >>> 0
    mul64(kHi, kLo, MM_HI, MM_LO)
    kHi = productHi
    kLo = productLo
    mul64(hi, lo, MM_HI, MM_LO)
    hi = (productHi ^ kHi) >>> 0
    lo = (productLo ^ kLo) >>> 0
  }
  const rest = end - i
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) {
      if (j >= 4) hi = (hi ^ (data[i + j] << (8 * (j - 4)))) >>> 0
      else lo = (lo ^ (data[i + j] << (8 * j))) >>> 0
    }
    mul64(hi, lo, MM_HI, MM_LO)
    hi = productHi
    lo = productLo
  }
  lo = (lo ^ (hi >>> 15)) >>> 0
  mul64(hi, lo, MM_HI, MM_LO)
  hi = productHi
  lo = (productLo ^ (productHi >>> 15)) >>> 0
  murmurHi = hi
  murmurLo = lo
}

/** MurmurHash64A of the whole buffer as a BigInt; for tests and diagnostics. */
export function hashMurmur(data: Uint8Array, seed = PRIMARY_SEED): bigint {
  murmur64(data, 0, data.length, seed)
  return (BigInt(murmurHi) << 32n) | BigInt(murmurLo)
}

/** The bucket index of the key data[start, end) in a HashDBM with numBuckets buckets. */
export function primaryHash(data: Uint8Array, start: number, end: number, numBuckets: number): number {
  murmur64(data, start, end, PRIMARY_SEED)
  if (numBuckets <= 0xffffffff) return fold32(murmurHi, murmurLo) % numBuckets
  return Number(((BigInt(murmurHi) << 32n) | BigInt(murmurLo)) % BigInt(numBuckets))
}
