import assert from 'node:assert/strict'
import {it} from 'node:test'
import {hashFnv, secondaryHash} from '../../src/engine/io/hashing.js'

// Shard routing must equal the reference's, or other tools look for keys in the wrong
// shard file. These are the reference implementation's own test values for "abc".
it('hashes keys to shards exactly as the reference does', () => {
  const [hi, lo] = hashFnv(Buffer.from('abc'))
  assert.equal(((BigInt(hi) << 32n) | BigInt(lo)).toString(), '1765794342254572867')
  assert.equal(secondaryHash(Buffer.from('abc'), 0xffffffff), 702176507)
  assert.equal(secondaryHash(Buffer.from('abc'), 1), 0)
})
