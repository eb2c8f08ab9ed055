import assert from 'node:assert/strict'
import {it} from 'node:test'
import {hashFnv, hashMurmur, primaryHash, secondaryHash} from '../../src/engine/io/hashing.js'

// Shard routing must equal the reference's, or other tools look for keys in the wrong
// shard file. These are the reference implementation's own test values for "abc".
it('hashes keys to shards exactly as the reference does', () => {
  const [hi, lo] = hashFnv(Buffer.from('abc'))
  assert.equal(((BigInt(hi) << 32n) | BigInt(lo)).toString(), '1765794342254572867')
  assert.equal(secondaryHash(Buffer.from('abc'), 0xffffffff), 702176507)
  assert.equal(secondaryHash(Buffer.from('abc'), 1), 0)
})

// Bucket indices read back from a file that tkrzw_dbm_util made with 1009 buckets.
it('places keys in the buckets the reference does', () => {
  const expected: [string, number][] = [
    ['hello', 425],
    ['123456789abcdefgh', 454],
    ['b', 566],
    ['12345678', 569],
    ['abc', 613],
    ['a', 622],
    ['', 785],
  ]
  for (const [key, bucket] of expected) {
    const data = Buffer.from(key)
    assert.equal(primaryHash(data, 0, data.length, 1009), bucket, key)
  }
})

// The 32-bit-halves arithmetic against a plain BigInt rendering of MurmurHash64A.
it('computes MurmurHash64A like a BigInt rendering of it', () => {
  const mask = (1n << 64n) - 1n
  const m = 0xc6a4a7935bd1e995n
  const reference = (data: Buffer, seed: bigint): bigint => {
    let h = (seed ^ (BigInt(data.length) * m)) & mask
    let i = 0
    for (; i + 8 <= data.length; i += 8) {
      let k = data.readBigUInt64LE(i)
      k = (k * m) & mask
      k ^= k >> 47n
      k = (k * m) & mask
      h = (h * m) & mask
      h ^= k
    }
    if (i < data.length) {
      for (let j = data.length - i - 1; j >= 0; j--) h ^= BigInt(data[i + j]) << BigInt(8 * j)
      h = (h * m) & mask
    }
    h ^= h >> 47n
    h = (h * m) & mask
    h ^= h >> 47n
    return h
  }
  let state = 12345
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
  for (let n = 0; n < 300; n++) {
    const data = Buffer.alloc(random() % 40)
    for (let i = 0; i < data.length; i++) data[i] = random() >>> 24
    const seed = random()
    assert.equal(hashMurmur(data, seed), reference(data, BigInt(seed)), data.toString('hex'))
  }
})

// Bucket counts past 2^32 take the whole 64-bit hash; keys longer than the module's first
// memory page make it grow.
it('reduces the hash to buckets past 2^32 and hashes keys of any length', () => {
  const data = Buffer.from('a key of some length')
  const hash = hashMurmur(data)
  for (const buckets of [2 ** 32 + 15, 2 ** 40 - 3]) assert.equal(primaryHash(data, 0, data.length, buckets), Number(hash % BigInt(buckets)))
  const long = Buffer.alloc(200_000)
  for (let i = 0; i < long.length; i++) long[i] = (i * 131) >>> 3
  const folded = Number(((hashMurmur(long) >> 32n) ^ (hashMurmur(long) & 0xffffffffn)) & 0xffffffffn)
  const expected = (((folded << 16) | (folded >>> 16)) >>> 0) % 1009
  assert.equal(primaryHash(long, 0, long.length, 1009), expected)
  assert.equal(primaryHash(Buffer.concat([Buffer.from('xx'), data]), 2, data.length + 2, 1009), primaryHash(data, 0, data.length, 1009))
})
