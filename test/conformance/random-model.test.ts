import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {makeRandom as rng} from '../../src/perf/local.js'
import {Code} from '../../src/engine/status.js'
import {rejects, targets, withDBOf} from './support.js'

// The DBM contract: random operations against a model, for every class.
for (const target of targets()) {
  const {ordered} = target
  const withDB = withDBOf(target)
  describe(`${target.name}: random operations against a model`, () => {
    it(
      `matches a Map model over ${target.randomOps ?? 100000} random operations`,
      withDB((dbm) => {
        const random = rng(12345)
        const model = new Map<string, string>()
        const ops = target.randomOps ?? 100000
        const keyOf = (): string => `key${Math.floor(random() * 2000)}`
        for (let i = 0; i < ops; i++) {
          const key = keyOf()
          const r = random()
          if (r < 0.35) {
            const value = `v${Math.floor(random() * 1e6)}`
            dbm.set(key, value)
            model.set(key, value)
          } else if (r < 0.6) {
            assert.equal(dbm.get(key)?.toString('latin1'), model.get(key))
          } else if (r < 0.75) {
            if (model.has(key)) {
              dbm.remove(key)
              model.delete(key)
            } else {
              rejects(Code.NOT_FOUND_ERROR, () => dbm.remove(key))
            }
          } else if (r < 0.85) {
            dbm.append(key, 'x', ',')
            model.set(key, model.has(key) ? `${model.get(key)},x` : 'x')
          } else if (r < 0.92) {
            const expected = model.get(key) ?? null
            dbm.compareExchange(key, expected, 'cas')
            model.set(key, 'cas')
          } else {
            const other = keyOf()
            if (!model.has(key)) {
              rejects(Code.NOT_FOUND_ERROR, () => dbm.rekey(key, other))
            } else {
              dbm.rekey(key, other)
              const value = model.get(key)!
              model.delete(key)
              model.set(other, value)
            }
          }
          if (i % 10000 === 0) assert.equal(dbm.count(), model.size)
        }
        assert.equal(dbm.count(), model.size)
        const actual = new Map([...dbm.records()].map(([k, v]) => [k.toString('latin1'), v.toString('latin1')]))
        assert.deepEqual(actual, model)
        if (ordered) assert.deepEqual([...actual.keys()], [...model.keys()].sort())
      }),
    )
  })
}
