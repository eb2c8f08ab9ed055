/**
 * Hash functions whose exact values are part of file compatibility: the shard a key
 * lands in must be the one other Tkrzw-format tools look in.
 */

const FNV_OFFSET_HI = 0xcbf29ce4
const FNV_OFFSET_LO = 0x84222325
// The multiplier 109951162811 split into 32-bit halves.
const MUL_HI = 25
const MUL_LO = 2576980411

/** FNV-1a style 64-bit hash with Tkrzw's multiplier, as [high, low] 32-bit halves. */
export function hashFnv(data: Uint8Array): [number, number] {
  let hi = FNV_OFFSET_HI
  let lo = FNV_OFFSET_LO
  for (let i = 0; i < data.length; i++) {
    lo = (lo ^ data[i]) >>> 0
    // 64-bit product modulo 2^64 without BigInt: lo * MUL_LO in 16-bit limbs.
    const a0 = lo & 0xffff
    const a1 = lo >>> 16
    const b0 = MUL_LO & 0xffff
    const b1 = MUL_LO >>> 16
    const mid = a0 * b1 + a1 * b0
    const low = a0 * b0 + (mid % 0x10000) * 0x10000
    const carry = Math.floor(low / 0x100000000)
    const high = a1 * b1 + Math.floor(mid / 0x10000) + carry
    hi = (high + Math.imul(hi, MUL_LO) + Math.imul(lo, MUL_HI)) >>> 0
    lo = low >>> 0
  }
  return [hi, lo]
}

/** The shard index of a key among numShards shards (at most 2^32 - 1). */
export function secondaryHash(data: Uint8Array, numShards: number): number {
  const [hi, lo] = hashFnv(data)
  const folded = ((((hi & 0xffff) << 16) | (hi >>> 16)) ^ (((lo & 0xffff) << 16) | (lo >>> 16))) >>> 0
  return folded % numShards
}
