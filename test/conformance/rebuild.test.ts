import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {contentsOf, targets, withDBOf} from './support.js'

const sorted = (map: Map<string, string>): Map<string, string> => new Map([...map].sort())

/** Stores key0, key1, ... with value0, value1, ...; returns what the database should hold. */
function fill(dbm: DBM, count: number): Map<string, string> {
  const model = new Map<string, string>()
  for (let i = 0; i < count; i++) {
    dbm.set(`key${i}`, `value${i}`)
    model.set(`key${i}`, `value${i}`)
  }
  return model
}

// The DBM contract: rebuilding keeps every record, and a rebuild in slices keeps the
// writes made while it runs, for every class.
for (const target of targets()) {
  const withDB = withDBOf(target)
  describe(`${target.name}: rebuild and sliced rebuild`, () => {
    it(
      'keeps every record through a rebuild, and takes writes after it',
      withDB((dbm) => {
        const model = fill(dbm, 3000)
        for (let i = 0; i < 3000; i += 2) {
          dbm.remove(`key${i}`)
          model.delete(`key${i}`)
        }
        dbm.rebuild()
        assert.deepEqual(sorted(contentsOf(dbm)), sorted(model))
        dbm.set('after', 'rebuild')
        assert.equal(dbm.get('after')?.toString(), 'rebuild')
        assert.equal(dbm.count(), model.size + 1)
      }),
    )

    it('keeps the writes made right after a sliced rebuild starts, when its copy takes no slice at all', async () => {
      // A small database is copied before the rebuild first yields: the writes made as soon
      // as rebuildInSlices returns must still reach the new file.
      const dbm = target.make()
      try {
        const model = fill(dbm, 50)
        const rebuilding = dbm.rebuildInSlices()
        for (let i = 0; i < 50; i += 5) {
          dbm.set(`key${i}`, 'changed')
          model.set(`key${i}`, 'changed')
        }
        dbm.remove('key1')
        model.delete('key1')
        dbm.set('late', 'x')
        model.set('late', 'x')
        await rebuilding
        assert.deepEqual(sorted(contentsOf(dbm)), sorted(model))
      } finally {
        dbm.close()
      }
    })

    it('keeps the writes made while a sliced rebuild runs', async () => {
      const dbm = target.make()
      try {
        const model = fill(dbm, 20000)
        let done = false
        const rebuilding = dbm.rebuildInSlices().finally(() => (done = true))
        let round = 0
        while (!done) {
          // Overwrite, remove and add while the rebuild yields.
          for (let i = 0; i < 50; i++) {
            const n = (round * 50 + i) % 20000
            if (i % 3 === 0) {
              // A long rebuild comes round to keys removed already.
              if (model.has(`key${n}`)) dbm.remove(`key${n}`)
              model.delete(`key${n}`)
            } else {
              dbm.set(`key${n}`, `changed${round}`)
              model.set(`key${n}`, `changed${round}`)
            }
            dbm.set(`new${round}-${i}`, 'x')
            model.set(`new${round}-${i}`, 'x')
          }
          round++
          await new Promise((resolve) => setImmediate(resolve))
        }
        await rebuilding
        assert.deepEqual(sorted(contentsOf(dbm)), sorted(model))
      } finally {
        dbm.close()
      }
    })
  })
}
