import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ANY_VALUE, INT64_MIN} from '../../src/engine/dbm.js'
import {searchDBM} from '../../src/engine/search.js'
import {Code} from '../../src/engine/status.js'
import {b, rejects, keysOf, targets, withDBOf} from './support.js'

// The DBM contract: record operations, for every class.
for (const target of targets()) {
  const {make, ordered} = target
  const withDB = withDBOf(target)
  describe(`${target.name}: record operations`, () => {
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
  })
}
