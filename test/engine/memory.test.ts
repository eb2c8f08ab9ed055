import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {openDBM} from '../../src/engine/poly.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {tempDir} from '../helpers/cli.js'

describe('on-memory classes', () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  it('baby keeps key order when runs of ascending keys (its fast path) mix with keys that go before them', () => {
    const dbm = openDBM('', new Map([['dbm', 'baby']]))
    const expected = new Map<string, string>()
    const put = (key: string) => {
      dbm.set(key, `v${key}`)
      expected.set(key, `v${key}`)
    }
    // Ascending runs long enough to split leaves and inner nodes, each followed by keys that
    // land in the middle, at the front, and on an existing key.
    for (let run = 0; run < 6; run++) {
      for (let i = 0; i < 5000; i++) put(`k${String(run * 10000 + i * 2).padStart(8, '0')}`)
      put(`k${String(run * 10000 + 1).padStart(8, '0')}`)
      put('a')
      put(`k${String(run * 10000).padStart(8, '0')}`)
    }
    assert.equal(dbm.count(), expected.size)
    const sorted = [...expected.keys()].sort()
    const iter = dbm.makeIterator()
    iter.first()
    for (const key of sorted) {
      const record = iter.get()
      assert.equal(record?.[0].toString(), key)
      assert.equal(record?.[1].toString(), expected.get(key))
      iter.next()
    }
    assert.equal(iter.get(), undefined)
    for (const key of sorted) assert.equal(dbm.get(key)?.toString(), expected.get(key))
    dbm.close()
  })

  it('baby keeps every record through splits in the middle, removals and values that outgrow their room', () => {
    const dbm = openDBM('', new Map([['dbm', 'baby']]))
    const expected = new Map<string, string>()
    // A fixed shuffle: keys in random order split leaves in the middle, whose halves start
    // with room for what they hold and must grow their slots and bytes as they fill again.
    let seed = 7
    const next = () => (seed = (seed * 48271) % 2147483647)
    const keys = Array.from({length: 20000}, (_, i) => `r${String(i).padStart(6, '0')}`)
    for (let i = keys.length - 1; i > 0; i--) {
      const j = next() % (i + 1)
      ;[keys[i], keys[j]] = [keys[j], keys[i]]
    }
    const check = () => {
      assert.equal(dbm.count(), expected.size)
      const iter = dbm.makeIterator()
      iter.first()
      for (const key of [...expected.keys()].sort()) {
        const record = iter.get()
        assert.equal(record?.[0].toString(), key)
        assert.equal(record?.[1].toString(), expected.get(key))
        iter.next()
      }
      assert.equal(iter.get(), undefined)
    }
    for (const [i, key] of keys.entries()) {
      // Mostly small values, some longer than a short copy, a few of several kilobytes.
      const value = i % 97 === 0 ? 'L'.repeat(3000 + i) : i % 7 === 0 ? `${key}-`.repeat(6) : key
      dbm.set(key, value)
      expected.set(key, value)
    }
    check()
    // Removals and longer values leave garbage in the leaves, packed away as they fill again.
    for (const [i, key] of keys.entries()) {
      if (i % 3 === 0) {
        dbm.remove(key)
        expected.delete(key)
      } else if (i % 3 === 1) {
        const value = `${expected.get(key)}+${'x'.repeat(i % 50)}`
        dbm.set(key, value)
        expected.set(key, value)
      }
    }
    for (const [i, key] of keys.entries()) {
      if (i % 3 !== 0 || i % 2 !== 0) continue
      dbm.set(key, `back ${key}`)
      expected.set(key, `back ${key}`)
    }
    check()
    dbm.close()
  })

  it('baby orders keys by their bytes where the first eight are alike, short, zero or 0xff', () => {
    // Leaves settle most comparisons on each key's first eight bytes (zero-padded); keys
    // that differ only after them, or only in length, or in padding-like zero bytes, must
    // still sort as bytes do.
    const dbm = openDBM('', new Map([['dbm', 'baby']]))
    const alphabet = [0x00, 0x01, 0x7f, 0x80, 0xff]
    let state = 7
    const random = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0
      return (state >>> 8) % n
    }
    const expected = new Map<string, Buffer>()
    for (let n = 0; n < 20000; n++) {
      const key = Buffer.alloc(random(13))
      for (let i = 0; i < key.length; i++) key[i] = alphabet[random(alphabet.length)]
      const value = Buffer.from(`v${n}`)
      dbm.set(key, value)
      expected.set(key.toString('hex'), value)
      if (n % 7 === 0) {
        const gone = [...expected.keys()][random(expected.size)]
        dbm.remove(Buffer.from(gone, 'hex'))
        expected.delete(gone)
      }
    }
    const sorted = [...expected.keys()].map((hex) => Buffer.from(hex, 'hex')).sort(Buffer.compare)
    const iter = dbm.makeIterator()
    iter.first()
    for (const key of sorted) {
      const record = iter.get()
      assert.deepEqual(record?.[0], key)
      assert.deepEqual(record?.[1], expected.get(key.toString('hex')))
      iter.next()
    }
    assert.equal(iter.get(), undefined)
    for (const key of sorted) assert.deepEqual(dbm.get(key), expected.get(key.toString('hex')))
    dbm.close()
  })

  it('cache evicts the least recently used record', () => {
    const dbm = openDBM(
      '',
      new Map([
        ['dbm', 'cache'],
        ['cap_rec_num', '3'],
      ]),
    )
    for (const key of ['a', 'b', 'c']) dbm.set(key, key)
    dbm.get('a')
    dbm.set('d', 'd')
    assert.equal(dbm.get('b'), undefined, 'b was the oldest')
    assert.deepEqual([...dbm.records()].map(([k]) => k.toString()).sort(), ['a', 'c', 'd'])
    dbm.set('c', 'again')
    dbm.set('e', 'e')
    assert.equal(dbm.get('a'), undefined)
    assert.equal(dbm.count(), 3)
    dbm.close()
  })

  it('cache evicts by memory size', () => {
    const dbm = openDBM(
      '',
      new Map([
        ['dbm', 'cache'],
        ['cap_mem_size', '10000'],
      ]),
    )
    for (let i = 0; i < 1000; i++) dbm.set(`key${i}`, 'x'.repeat(100))
    const used = Number(new Map(dbm.inspect()).get('mem_usage'))
    assert.ok(used <= 10000, `mem_usage ${used}`)
    assert.ok(dbm.count() > 10 && dbm.count() < 100)
    assert.ok(dbm.get('key999'))
    dbm.close()
  })

  for (const ext of ['tkmt', 'tkmb', 'tkmc']) {
    it(`${ext}: records, tuning and timestamp survive close and reopen`, () => {
      const file = path.join(dir, `persist.${ext}`)
      const params = ext === 'tkmt' ? new Map([['num_buckets', '77']]) : new Map<string, string>()
      const dbm = openDBM(file, params, {writable: true, truncate: true})
      for (let i = 0; i < 1000; i++) dbm.set(`k${i}`, `v${i}`)
      dbm.append('k1', 'tail', '+')
      dbm.close()
      const again = openDBM(file, new Map(), {writable: false})
      assert.equal(again.count(), 1000)
      assert.equal(again.get('k1')?.toString(), 'v1+tail')
      if (ext === 'tkmt') assert.equal(new Map(again.inspect()).get('num_buckets'), '77')
      assert.throws(
        () => again.set('x', 'y'),
        (e: unknown) => e instanceof StatusError && e.code === Code.PRECONDITION_ERROR,
      )
      again.close()
    })
  }

  it('keeps every piece of many appends to one big value', () => {
    for (const cls of ['tiny', 'baby']) {
      const dbm = openDBM('', new Map([['dbm', cls]]))
      const piece = Buffer.alloc(100, 0x61)
      for (let i = 0; i < 20000; i++) dbm.append('big', piece)
      assert.equal(dbm.get('big')?.length, 2000000)
      dbm.close()
    }
  })

  it('fails on a truncated file with BROKEN_DATA_ERROR and leaves it alone', () => {
    const file = path.join(dir, 'broken.tkmb')
    const dbm = openDBM(file, new Map(), {writable: true, truncate: true})
    dbm.set('key', 'value')
    dbm.close()
    const bytes = fs.readFileSync(file)
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 2))
    assert.throws(
      () => openDBM(file, new Map(), {writable: true}),
      (e: unknown) => e instanceof StatusError && e.code === Code.BROKEN_DATA_ERROR,
    )
    assert.deepEqual(fs.readFileSync(file), bytes.subarray(0, bytes.length - 2))
  })
})
