import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {parseParams} from '../../src/engine/params.js'
import {openDBM} from '../../src/engine/poly.js'
import {Code} from '../../src/engine/status.js'
import {makeRandom} from '../../src/perf/local.js'
import {b, contentsOf, deferred, keysOf, rejects, targets, withDBOf} from './support.js'

// The contract of classes whose updates wait for a synchronize (the skip list): reads see
// the file as of the last synchronize; the synchronize merges the queued updates, keeps
// every value of a key unless a reducer says otherwise, and applies removals.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-deferred-'))
after(() => fs.rmSync(dir, {recursive: true, force: true}))

/** Every record, duplicates included, as "key=value". */
const listing = (dbm: DBM): string[] => [...dbm.records()].map(([k, v]) => `${k.toString('latin1')}=${v.toString('latin1')}`)

for (const target of targets(deferred)) {
  const withDB = withDBOf(target)
  describe(`${target.name}: updates seen at the synchronize`, () => {
    it(
      'shows nothing queued until the synchronize, then everything',
      withDB((dbm) => {
        dbm.set('b', '2')
        dbm.set('a', '1')
        assert.equal(dbm.get('a'), undefined)
        assert.deepEqual(keysOf(dbm), [])
        dbm.synchronize()
        assert.deepEqual(listing(dbm), ['a=1', 'b=2'])
        assert.equal(dbm.count(), 2)
        // A removal is applied at the synchronize; until then the record is there.
        dbm.remove('a')
        assert.equal(dbm.get('a')?.toString(), '1')
        // A removal does not look: the key may be among the queued updates, as 'c' is.
        dbm.remove('never')
        dbm.set('c', '3')
        dbm.remove('c')
        dbm.synchronize()
        assert.deepEqual(listing(dbm), ['b=2'])
      }),
    )

    it(
      'keeps every value of a key without a reducer, and lets each reducer decide',
      withDB((dbm) => {
        dbm.set('k', '10')
        dbm.set('k', '20')
        dbm.set('k', '30')
        dbm.set('z', '5')
        dbm.synchronize()
        if (!target.name.includes('shards')) assert.deepEqual(listing(dbm), ['k=10', 'k=20', 'k=30', 'z=5'])
        // The first of several is what a lookup finds.
        assert.equal(dbm.get('k')?.toString(), '10')
        assert.equal(dbm.count(), 4)
        const expectations: [string, string[]][] = [
          ['second', ['k=20', 'z=5']],
          ['first', ['k=20', 'z=5']],
        ]
        for (const [reducer, expected] of expectations) {
          dbm.synchronize(false, {reducer})
          assert.deepEqual(listing(dbm).sort(), expected, reducer)
        }
        rejects(Code.INVALID_ARGUMENT_ERROR, () => dbm.synchronize(false, {reducer: 'median'}))
        rejects(Code.INVALID_ARGUMENT_ERROR, () => dbm.synchronize(false, {unknown: '1'}))
      }),
    )

    it('applies every reducer the reference names', () => {
      const cases: [string, string[]][] = [
        ['none', ['k=3', 'k=-1', 'k=x7']],
        ['first', ['k=3']],
        ['ReduceToSecond', ['k=-1']],
        ['last', ['k=x7']],
        ['concat', ['k=3-1x7']],
        ['concattab', ['k=3\t-1\tx7']],
        ['concatline', ['k=3\n-1\nx7']],
        ['concatnull', ['k=3\u0000-1\u0000x7']],
        ['total', ['k=2']],
        ['reducetototal', ['k=2']],
        ['remove', ['k=3', 'k=-1', 'k=x7']],
      ]
      // With expiration, values carry their expiry time: only reducers that pick one value apply.
      const expiring = target.name.includes('expiration')
      const picksOne = ['none', 'first', 'ReduceToSecond', 'last', 'remove']
      for (const [reducer, expected] of cases) {
        const dbm = target.make()
        try {
          for (const value of ['3', '-1', 'x7']) dbm.set('k', value)
          if (expiring && !picksOne.includes(reducer)) {
            rejects(Code.INVALID_ARGUMENT_ERROR, () => dbm.synchronize(false, {reducer}))
            continue
          }
          dbm.synchronize(false, {reducer})
          assert.deepEqual(listing(dbm), expected, reducer)
        } finally {
          dbm.close()
        }
      }
      if (expiring) return
      const dbm = target.make()
      try {
        for (const value of [Buffer.from([0x10, 0x01]), Buffer.from([0x20, 0x02]), Buffer.from([0x30, 0x03])]) dbm.set('n', value)
        dbm.synchronize(false, {reducer: 'totalbe'})
        assert.deepEqual(dbm.get('n'), Buffer.from([0, 0, 0, 0, 0, 0, 0x60, 0x06]))
      } finally {
        dbm.close()
      }
    })

    it(
      'reads the synchronized value for appends and increments',
      withDB((dbm) => {
        dbm.set('a', 'x')
        dbm.synchronize()
        dbm.append('a', 'y', ',')
        dbm.append('a', 'z', ',')
        assert.equal(dbm.increment('n', 5), 5n)
        assert.equal(dbm.increment('n', 5), 5n)
        dbm.synchronize(false, {reducer: 'last'})
        assert.equal(dbm.get('a')?.toString(), 'x,z')
        assert.equal(dbm.increment('n', 1), 6n)
      }),
    )

    it(
      'moves cursors over the file, duplicates included, in every direction',
      withDB((dbm) => {
        for (const key of ['d', 'b', 'a', 'c', 'c', 'e']) dbm.set(key, key.toUpperCase())
        dbm.synchronize()
        if (target.name.includes('shards')) {
          assert.deepEqual(keysOf(dbm), ['a', 'b', 'c', 'c', 'd', 'e'])
          return
        }
        const iter = dbm.makeIterator()
        const at = (): string | undefined => iter.getKey()?.toString()
        iter.first()
        assert.equal(at(), 'a')
        iter.last()
        assert.equal(at(), 'e')
        iter.previous()
        assert.equal(at(), 'd')
        iter.jump('c')
        assert.equal(at(), 'c')
        iter.next()
        assert.equal(at(), 'c')
        iter.next()
        assert.equal(at(), 'd')
        iter.jump('bb')
        assert.equal(at(), 'c')
        iter.jumpLower('c', false)
        assert.equal(at(), 'b')
        iter.jumpLower('c', true)
        assert.equal(at(), 'c')
        iter.jumpUpper('c', false)
        assert.equal(at(), 'd')
        iter.jumpUpper('c', true)
        assert.equal(at(), 'c')
        iter.jumpLower('a', false)
        assert.equal(at(), undefined)
        iter.jump('zz')
        assert.equal(at(), undefined)
        iter.first()
        iter.previous()
        assert.equal(at(), undefined)
        // A cursor's write is queued like any other; a removal moves it on.
        iter.jump('b')
        iter.remove()
        assert.equal(at(), 'c')
        iter.set('changed')
        dbm.synchronize(false, {reducer: 'last'})
        assert.deepEqual(listing(dbm), ['a=A', 'c=changed', 'd=D', 'e=E'])
        // The synchronize replaced the file: an older cursor has lost its place.
        assert.equal(at(), undefined)
      }),
    )

    it('keeps what close merges, reopens read-only, and clears', () => {
      const {dbm, reopen} = target.makeWithFile()
      for (let i = 0; i < 500; i++) dbm.set(b(`k${i}\u0000\u00ff`), b(i % 5 ? `v${i}` : ''))
      dbm.set(b(''), b('empty key'))
      dbm.close()
      const readOnly = reopen(false)
      try {
        assert.equal(readOnly.count(), 501)
        assert.equal(readOnly.get(b('k10\u0000\u00ff'))?.toString(), '')
        assert.equal(readOnly.get(b(''))?.toString(), 'empty key')
        assert.deepEqual(readOnly.validateStructure(), [])
      } finally {
        readOnly.close()
      }
      const again = reopen(true)
      try {
        again.clear()
        assert.equal(again.count(), 0)
        again.set('after', 'clear')
      } finally {
        again.close()
      }
      const last = reopen(false)
      try {
        assert.deepEqual(listing(last), ['after=clear'])
      } finally {
        last.close()
      }
    })

    it(
      'rebuilds with new link tuning, keeping every record and duplicate',
      withDB((dbm) => {
        for (let i = 0; i < 2000; i++) dbm.set(`key${i % 1500}`, `v${i}`)
        dbm.synchronize()
        const before = listing(dbm)
        dbm.set('queued', 'before the rebuild')
        dbm.rebuild({step_unit: '3', max_level: '6'})
        assert.deepEqual(
          listing(dbm).filter((line) => !line.startsWith('queued')),
          before,
        )
        assert.equal(dbm.get('queued')?.toString(), 'before the rebuild')
        assert.deepEqual(dbm.validateStructure(), [])
        rejects(Code.INVALID_ARGUMENT_ERROR, () => dbm.rebuild({bogus: '1'}))
      }),
    )

    it(`matches a model over ${target.randomOps} random operations, synchronized every 997`, () => {
      const dbm = target.make()
      try {
        const random = makeRandom(777)
        const synced = new Map<string, string>()
        // What each key ends with at the next synchronize: a value, or null for removed.
        let queued = new Map<string, string | null>()
        const settle = (): void => {
          dbm.synchronize(false, {reducer: 'last'})
          for (const [key, value] of queued) {
            if (value === null) synced.delete(key)
            else synced.set(key, value)
          }
          queued = new Map()
        }
        for (let i = 0; i < target.randomOps; i++) {
          const key = `key${Math.floor(random() * 3000)}`
          const r = random()
          if (r < 0.45) {
            const value = `v${i}`
            dbm.set(key, value)
            queued.set(key, value)
          } else if (r < 0.7) {
            assert.equal(dbm.get(key)?.toString(), synced.get(key), key)
          } else if (r < 0.85) {
            dbm.remove(key)
            queued.set(key, null)
          } else {
            dbm.append(key, 't', '+')
            queued.set(key, synced.has(key) ? `${synced.get(key)}+t` : 't')
          }
          if (i % 997 === 996) settle()
        }
        settle()
        assert.deepEqual(new Map([...contentsOf(dbm)].sort()), new Map([...synced].sort()))
        assert.equal(dbm.count(), synced.size)
        assert.deepEqual(dbm.validateStructure(), [])
      } finally {
        dbm.close()
      }
    })
  })
}

describe('a skip list synchronized in slices', () => {
  const fill = (dbm: DBM, from: number, to: number): void => {
    for (let i = from; i < to; i++) dbm.set(`key${(i * 7919) % 100000}`, `v${i}`)
  }

  it('keeps answering from the old file, queues what comes meanwhile for the next one, and loses nothing', async () => {
    const dbm = openDBM(path.join(dir, 'sliced.tks'), parseParams('sort_mem_size=65536'), {writable: true, truncate: true})
    try {
      fill(dbm, 0, 60000)
      dbm.synchronize()
      fill(dbm, 60000, 100000)
      dbm.remove('key0')
      const work = dbm.synchronizeInSlices(false, {reducer: 'last'})
      let turns = 0
      let done = false
      void work.finally(() => (done = true))
      while (!done) {
        // The old file answers while the merge runs; what is written now waits.
        assert.equal(dbm.get('key0')?.toString(), 'v0')
        dbm.set(`during${turns}`, 'x')
        turns++
        await new Promise((resolve) => setImmediate(resolve))
      }
      await work
      assert.ok(turns > 1, 'the merge yielded')
      assert.equal(dbm.get('key0'), undefined)
      assert.equal(dbm.count(), 99999)
      assert.equal(dbm.get('during0'), undefined)
      dbm.synchronize()
      assert.equal(dbm.count(), 99999 + turns)
      assert.deepEqual(dbm.validateStructure(), [])
    } finally {
      dbm.close()
    }
  })

  it('merges records written in order in slices too, counting those written meanwhile at once', async () => {
    for (const interruption of ['none', 'synchronize', 'clear'] as const) {
      const file = path.join(dir, `in-order-${interruption}.tks`)
      const dbm = openDBM(file, parseParams('insert_in_order=true'), {writable: true, truncate: true})
      const key = (i: number): string => `key${String(i).padStart(6, '0')}`
      try {
        for (let i = 0; i < 60000; i++) dbm.set(key(i), `v${i}`)
        dbm.synchronize()
        for (let i = 60000; i < 100000; i++) dbm.set(key(i), `v${i}`)
        const work = dbm.synchronizeInSlices()
        let turns = 0
        let kept = 100000
        let done = false
        void work.finally(() => (done = true))
        while (!done) {
          if (kept > 0) assert.equal(dbm.get(key(0))?.toString(), 'v0')
          dbm.set(`later${String(turns).padStart(6, '0')}`, 'x')
          turns++
          kept++
          if (interruption === 'synchronize' && turns === 2) dbm.synchronize()
          else if (interruption === 'clear' && turns === 2) {
            dbm.clear()
            kept = 0
          }
          await new Promise((resolve) => setImmediate(resolve))
        }
        await work
        assert.ok(turns > 1, 'the merge yielded')
        assert.equal(dbm.count(), kept, interruption)
        dbm.synchronize()
        assert.equal(dbm.count(), kept, interruption)
        if (interruption !== 'clear') assert.equal(dbm.get(key(99999))?.toString(), 'v99999')
        if (kept > 0) assert.equal(dbm.get(`later${String(turns - 1).padStart(6, '0')}`)?.toString(), 'x')
        assert.deepEqual(dbm.validateStructure(), [])
      } finally {
        dbm.close()
      }
      assert.deepEqual(
        fs.readdirSync(dir).filter((name) => name.startsWith(`in-order-${interruption}.tks.tmp`)),
        [],
        `${interruption}: no temporary files left`,
      )
    }
  })

  it('is taken over whole by a synchronous synchronize, a close or a clear in the middle', async () => {
    for (const interruption of ['synchronize', 'close', 'clear'] as const) {
      const file = path.join(dir, `taken-over-${interruption}.tks`)
      const dbm = openDBM(file, new Map(), {writable: true, truncate: true})
      fill(dbm, 0, 100000)
      const work = dbm.synchronizeInSlices(false, {reducer: 'last'})
      await new Promise((resolve) => setImmediate(resolve))
      dbm.set('late', 'write')
      if (interruption === 'synchronize') dbm.synchronize(false, {reducer: 'last'})
      else if (interruption === 'close') dbm.close()
      else dbm.clear()
      await work
      const reopened = interruption === 'close' ? openDBM(file, new Map(), {writable: true}) : dbm
      try {
        assert.equal(reopened.count(), interruption === 'clear' ? 0 : 100001, interruption)
        if (interruption !== 'clear') assert.equal(reopened.get('late')?.toString(), 'write')
        assert.deepEqual(reopened.validateStructure(), [])
      } finally {
        reopened.close()
      }
      assert.deepEqual(
        fs.readdirSync(dir).filter((name) => name.startsWith(`taken-over-${interruption}.tks.tmp`)),
        [],
        `${interruption}: no temporary files left`,
      )
    }
  })
})

describe('skip list files merged in and written in order', () => {
  it('merges other skip files at a synchronize, theirs before its own among equal keys', () => {
    const other = path.join(dir, 'other.tks')
    const source = openDBM(other, new Map(), {writable: true, truncate: true})
    source.set('shared', 'theirs')
    source.set('only-theirs', '1')
    source.close()
    const dbm = openDBM(path.join(dir, 'merged.tks'), new Map(), {writable: true, truncate: true})
    try {
      dbm.set('shared', 'ours')
      dbm.synchronize()
      dbm.synchronize(false, {merge: other})
      assert.deepEqual(listing(dbm), ['only-theirs=1', 'shared=theirs', 'shared=ours'])
      dbm.synchronize(false, {merge: other, reducer: 'last'})
      assert.deepEqual(listing(dbm), ['only-theirs=1', 'shared=ours'])
      rejects(Code.NOT_FOUND_ERROR, () => dbm.synchronize(false, {merge: path.join(dir, 'missing.tks')}))
      const notSkip = path.join(dir, 'text.tks')
      fs.writeFileSync(notSkip, 'plain text, not a skip list file'.repeat(10))
      rejects(Code.BROKEN_DATA_ERROR, () => dbm.synchronize(false, {merge: notSkip}))
      assert.deepEqual(listing(dbm), ['only-theirs=1', 'shared=ours'])
    } finally {
      dbm.close()
    }
  })

  it('counts records written in order at once, and shows them at the synchronize', () => {
    const dbm = openDBM(path.join(dir, 'ordered.tks'), parseParams('insert_in_order=true'), {writable: true, truncate: true})
    try {
      for (let i = 0; i < 3000; i++) dbm.set(`key${String(i).padStart(5, '0')}`, `v${i}`)
      assert.equal(dbm.count(), 3000)
      assert.equal(dbm.get('key00001'), undefined)
      dbm.synchronize()
      assert.equal(dbm.get('key02999')?.toString(), 'v2999')
      assert.equal(dbm.count(), 3000)
      assert.deepEqual(dbm.validateStructure(), [])
      dbm.set('key99999', 'later')
      dbm.synchronize()
      assert.equal(dbm.count(), 3001)
    } finally {
      dbm.close()
    }
  })
})
