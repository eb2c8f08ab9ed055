import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {findComparator} from '../../src/engine/comparators.js'
import {encodeVarint} from '../../src/engine/io/varint.js'
import {BabyDBM} from '../../src/engine/memory/baby.js'
import {ParamReader, parseParams} from '../../src/engine/params.js'
import {TreeDBM} from '../../src/engine/tree/tree-dbm.js'
import {makeRandom} from '../../src/perf/local.js'
import {tempDir} from '../helpers/cli.js'

const {dir, cleanup} = tempDir()
after(cleanup)

function openTree(file: string, params: string, writable = true, truncate = false): TreeDBM {
  const dbm = new TreeDBM(new ParamReader(parseParams(params)))
  dbm.open(file, writable, {truncate})
  return dbm
}

const keysOf = (records: Iterable<[Buffer, Buffer]>): string[] => [...records].map(([key]) => key.toString('hex'))

describe('TreeDBM pages', () => {
  it('splits and merges at every level, keeping order both ways, and reopens the same', () => {
    const file = path.join(dir, 'stress.tkt')
    const dbm = openTree(file, 'max_page_size=96,max_branches=3,max_cached_pages=8', true, true)
    const random = makeRandom(99)
    const model = new Map<string, string>()
    for (let i = 0; i < 20000; i++) {
      const key = `key${Math.floor(random() * 1e9)}`
      const value = 'v'.repeat(Math.floor(random() * 20))
      dbm.set(key, value)
      model.set(key, value)
    }
    const level = Number(new Map(dbm.inspect()).get('tree_level'))
    assert.ok(level >= 6, `tree level ${level}`)
    assert.deepEqual(dbm.validateStructure(), [])
    const keys = [...model.keys()]
    for (const key of keys.slice(0, Math.floor(keys.length * 0.95))) {
      dbm.remove(key)
      model.delete(key)
    }
    assert.deepEqual(dbm.validateStructure(), [])
    const sorted = [...model.keys()].sort()
    assert.deepEqual(
      [...dbm.records()].map(([key]) => key.toString()),
      sorted,
    )
    const iter = dbm.makeIterator()
    iter.last()
    const backwards: string[] = []
    for (let record = iter.get(); record; iter.previous(), record = iter.get()) backwards.push(record[0].toString())
    assert.deepEqual(backwards, sorted.reverse())
    dbm.close()
    const again = openTree(file, '', false)
    assert.equal(again.count(), model.size)
    for (const [key, value] of model) assert.equal(again.get(key)?.toString(), value)
    assert.deepEqual(again.validateStructure(), [])
    again.close()
    // Emptied completely, the tree shrinks back to one leaf.
    const emptied = openTree(file, '')
    for (const key of model.keys()) emptied.remove(key)
    assert.equal(new Map(emptied.inspect()).get('tree_level'), '1')
    assert.deepEqual(emptied.validateStructure(), [])
    emptied.close()
  })

  it('sizes a rebuilt file by the pages in the cache too, when none reached the file yet', () => {
    const file = path.join(dir, 'unsynced.tkt')
    const dbm = openTree(file, 'max_page_size=200,max_branches=4', true, true)
    for (let i = 0; i < 5000; i++) dbm.set(`key${i}`, `value${i}`)
    dbm.rebuild()
    const meta = new Map(dbm.inspect())
    // One bucket for every page would chain them all together: each page write walks the whole file.
    assert.ok(Number(meta.get('hash_num_buckets')) >= Number(meta.get('hash_num_records')), JSON.stringify([...meta]))
    assert.equal(dbm.count(), 5000)
    dbm.close()
  })

  it('orders serialized pairs by their first parts, then by the bytes of their second parts without their sizes', () => {
    const pair = (first: string, second: string): string =>
      Buffer.concat([encodeVarint(first.length), Buffer.from(first), encodeVarint(second.length), Buffer.from(second)]).toString('latin1')
    const lexical = findComparator('pairlexical').compare
    assert.ok(lexical(pair('a', 'b'), pair('a', 'aa')) > 0)
    assert.ok(lexical(pair('a', 'b'), pair('b', 'a')) < 0)
    assert.equal(lexical(pair('a', 'x'), pair('a', 'x')), 0)
    const decimal = findComparator('pairdecimal').compare
    assert.equal(decimal(pair('1', 'a'), pair(' 1 ', 'a')), 0)
    assert.ok(decimal(pair('2', 'b'), pair('100', 'a')) < 0)
    assert.ok(decimal(pair('100', 'b'), pair('\n100\n', 'a')) > 0)
    assert.ok(findComparator('pairlexicalcase').compare(pair('Ab', 'a'), pair('a', 'b')) > 0)
  })

  it('orders keys by each comparator as the on-memory tree does, and the file remembers it', () => {
    const random = makeRandom(5)
    const keys: Buffer[] = []
    for (let i = 0; i < 600; i++) {
      const n = Math.floor(random() * 2e6) - 1e6
      const eight = Buffer.alloc(8)
      if (i % 2) eight.writeBigInt64BE(BigInt(n) * 1000003n)
      else eight.writeDoubleBE(n / 7)
      keys.push(Buffer.from(String(n)), Buffer.from((n >>> 0).toString(16)), Buffer.from(`Key${n}`), eight)
    }
    for (const comparator of ['lexical', 'lexicalcase', 'decimal', 'hexadecimal', 'realnumber', 'signedbigendian', 'floatbigendian', 'pairlexical']) {
      const file = path.join(dir, `order-${comparator}.tkt`)
      const tree = openTree(file, `key_comparator=${comparator},max_page_size=200,max_branches=4`, true, true)
      const baby = new BabyDBM(new ParamReader(parseParams(`key_comparator=${comparator}`)))
      baby.open('', true)
      for (const key of keys) {
        tree.set(key, 'v')
        baby.set(key, 'v')
      }
      const expected = keysOf(baby.records())
      assert.deepEqual(keysOf(tree.records()), expected, comparator)
      assert.deepEqual(tree.validateStructure(), [])
      tree.close()
      baby.close()
      // Opened without the parameter, the file's own comparator applies.
      const reopened = openTree(file, '', false)
      assert.deepEqual(keysOf(reopened.records()), expected, `${comparator} reopened`)
      assert.match(new Map(reopened.inspect()).get('key_comparator') ?? '', /KeyComparator$/)
      reopened.close()
    }
  })
})
