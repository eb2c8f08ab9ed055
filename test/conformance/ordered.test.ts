import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {makeRandom as rng} from '../../src/perf/local.js'
import {Code} from '../../src/engine/status.js'
import {rejects, keysOf, targets, withDBOf} from './support.js'

// The DBM contract: ordered moves, for every class.
for (const target of targets()) {
  const {ordered} = target
  const withDB = withDBOf(target)
  describe(`${target.name}: ordered moves`, () => {
    if (ordered) {
      it(
        'moves in key order',
        withDB((dbm) => {
          for (const key of ['b', 'd', 'f', 'h']) dbm.set(key, key.toUpperCase())
          assert.deepEqual(keysOf(dbm), ['b', 'd', 'f', 'h'])
          const iter = dbm.makeIterator()
          const at = (): string | undefined => iter.getKey()?.toString()
          iter.last()
          assert.equal(at(), 'h')
          iter.previous()
          assert.equal(at(), 'f')
          iter.jump('c')
          assert.equal(at(), 'd')
          iter.jump('d')
          assert.equal(at(), 'd')
          iter.jumpLower('d')
          assert.equal(at(), 'b')
          iter.jumpLower('d', true)
          assert.equal(at(), 'd')
          iter.jumpLower('a', true)
          assert.equal(at(), undefined)
          iter.jumpUpper('d')
          assert.equal(at(), 'f')
          iter.jumpUpper('d', true)
          assert.equal(at(), 'd')
          iter.jumpUpper('h')
          assert.equal(at(), undefined)
          iter.jump('e')
          iter.previous()
          assert.equal(at(), 'd')
          iter.next()
          iter.next()
          assert.equal(at(), 'h')
          iter.next()
          assert.equal(at(), undefined)
          iter.first()
          iter.previous()
          assert.equal(at(), undefined)
        }),
      )

      it(
        'keeps order over many records',
        withDB((dbm) => {
          const random = rng(7)
          const model = new Set<string>()
          for (let i = 0; i < 5000; i++) {
            const key = `${Math.floor(random() * 100000)}`
            dbm.set(key, 'v')
            model.add(key)
          }
          assert.deepEqual(keysOf(dbm), [...model].sort())
          const iter = dbm.makeIterator()
          iter.last()
          const backward: string[] = []
          for (let key = iter.getKey(); key; key = iter.getKey()) {
            backward.push(key.toString())
            iter.previous()
          }
          assert.deepEqual(backward, [...model].sort().reverse())
        }),
      )
    } else {
      it(
        'rejects the ordered moves',
        withDB((dbm) => {
          dbm.set('a', '1')
          const iter = dbm.makeIterator()
          rejects(Code.NOT_IMPLEMENTED_ERROR, () => iter.last())
          rejects(Code.NOT_IMPLEMENTED_ERROR, () => iter.jumpLower('a'))
          rejects(Code.NOT_IMPLEMENTED_ERROR, () => iter.jumpUpper('a'))
          iter.first()
          rejects(Code.NOT_IMPLEMENTED_ERROR, () => iter.previous())
          iter.jump('missing')
          assert.equal(iter.get(), undefined)
        }),
      )
    }
  })
}
