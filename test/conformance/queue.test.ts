import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {targets, withDBOf} from './support.js'

// The DBM contract: the queue, for every class.
for (const target of targets()) {
  const {ordered} = target
  const withDB = withDBOf(target)
  describe(`${target.name}: the queue`, () => {
    it(
      'pushes and pops a queue',
      withDB((dbm) => {
        const keys = ['first', 'second', 'third'].map((value) => dbm.pushLast(value))
        for (let i = 1; i < keys.length; i++) assert.ok(Buffer.compare(keys[i - 1], keys[i]) < 0)
        assert.equal(keys[0].length, 8)
        const nowUnits = BigInt(Date.now()) * 100000n
        const keyUnits = keys[0].readBigUInt64BE()
        assert.ok(keyUnits > nowUnits - 10n ** 10n && keyUnits < nowUnits + 10n ** 10n, 'the key counts 10 ns units of now')
        const fixed = dbm.pushLast('old', 1.5)
        assert.equal(fixed.readBigUInt64BE(), 150000000n)
        assert.equal(dbm.pushLast('old again', 1.5).readBigUInt64BE(), 150000001n)
        const popped: string[] = []
        for (let record = dbm.popFirst(); record; record = dbm.popFirst()) popped.push(record[1].toString())
        assert.equal(popped.length, 5)
        if (ordered) assert.deepEqual(popped, ['old', 'old again', 'first', 'second', 'third'])
        assert.equal(dbm.popFirst(), undefined)
      }),
    )
  })
}
