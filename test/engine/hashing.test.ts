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

const MASK_64 = (1n << 64n) - 1n

/** MurmurHash64A with Tkrzw's order of steps, plainly in BigInt. */
function referenceMurmur(data: Buffer, seed: bigint): bigint {
  const m = 0xc6a4a7935bd1e995n
  let h = (seed ^ (BigInt(data.length) * m)) & MASK_64
  let i = 0
  for (; i + 8 <= data.length; i += 8) {
    let k = data.readBigUInt64LE(i)
    k = (k * m) & MASK_64
    k ^= k >> 47n
    k = (k * m) & MASK_64
    h = (h * m) & MASK_64
    h ^= k
  }
  if (i < data.length) {
    for (let j = data.length - i - 1; j >= 0; j--) h ^= BigInt(data[i + j]) << BigInt(8 * j)
    h = (h * m) & MASK_64
  }
  h ^= h >> 47n
  h = (h * m) & MASK_64
  h ^= h >> 47n
  return h
}

/** FNV-1a with Tkrzw's multiplier, plainly in BigInt. */
function referenceFnv(data: Buffer): bigint {
  let h = 0xcbf29ce484222325n
  for (const byte of data) h = ((h ^ BigInt(byte)) * 109951162811n) & MASK_64
  return h
}

function randomBytes(length: number, seed: number): Buffer {
  let state = seed
  const data = Buffer.alloc(length)
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    data[i] = state >>> 24
  }
  return data
}

// The WebAssembly module against a plain BigInt rendering of MurmurHash64A.
it('computes MurmurHash64A like a BigInt rendering of it', () => {
  let state = 12345
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0)
  for (let n = 0; n < 300; n++) {
    const data = Buffer.alloc(random() % 40)
    for (let i = 0; i < data.length; i++) data[i] = random() >>> 24
    const seed = random()
    assert.equal(hashMurmur(data, seed), referenceMurmur(data, BigInt(seed)), data.toString('hex'))
  }
})

// A key longer than the module's one page of memory is hashed in pieces: the same values,
// at every length around the piece boundary, for both hashes.
it('hashes keys longer than a piece, in pieces, to the same values', () => {
  for (const length of [65535, 65536, 65537, 65543, 131072, 200_003]) {
    const data = randomBytes(length, length)
    const murmur = referenceMurmur(data, 19780211n)
    assert.equal(hashMurmur(data), murmur, `murmur ${length}`)
    const folded = Number(((murmur >> 32n) ^ murmur) & 0xffffffffn)
    assert.equal(primaryHash(data, 0, length, 1009), (((folded << 16) | (folded >>> 16)) >>> 0) % 1009, `bucket ${length}`)
    assert.equal(primaryHash(data, 0, length, 2 ** 40 - 3), Number(murmur % BigInt(2 ** 40 - 3)), `wide bucket ${length}`)
    const fnv = referenceFnv(data)
    const [high, low] = hashFnv(data)
    assert.equal((BigInt(high) << 32n) | BigInt(low), fnv, `fnv ${length}`)
    const foldedFnv = Number(((fnv >> 32n) ^ fnv) & 0xffffffffn)
    assert.equal(secondaryHash(data, 7), (((foldedFnv << 16) | (foldedFnv >>> 16)) >>> 0) % 7, `shard ${length}`)
  }
  // Short keys after long ones: the pieces leave nothing behind.
  const data = Buffer.from('abc')
  assert.equal(hashMurmur(data), referenceMurmur(data, 19780211n))
  assert.equal(secondaryHash(data, 0xffffffff), 702176507)
})

// Bucket counts past 2^32 take the whole 64-bit hash; a key is read from where it starts.
it('reduces the hash to buckets past 2^32 and reads a key inside a larger buffer', () => {
  const data = Buffer.from('a key of some length')
  const hash = hashMurmur(data)
  for (const buckets of [2 ** 32 + 15, 2 ** 40 - 3]) assert.equal(primaryHash(data, 0, data.length, buckets), Number(hash % BigInt(buckets)))
  assert.equal(primaryHash(Buffer.concat([Buffer.from('xx'), data]), 2, data.length + 2, 1009), primaryHash(data, 0, data.length, 1009))
  const long = randomBytes(70_000, 3)
  const inside = Buffer.concat([Buffer.from('prefix'), long, Buffer.from('suffix')])
  assert.equal(primaryHash(inside, 6, 6 + long.length, 1009), primaryHash(long, 0, long.length, 1009))
})
