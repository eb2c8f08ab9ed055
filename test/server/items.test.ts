import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {describe, it} from 'node:test'
import {casOf} from '../../src/server/items.js'

/** 64-bit FNV-1a as its definition reads, one BigInt step per byte: slow, and plainly right. */
function fnv1a64(bytes: Buffer): bigint {
  let hash = 0xcbf29ce484222325n
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn
  return hash === 0n ? 1n : hash
}

describe('memcached items', () => {
  it('give CAS values that are the 64-bit FNV-1a hash of the stored bytes', () => {
    assert.equal(casOf(Buffer.alloc(0)), 0xcbf29ce484222325n)
    // Published FNV-1a 64 test vectors.
    assert.equal(casOf(Buffer.from('a')), 0xaf63dc4c8601ec8cn)
    assert.equal(casOf(Buffer.from('foobar')), 0x85944171f73967e8n)
    for (let i = 0; i < 500; i++) {
      const bytes = randomBytes(i % 97)
      assert.equal(casOf(bytes), fnv1a64(bytes), bytes.toString('hex'))
    }
  })
})
