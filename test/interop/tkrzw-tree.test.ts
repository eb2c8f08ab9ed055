import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {parseParams} from '../../src/engine/params.js'
import {openDBM} from '../../src/engine/poly.js'
import {makeRandom} from '../../src/perf/local.js'
import {kv, run, tempDir} from '../helpers/cli.js'
import {hexRecords, oracleExport, oracleValidates, skip} from '../helpers/oracle.js'

// Tree files both ways with Debian's tkrzw_dbm_util and tkrzw_dbm_perf as the oracle: small
// pages, so that a few thousand random records split pages and half of them removed merge
// them again, for every comparator, with and without compression. (Debian's Tkrzw 1.0.25
// predates the signed and float big-endian comparators: it refuses such files as
// "invalid_key_comparator", so those two are checked by kv's own tests only.)
const COMPARATORS: [name: string, key: (n: number) => Buffer][] = [
  ['lexical', (n) => Buffer.from(`k${n}`)],
  ['lexicalcase', (n) => Buffer.from(n % 2 ? `K${n}` : `k${n}`)],
  ['decimal', (n) => Buffer.from(String(n * 7 - 5000))],
  ['hexadecimal', (n) => Buffer.from((n * 13).toString(16))],
  ['realnumber', (n) => Buffer.from(String((n - 3000) / 7))],
  ['pairlexical', (n) => pairKey(`p${n % 50}`, `s${n}`)],
  ['pairdecimal', (n) => pairKey(String(n % 70), `s${n}`)],
]

function pairKey(first: string, second: string): Buffer {
  return Buffer.concat([Buffer.from([first.length]), Buffer.from(first), Buffer.from(second)])
}

const listed = (dbm: DBM): string[] => hexRecords(dbm.records())

describe('TreeDBM files against the oracle', {skip}, () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  for (const [comparator, keyOf] of COMPARATORS) {
    for (const comp of comparator === 'lexical' ? ['none', 'zstd', 'lzma'] : comparator === 'decimal' ? ['none', 'zstd'] : ['none']) {
      it(`${comparator}, compression ${comp}: a file kv wrote reads the same in the oracle, also after kv's rebuild`, () => {
        const file = path.join(dir, `kv-${comparator}-${comp}.tkt`)
        const params = parseParams(`key_comparator=${comparator},max_page_size=400,max_branches=8,record_comp_mode=${comp}`)
        const dbm = openDBM(file, params, {writable: true, truncate: true})
        const random = makeRandom(7)
        const numbers = Array.from({length: 6000}, (_, i) => i).sort(() => random() - 0.5)
        for (const n of numbers) dbm.set(keyOf(n), `value-${n}`.repeat(1 + (n % 3)))
        for (const n of numbers.slice(0, 3000)) dbm.remove(keyOf(n))
        assert.deepEqual(dbm.validateStructure(), [])
        const expected = listed(dbm)
        assert.equal(expected.length, 3000)
        dbm.close()
        oracleValidates(file)
        assert.deepEqual(oracleExport(file, dir, `kv-${comparator}-${comp}`), expected)
        assert.equal(kv(['dbm', 'rebuild', file]).status, 0)
        oracleValidates(file)
        assert.deepEqual(oracleExport(file, dir, `kv-${comparator}-${comp}-rebuilt`), expected)
      })
    }
  }

  for (const comp of ['none', 'zlib']) {
    it(`compression ${comp}: a file the oracle wrote, split and merged, reads the same in kv`, () => {
      const file = path.join(dir, `oracle-${comp}.tkt`)
      const common = ['--dbm', 'tree', '--path', file, '--random_key', '--max_page_size', '512', '--record_comp', comp]
      assert.equal(run('tkrzw_dbm_perf', ['sequence', ...common, '--iter', '20000', '--set_only']).status, 0)
      assert.equal(run('tkrzw_dbm_perf', ['sequence', ...common, '--iter', '8000', '--remove_only']).status, 0)
      const expected = oracleExport(file, dir, `oracle-${comp}`)
      assert.ok(expected.length > 1000)
      const dbm = openDBM(file, new Map(), {writable: false})
      try {
        assert.deepEqual(listed(dbm), expected)
        assert.deepEqual(dbm.validateStructure(), [])
        assert.equal(dbm.count(), expected.length)
      } finally {
        dbm.close()
      }
      // kv changes it and the oracle still agrees.
      const writer = openDBM(file, new Map(), {writable: true})
      for (let i = 0; i < 3000; i++) writer.set(`added${i}`, `v${i}`)
      const after = listed(writer)
      writer.close()
      oracleValidates(file)
      assert.deepEqual(oracleExport(file, dir, `oracle-${comp}-changed`), after)
    })
  }
})
