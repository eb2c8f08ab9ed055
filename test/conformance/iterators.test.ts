import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Code} from '../../src/engine/status.js'
import {b, rejects, targets, withDBOf} from './support.js'

// The DBM contract: iterators, for every class.
for (const target of targets()) {
  const withDB = withDBOf(target)
  describe(`${target.name}: iterators`, () => {
    it(
      'iterates, updating through the iterator',
      withDB((dbm) => {
        const iter = dbm.makeIterator()
        iter.first()
        assert.equal(iter.get(), undefined)
        for (let i = 0; i < 50; i++) dbm.set(`k${String(i).padStart(2, '0')}`, `v${i}`)
        iter.first()
        const seen = new Set<string>()
        for (let record = iter.step(); record; record = iter.step()) seen.add(record[0].toString())
        assert.equal(seen.size, 50)
        iter.first()
        const firstKey = iter.getKey()!
        iter.set('changed')
        assert.deepEqual(dbm.get(firstKey), b('changed'))
        iter.remove()
        assert.equal(dbm.get(firstKey), undefined)
        assert.notDeepEqual(iter.getKey(), firstKey)
        // Remove everything while iterating: the cursor moves on by itself.
        iter.first()
        while (iter.get()) iter.remove()
        assert.equal(dbm.count(), 0)
        rejects(Code.NOT_FOUND_ERROR, () => iter.remove())
        rejects(Code.NOT_FOUND_ERROR, () => iter.set('x'))
        dbm.set('solo', '1')
        iter.jump('solo')
        assert.deepEqual(iter.getKey(), b('solo'))
        iter.next()
        assert.equal(iter.get(), undefined)
      }),
    )

    it(
      'survives updates by others while iterating',
      withDB((dbm) => {
        for (let i = 0; i < 200; i++) dbm.set(`k${String(i).padStart(3, '0')}`, 'v')
        const iter = dbm.makeIterator()
        iter.first()
        const seen = new Set<string>()
        let n = 0
        for (let key = iter.getKey(); key; key = iter.getKey()) {
          seen.add(key.toString())
          if (n++ % 3 === 0) dbm.remove(key)
          iter.next()
        }
        assert.equal(seen.size, 200)
      }),
    )
  })
}
