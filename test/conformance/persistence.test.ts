import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {b, contentsOf, targets} from './support.js'

// The DBM contract: what is written survives closing and opening again, for every class
// (on-memory classes through their flat file).
for (const target of targets()) {
  describe(`${target.name}: persistence across close and reopen`, () => {
    it('keeps every record, binary and empty ones included, after close and reopen', () => {
      const {dbm, reopen} = target.makeWithFile()
      const model = new Map<string, string>()
      for (let i = 0; i < 1500; i++) {
        const key = `k${i}\u0000\u00ff`
        const value = i % 7 === 0 ? '' : `value ${i} ${'x'.repeat(i % 50)}`
        dbm.set(b(key), b(value))
        model.set(key, value)
      }
      for (let i = 0; i < 1500; i += 3) {
        dbm.remove(b(`k${i}\u0000\u00ff`))
        model.delete(`k${i}\u0000\u00ff`)
      }
      dbm.set(b(''), b('the empty key'))
      model.set('', 'the empty key')
      dbm.synchronize()
      // Writes after a synchronize are kept by the close too.
      for (let i = 1; i < 1500; i += 3) {
        dbm.append(b(`k${i}\u0000\u00ff`), b('+tail'))
        model.set(`k${i}\u0000\u00ff`, `${model.get(`k${i}\u0000\u00ff`)}+tail`)
      }
      dbm.close()

      const again = reopen(true)
      try {
        assert.equal(again.count(), model.size)
        assert.deepEqual(new Map([...contentsOf(again)].sort()), new Map([...model].sort()))
        again.set('after', 'reopen')
      } finally {
        again.close()
      }
      const readOnly = reopen(false)
      try {
        assert.equal(readOnly.count(), model.size + 1)
        assert.equal(readOnly.get('after')?.toString(), 'reopen')
      } finally {
        readOnly.close()
      }
    })

    it('keeps a cleared database empty, and writes after the clear', () => {
      const {dbm, reopen} = target.makeWithFile()
      for (let i = 0; i < 100; i++) dbm.set(`k${i}`, 'v')
      dbm.synchronize()
      dbm.clear()
      dbm.set('new', 'one')
      dbm.close()
      const again = reopen(false)
      try {
        assert.deepEqual(contentsOf(again), new Map([['new', 'one']]))
      } finally {
        again.close()
      }
    })
  })
}
