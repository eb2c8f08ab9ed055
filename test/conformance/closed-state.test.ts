import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {INT64_MIN, NOOP, REMOVE} from '../../src/engine/dbm.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {anyClass, b, targets} from './support.js'

// The DBM contract: read-only and closed databases, for every class.
for (const target of targets(anyClass)) {
  const {make} = target
  describe(`${target.name}: read-only and closed databases`, () => {
    it('refuses every write when read-only, through iterators and rebuilds too, and still reads', async () => {
      const dbm = target.readOnly((db) => {
        db.set('a', '1')
        db.set('b', '2')
      })
      try {
        const writes: [string, () => unknown][] = [
          ['set', () => dbm.set('c', '3')],
          ['remove', () => dbm.remove('a')],
          ['append', () => dbm.append('a', 'x')],
          ['compareExchange', () => dbm.compareExchange('a', '1', '9')],
          ['increment', () => dbm.increment('n', 1)],
          ['rekey', () => dbm.rekey('a', 'z')],
          ['setMulti', () => dbm.setMulti([['c', '3']])],
          ['removeMulti', () => dbm.removeMulti(['a'])],
          ['appendMulti', () => dbm.appendMulti([['a', 'x']])],
          ['compareExchangeMulti', () => dbm.compareExchangeMulti([['a', '1']], [['a', '9']])],
          ['pushLast', () => dbm.pushLast('job')],
          ['popFirst', () => dbm.popFirst()],
          ['clear', () => dbm.clear()],
          ['rebuild', () => dbm.rebuild()],
          ['processEach', () => dbm.processEach({processFull: () => REMOVE, processEmpty: () => NOOP}, true)],
          [
            'iterator set',
            () => {
              const iter = dbm.makeIterator()
              iter.jump('a')
              iter.set('changed')
            },
          ],
          [
            'iterator remove',
            () => {
              const iter = dbm.makeIterator()
              iter.first()
              iter.remove()
            },
          ],
        ]
        for (const [name, write] of writes) {
          assert.throws(write, (error: unknown) => error instanceof StatusError && error.code === Code.PRECONDITION_ERROR, name)
        }
        await assert.rejects(dbm.rebuildInSlices(), (error: unknown) => error instanceof StatusError && error.code === Code.PRECONDITION_ERROR)
        assert.deepEqual(dbm.get('a'), b('1'))
        assert.equal(dbm.count(), 2)
        assert.equal(dbm.increment('n', INT64_MIN, 5), 5n)
        dbm.synchronize()
      } finally {
        dbm.close()
      }
    })

    it('answers PRECONDITION_ERROR from every entry after close, iterators included', async () => {
      const dbm = make()
      dbm.set('a', '1')
      const iter = dbm.makeIterator()
      iter.first()
      dbm.close()
      const entries: [string, () => unknown][] = [
        ['get', () => dbm.get('a')],
        ['set', () => dbm.set('a', '2')],
        ['count', () => dbm.count()],
        ['clear', () => dbm.clear()],
        ['synchronize', () => dbm.synchronize()],
        ['inspect', () => dbm.inspect()],
        ['getFileSize', () => dbm.getFileSize()],
        ['shouldBeRebuilt', () => dbm.shouldBeRebuilt()],
        ['makeIterator', () => dbm.makeIterator()],
        ['close', () => dbm.close()],
        ['iterator first', () => iter.first()],
        ['iterator next', () => iter.next()],
        ['iterator get', () => iter.get()],
        ['iterator jump', () => iter.jump('a')],
        ['iterator set', () => iter.set('x')],
        ['iterator remove', () => iter.remove()],
        ['iterator step', () => iter.step()],
        ['process', () => dbm.process('a', {processFull: () => NOOP, processEmpty: () => NOOP}, false)],
        ['processFirst', () => dbm.processFirst({processFull: () => NOOP, processEmpty: () => NOOP}, false)],
        ['processEach', () => dbm.processEach({processFull: () => NOOP, processEmpty: () => NOOP}, false)],
        ['remove', () => dbm.remove('a')],
        ['append', () => dbm.append('a', 'x')],
        ['increment', () => dbm.increment('n', 1)],
        ['compareExchange', () => dbm.compareExchange('a', null, 'x')],
        ['rekey', () => dbm.rekey('a', 'b')],
        ['getMulti', () => dbm.getMulti(['a'])],
        ['pushLast', () => dbm.pushLast('x')],
        ['popFirst', () => dbm.popFirst()],
        ['rebuild', () => dbm.rebuild()],
        ['validateStructure', () => dbm.validateStructure()],
        ['copyFileData', () => dbm.copyFileData('/nonexistent/backup')],
      ]
      for (const [name, entry] of entries) {
        assert.throws(entry, (error: unknown) => error instanceof StatusError && error.code === Code.PRECONDITION_ERROR, name)
      }
      await assert.rejects(dbm.rebuildInSlices(), (error: unknown) => error instanceof StatusError && error.code === Code.PRECONDITION_ERROR)
    })
  })
}
