import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {ExpiringDBM, XT_NEVER} from '../../src/engine/expiry/expiring-dbm.js'
import {openDBM} from '../../src/engine/poly.js'
import {applyLogFiles} from '../../src/engine/ulog/update-log.js'
import {tempDir} from '../helpers/cli.js'

const {dir, cleanup} = tempDir()
after(cleanup)

const NOW = 1_800_000_000
let serial = 0

function open(ext: string, more: [string, string][] = [], file = path.join(dir, `expiry-${serial++}.${ext}`)): {dbm: ExpiringDBM; file: string} {
  const dbm = openDBM(file, new Map([['expiration', 'true'], ...more]), {writable: true}) as ExpiringDBM
  dbm.clock = () => NOW
  return {dbm, file}
}

const listing = (dbm: DBM): string[] => [...dbm.records()].map(([key, value]) => `${key}=${value}`)

describe('record expiration', () => {
  for (const ext of ['tkh', 'tkt', 'tkmt', 'tkmb']) {
    it(`${ext}: expired records are absent everywhere, writes see them as empty, and a sweep removes them`, async () => {
      const {dbm, file} = open(ext)
      dbm.set('forever', 'f')
      dbm.withExpiry(NOW - 1, () => dbm.set('gone', 'g'))
      dbm.withExpiry(NOW + 60, () => dbm.set('soon', 's'))
      dbm.withExpiry(NOW, () => dbm.set('edge', 'e'))
      // Gone only once its time has passed: the second itself still counts.
      assert.equal(dbm.get('edge')?.toString(), 'e')
      assert.equal(dbm.get('gone'), undefined)
      assert.deepEqual(listing(dbm).sort(), ['edge=e', 'forever=f', 'soon=s'])
      if (dbm.isOrdered()) {
        const iterator = dbm.makeIterator()
        iterator.last()
        const backwards: string[] = []
        for (let record = iterator.get(); record; iterator.previous(), record = iterator.get()) backwards.push(record[0].toString())
        assert.deepEqual(backwards, ['soon', 'forever', 'edge'])
        iterator.jump('gone')
        assert.equal(iterator.getKey()?.toString(), 'soon')
      }
      assert.throws(() => dbm.remove('gone'), /NOT_FOUND/)
      // Appending to an expired record starts afresh; a read-modify-write keeps the expiry.
      dbm.append('gone', 'new', ',')
      assert.equal(dbm.get('gone')?.toString(), 'new')
      assert.equal(dbm.expiryOf(Buffer.from('gone')), XT_NEVER)
      dbm.append('soon', 'more', ',')
      dbm.increment('counter', 1)
      assert.equal(dbm.expiryOf(Buffer.from('soon')), NOW + 60)
      dbm.set('soon', 'replaced')
      assert.equal(dbm.expiryOf(Buffer.from('soon')), XT_NEVER, 'a plain set gives a record without expiry')
      // The times are absolute and stored: they survive a close and a reopen.
      dbm.withExpiry(NOW + 5, () => dbm.set('five', '5'))
      dbm.close()
      const again = open(ext, [], file).dbm
      assert.equal(again.expiryOf(Buffer.from('five')), NOW + 5)
      again.clock = () => NOW + 6
      assert.equal(again.get('five'), undefined)
      const before = again.count()
      assert.equal(await again.sweep(), 2)
      assert.equal(again.count(), before - 2)
      assert.deepEqual(listing(again).sort(), ['counter=\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0001', 'forever=f', 'gone=new', 'soon=replaced'])
      again.close()
    })
  }

  it('logs stored values, so that a replica keeps the same absolute times, and a rebuild keeps them', () => {
    const prefix = path.join(dir, 'expiry-ulog')
    const {dbm} = open('tkh', [['ulog_prefix', prefix]])
    dbm.withExpiry(NOW + 100, () => dbm.set('a', '1'))
    dbm.set('b', '2')
    dbm.rebuild()
    assert.equal(dbm.expiryOf(Buffer.from('a')), NOW + 100)
    dbm.close()
    const replica = open('tkt').dbm
    applyLogFiles(replica, prefix, 0)
    assert.equal(replica.expiryOf(Buffer.from('a')), NOW + 100)
    assert.equal(replica.expiryOf(Buffer.from('b')), XT_NEVER)
    assert.deepEqual(listing(replica), ['a=1', 'b=2'])
    replica.close()
  })

  it('sweeps 100,000 records with half expired in slices that yield', async () => {
    const {dbm} = open('tkh', [['num_buckets', '200000']])
    for (let i = 0; i < 100_000; i++) dbm.withExpiry(i % 2 ? NOW - 1 : NOW + 1, () => dbm.set(`key${i}`, 'v'))
    let turns = 0
    let done = false
    const sweeping = dbm.sweep(5).finally(() => (done = true))
    while (!done) {
      turns++
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.equal(await sweeping, 50_000)
    assert.ok(turns > 1, 'the sweep yielded')
    assert.equal(dbm.count(), 50_000)
    dbm.close()
  })
})
