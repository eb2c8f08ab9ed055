import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {parseParams} from '../../src/engine/params.js'
import {openDBM} from '../../src/engine/poly.js'
import {makeRandom} from '../../src/perf/local.js'
import {kv, run, tempDir} from '../helpers/cli.js'
import {hexRecords, oracleExport, oracleValidates, skip} from '../helpers/oracle.js'

// Skip list files both ways with Debian's tkrzw_dbm_util and tkrzw_dbm_perf as the oracle:
// duplicates, link tunings, reducers, merges and kv's rebuild and restore.
const listed = (dbm: DBM): string[] => hexRecords(dbm.records())

/** The oracle validates the file, and finds it healthy. */
function oracleValidatesHealthy(file: string): void {
  assert.match(oracleValidates(file), /Healthy: true/)
}

describe('SkipDBM files against the oracle', {skip}, () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  for (const tuning of ['', 'step_unit=2,max_level=20', 'offset_width=3,step_unit=9,max_level=3', 'sort_mem_size=2048']) {
    it(`a file kv wrote (${tuning || 'defaults'}) reads the same in the oracle, also after kv's rebuild`, () => {
      const file = path.join(dir, `kv-${tuning.replace(/[=,]/g, '-') || 'default'}.tks`)
      const dbm = openDBM(file, parseParams(tuning), {writable: true, truncate: true})
      const random = makeRandom(11)
      for (let i = 0; i < 5000; i++) dbm.set(`key${Math.floor(random() * 4000)}`, Buffer.from(`value-${i}`.repeat(1 + (i % 4))))
      dbm.synchronize()
      for (let i = 0; i < 4000; i += 3) if (dbm.get(`key${i}`)) dbm.remove(`key${i}`)
      dbm.close()
      const reread = openDBM(file, new Map(), {writable: false})
      const expected = listed(reread)
      assert.deepEqual(reread.validateStructure(), [])
      reread.close()
      oracleValidatesHealthy(file)
      assert.deepEqual(oracleExport(file, dir, path.basename(file)), expected)
      assert.equal(kv(['dbm', 'rebuild', file]).status, 0)
      oracleValidatesHealthy(file)
      assert.deepEqual(oracleExport(file, dir, `${path.basename(file)}-rebuilt`), expected)
    })
  }

  it('a file the oracle wrote, duplicates and all, reads the same in kv, and kv changes it the oracle still reads', () => {
    const file = path.join(dir, 'oracle.tks')
    assert.equal(run('tkrzw_dbm_perf', ['sequence', '--dbm', 'skip', '--path', file, '--iter', '20000', '--random_key', '--set_only']).status, 0)
    const expected = oracleExport(file, dir, 'oracle')
    assert.equal(expected.length, 20000)
    const dbm = openDBM(file, new Map(), {writable: true})
    try {
      assert.deepEqual(listed(dbm), expected)
      assert.deepEqual(dbm.validateStructure(), [])
      dbm.synchronize(false, {reducer: 'last'})
      assert.ok(dbm.count() < 20000)
      for (let i = 0; i < 1000; i++) dbm.set(`added${i}`, `v${i}`)
    } finally {
      dbm.close()
    }
    oracleValidatesHealthy(file)
    const reread = openDBM(file, new Map(), {writable: false})
    try {
      assert.deepEqual(oracleExport(file, dir, 'oracle-changed'), listed(reread))
    } finally {
      reread.close()
    }
  })

  it('reduces and merges as tkrzw_dbm_util does', () => {
    const ours = path.join(dir, 'ours.tks')
    const theirs = path.join(dir, 'theirs.tks')
    assert.equal(run('tkrzw_dbm_util', ['create', theirs]).status, 0)
    for (const file of [ours, theirs]) {
      for (const [key, value] of [
        ['a', '1'],
        ['b', '2'],
        ['a', '3'],
      ]) {
        const tool = file === ours ? kv(['dbm', 'set', file, key, value]) : run('tkrzw_dbm_util', ['set', file, key, value])
        assert.equal(tool.status, 0, tool.stderr)
      }
    }
    assert.deepEqual(oracleExport(ours, dir, 'ours'), oracleExport(theirs, dir, 'theirs'))
    for (const file of [ours, theirs]) {
      const tool = file === ours ? kv(['dbm', 'set', '--reducer', 'last', file, 'c', '4']) : run('tkrzw_dbm_util', ['set', '--reducer', 'last', file, 'c', '4'])
      assert.equal(tool.status, 0, tool.stderr)
    }
    assert.deepEqual(oracleExport(ours, dir, 'ours-last'), oracleExport(theirs, dir, 'theirs-last'))
    const mergedByKv = path.join(dir, 'merged-kv.tks')
    const mergedByOracle = path.join(dir, 'merged-oracle.tks')
    assert.equal(kv(['dbm', 'merge', '--reducer', 'concat', mergedByKv, ours, theirs]).status, 0)
    assert.equal(run('tkrzw_dbm_util', ['merge', '--reducer', 'concat', mergedByOracle, ours, theirs]).status, 0)
    assert.deepEqual(oracleExport(mergedByKv, dir, 'merged-kv'), oracleExport(mergedByOracle, dir, 'merged-oracle'))
  })

  it('restores a truncated file as the oracle does', () => {
    const file = path.join(dir, 'whole.tks')
    const dbm = openDBM(file, new Map(), {writable: true, truncate: true})
    for (let i = 0; i < 3000; i++) dbm.set(`key${i}`, `value${i}`)
    dbm.close()
    const damaged = path.join(dir, 'damaged.tks')
    run('sh', ['-c', `head -c 40000 ${file} > ${damaged}`])
    const byKv = path.join(dir, 'restored-kv.tks')
    const byOracle = path.join(dir, 'restored-oracle.tks')
    assert.equal(kv(['dbm', 'restore', damaged, byKv]).status, 0)
    assert.equal(run('tkrzw_dbm_util', ['restore', damaged, byOracle]).status, 0)
    assert.deepEqual(oracleExport(byKv, dir, 'restored-kv'), oracleExport(byOracle, dir, 'restored-oracle'))
    oracleValidatesHealthy(byKv)
  })
})
