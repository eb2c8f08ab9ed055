import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ANY_VALUE, INT64_MIN, NOOP, REMOVE, type DBM} from '../../src/engine/dbm.js'
import {searchDBM} from '../../src/engine/search.js'
import {makeRandom as rng} from '../../src/perf/local.js'
import {Code, StatusError} from '../../src/engine/status.js'

/** How a suite gets a fresh, open, writable database of the class under test. */
export interface ConformanceTarget {
  name: string
  make: () => DBM
  ordered: boolean
  /** Number of random operations checked against a Map model. */
  randomOps?: number
  /** A database filled by `fill`, then closed and opened again read-only. */
  readOnly: (fill: (dbm: DBM) => void) => DBM
}

const b = (text: string): Buffer => Buffer.from(text, 'latin1')

function rejects(code: Code, fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof StatusError, `expected a StatusError, got ${String(error)}`)
    assert.equal(Code[error.code], Code[code])
    return true
  })
}

function keysOf(dbm: DBM): string[] {
  return [...dbm.records()].map(([key]) => key.toString('latin1'))
}

/** The whole DBM contract, run against one class. */
export function runConformance(target: ConformanceTarget): void {
  const {make, ordered} = target
  const withDB = (fn: (dbm: DBM) => void) => () => {
    const dbm = make()
    try {
      fn(dbm)
    } finally {
      if (dbm.isOpen()) dbm.close()
    }
  }

  describe(`${target.name}: the DBM contract`, () => {
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

    it('answers PRECONDITION_ERROR from every entry after close, iterators included', () => {
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
      ]
      for (const [name, entry] of entries) {
        assert.throws(entry, (error: unknown) => error instanceof StatusError && error.code === Code.PRECONDITION_ERROR, name)
      }
    })

    it(
      'sets, gets, overwrites and removes',
      withDB((dbm) => {
        assert.equal(dbm.get('a'), undefined)
        dbm.set('a', 'one')
        assert.deepEqual(dbm.get('a'), b('one'))
        dbm.set('a', 'two')
        assert.deepEqual(dbm.get('a'), b('two'))
        rejects(Code.DUPLICATION_ERROR, () => dbm.set('a', 'three', false))
        assert.deepEqual(dbm.get('a'), b('two'))
        dbm.set('b', 'x', false)
        assert.equal(dbm.count(), 2)
        dbm.remove('a')
        rejects(Code.NOT_FOUND_ERROR, () => dbm.remove('a'))
        assert.equal(dbm.get('a'), undefined)
        assert.equal(dbm.count(), 1)
      }),
    )

    it(
      'keeps empty keys and values, binary keys and large values',
      withDB((dbm) => {
        dbm.set('', '')
        assert.deepEqual(dbm.get(''), Buffer.alloc(0))
        const binary = Buffer.from([0, 0xff, 0, 0x80, 0xfe, 0])
        dbm.set(binary, Buffer.from([0xff, 0]))
        assert.deepEqual(dbm.get(binary), Buffer.from([0xff, 0]))
        assert.equal(dbm.get(Buffer.from([0, 0xff, 0, 0x80, 0xfe])), undefined)
        const big = Buffer.alloc(1 << 20)
        for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff
        dbm.set('big', big)
        assert.ok(dbm.get('big')?.equals(big))
        assert.equal(dbm.count(), 3)
        const utf8 = 'キー'
        dbm.set(utf8, '値')
        assert.equal(dbm.get(utf8)?.toString('utf8'), '値')
      }),
    )

    it(
      'appends with and without a delimiter',
      withDB((dbm) => {
        dbm.append('k', 'a', ',')
        assert.deepEqual(dbm.get('k'), b('a'))
        dbm.append('k', 'b', ',')
        dbm.append('k', 'c')
        assert.deepEqual(dbm.get('k'), b('a,bc'))
        dbm.appendMulti(
          [
            ['k', 'd'],
            ['m', 'e'],
          ],
          ':',
        )
        assert.deepEqual(dbm.get('k'), b('a,bc:d'))
        assert.deepEqual(dbm.get('m'), b('e'))
      }),
    )

    it(
      'compares and exchanges',
      withDB((dbm) => {
        dbm.compareExchange('k', null, 'v1')
        assert.deepEqual(dbm.get('k'), b('v1'))
        rejects(Code.INFEASIBLE_ERROR, () => dbm.compareExchange('k', null, 'v2'))
        rejects(Code.INFEASIBLE_ERROR, () => dbm.compareExchange('k', 'wrong', 'v2'))
        assert.deepEqual(dbm.compareExchange('k', 'v1', 'v2').actual, b('v1'))
        assert.deepEqual(dbm.compareExchange('k', ANY_VALUE, 'v3').actual, b('v2'))
        assert.deepEqual(dbm.compareExchange('k', ANY_VALUE, ANY_VALUE).actual, b('v3'))
        assert.deepEqual(dbm.get('k'), b('v3'))
        dbm.compareExchange('k', 'v3', null)
        assert.equal(dbm.get('k'), undefined)
        rejects(Code.INFEASIBLE_ERROR, () => dbm.compareExchange('k', ANY_VALUE, 'x'))
        assert.equal(dbm.compareExchange('k', null, ANY_VALUE).actual, undefined)
        assert.equal(dbm.get('k'), undefined)
        dbm.set('e', '')
        dbm.compareExchange('e', '', 'filled')
        assert.deepEqual(dbm.get('e'), b('filled'))
      }),
    )

    it(
      'increments 8-byte big-endian integers',
      withDB((dbm) => {
        assert.equal(dbm.increment('n', 5, 100), 105n)
        assert.equal(dbm.increment('n', -10), 95n)
        assert.deepEqual(dbm.get('n'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 95]))
        assert.equal(dbm.increment('n', INT64_MIN), 95n)
        assert.equal(dbm.increment('none', INT64_MIN, 7), 7n)
        assert.equal(dbm.get('none'), undefined)
        assert.equal(dbm.increment('w', 1, 2n ** 63n - 1n), -(2n ** 63n))
      }),
    )

    it(
      'compares and exchanges several records at once',
      withDB((dbm) => {
        dbm.set('a', '1')
        dbm.compareExchangeMulti(
          [
            ['a', '1'],
            ['b', null],
          ],
          [
            ['a', '2'],
            ['b', '3'],
          ],
        )
        assert.deepEqual(dbm.get('a'), b('2'))
        assert.deepEqual(dbm.get('b'), b('3'))
        rejects(Code.INFEASIBLE_ERROR, () =>
          dbm.compareExchangeMulti(
            [
              ['a', '2'],
              ['b', null],
            ],
            [
              ['a', 'x'],
              ['c', 'y'],
            ],
          ),
        )
        assert.deepEqual(dbm.get('a'), b('2'))
        assert.equal(dbm.get('c'), undefined)
        dbm.compareExchangeMulti([['a', ANY_VALUE]], [['a', null]])
        assert.equal(dbm.get('a'), undefined)
        // The empty key is an ordinary key, not a hidden precondition.
        dbm.set('', 'x')
        dbm.compareExchangeMulti([['b', '3']], [['b', '4']])
        assert.deepEqual(dbm.get(''), b('x'))
      }),
    )

    it(
      'rekeys',
      withDB((dbm) => {
        dbm.set('old', 'v')
        dbm.rekey('old', 'new')
        assert.equal(dbm.get('old'), undefined)
        assert.deepEqual(dbm.get('new'), b('v'))
        dbm.rekey('new', 'copy', true, true)
        assert.deepEqual(dbm.get('new'), b('v'))
        assert.deepEqual(dbm.get('copy'), b('v'))
        rejects(Code.DUPLICATION_ERROR, () => dbm.rekey('new', 'copy', false))
        rejects(Code.NOT_FOUND_ERROR, () => dbm.rekey('missing', 'x'))
        dbm.rekey('copy', 'copy')
        assert.deepEqual(dbm.get('copy'), b('v'))
      }),
    )

    it(
      'handles the multi-record operations',
      withDB((dbm) => {
        dbm.setMulti([
          ['a', '1'],
          ['b', '2'],
          ['c', '3'],
        ])
        const found = dbm.getMulti(['a', 'x', 'c'])
        assert.deepEqual(
          found.map(([k, v]) => `${k}=${v}`),
          ['a=1', 'c=3'],
        )
        rejects(Code.DUPLICATION_ERROR, () =>
          dbm.setMulti(
            [
              ['a', 'n'],
              ['d', '4'],
            ],
            false,
          ),
        )
        assert.deepEqual(dbm.get('a'), b('1'))
        assert.deepEqual(dbm.get('d'), b('4'))
        rejects(Code.NOT_FOUND_ERROR, () => dbm.removeMulti(['a', 'zz', 'b']))
        assert.equal(dbm.get('a'), undefined)
        assert.equal(dbm.get('b'), undefined)
        dbm.removeMulti(['c', 'd'])
        assert.equal(dbm.count(), 0)
      }),
    )

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

    it(
      'counts, clears, inspects and exports',
      withDB((dbm) => {
        for (let i = 0; i < 100; i++) dbm.set(`k${i}`, `v${i}`)
        assert.equal(dbm.count(), 100)
        const attributes = new Map(dbm.inspect())
        assert.equal(attributes.get('num_records'), '100')
        assert.equal(attributes.get('class'), dbm.className)
        const copy = make()
        try {
          dbm.export(copy)
          assert.equal(copy.count(), 100)
          assert.deepEqual(copy.get('k42'), b('v42'))
        } finally {
          copy.close()
        }
        dbm.clear()
        assert.equal(dbm.count(), 0)
        assert.deepEqual(keysOf(dbm), [])
      }),
    )

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

    it(
      'searches in every mode',
      withDB((dbm) => {
        for (const key of ['apple', 'Apple pie', 'banana', 'pineapple', 'grape', 'ape', 'cherry']) dbm.set(key, 'v')
        const find = (mode: string, pattern: string, capacity = 0): string[] =>
          searchDBM(dbm, mode, pattern, capacity)
            .map((key) => key.toString())
            .sort()
        assert.deepEqual(find('contain', 'apple'), ['apple', 'pineapple'])
        assert.deepEqual(find('containcase', 'APPLE'), ['Apple pie', 'apple', 'pineapple'])
        assert.deepEqual(find('containword', 'apple'), ['apple'])
        assert.deepEqual(find('containcaseword', 'apple'), ['Apple pie', 'apple'])
        assert.deepEqual(find('contain*', 'nan\nerr'), ['banana', 'cherry'])
        assert.deepEqual(
          find('containcase*', 'APE\nCHE'),
          ['Apple pie', 'apple', 'ape', 'cherry', 'grape', 'pineapple'].sort().filter((k) => /ape|che/i.test(k)),
        )
        assert.deepEqual(find('containword*', 'ape\npie'), ['Apple pie', 'ape'])
        assert.deepEqual(find('containcaseword*', 'APE\nPIE'), ['Apple pie', 'ape'])
        assert.deepEqual(find('begin', 'ap'), ['ape', 'apple'])
        assert.deepEqual(find('end', 'ape'), ['ape', 'grape'])
        assert.deepEqual(find('regex', '^[ab].*a$'), ['banana'])
        assert.deepEqual(find('regex', '(?i)^APP'), ['Apple pie', 'apple'])
        rejects(Code.INVALID_ARGUMENT_ERROR, () => find('regex', '('))
        rejects(Code.INVALID_ARGUMENT_ERROR, () => find('nosuchmode', 'x'))
        assert.deepEqual(
          searchDBM(dbm, 'edit', 'appl', 2).map((key) => key.toString()),
          ['apple', 'ape'],
        )
        assert.deepEqual(
          searchDBM(dbm, 'editbin', 'grap', 1).map((key) => key.toString()),
          ['grape'],
        )
        assert.equal(find('contain', 'a', 3).length, 3)
        if (ordered) {
          const walk = (mode: string, pattern: string, capacity = 0): string[] => searchDBM(dbm, mode, pattern, capacity).map((key) => key.toString())
          assert.deepEqual(walk('upper', 'banana', 2), ['cherry', 'grape'])
          assert.deepEqual(walk('upperinc', 'banana', 2), ['banana', 'cherry'])
          assert.deepEqual(walk('lower', 'banana', 2), ['apple', 'ape'])
          assert.deepEqual(walk('lowerinc', 'banana', 2), ['banana', 'apple'])
          assert.deepEqual(walk('upper', 'grape'), ['pineapple'])
        } else {
          rejects(Code.NOT_IMPLEMENTED_ERROR, () => searchDBM(dbm, 'upper', 'a', 1))
        }
      }),
    )

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
