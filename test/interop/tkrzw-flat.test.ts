import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {openDBM} from '../../src/engine/poly.js'
import {kv, run, tempDir} from '../helpers/cli.js'
import {flatRecords, sampleRecords, skip, sortedHex} from '../helpers/oracle.js'

// Debian's tkrzw-utils is the oracle: files kv writes must read the same in tkrzw_dbm_util,
// and the other way round. .ci/run installs it; elsewhere these tests skip.
const CLASSES = [
  ['tiny', 'tkmt'],
  ['baby', 'tkmb'],
  ['cache', 'tkmc'],
  ['stdhash', 'tksh'],
  ['stdtree', 'tkst'],
] as const

describe('FlatRecord files against tkrzw_dbm_util', {skip}, () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  for (const [cls, ext] of CLASSES) {
    it(`${cls}: a file kv wrote reads the same in tkrzw_dbm_util`, () => {
      const file = path.join(dir, `kv-wrote.${ext}`)
      const dbm = openDBM(file, new Map(), {writable: true, truncate: true})
      const records = sampleRecords()
      for (const [k, v] of records) dbm.set(k, v)
      dbm.close()
      const inspected = run('tkrzw_dbm_util', ['inspect', '--dbm', cls, file])
      assert.equal(inspected.status, 0, inspected.stderr)
      assert.match(inspected.stdout, new RegExp(`num_records=${records.length}`))
      const exported = path.join(dir, `oracle-export-${cls}.flat`)
      const result = run('tkrzw_dbm_util', ['export', '--dbm', cls, file, exported])
      assert.equal(result.status, 0, result.stderr)
      assert.deepEqual(sortedHex(flatRecords(exported)), sortedHex(records))
      const listed = run('tkrzw_dbm_util', ['list', '--dbm', cls, '--items', '1000', file])
      assert.equal(listed.stdout.split('\n').filter((line) => line.startsWith('key')).length, 300)
    })

    it(`${cls}: a file tkrzw_dbm_util wrote reads the same in kv`, () => {
      const tsv = path.join(dir, `input-${cls}.tsv`)
      const lines = ['alpha\t1', 'beta\t\\x00\\xff', '\\t\\ttabs\tx']
      for (let i = 0; i < 200; i++) lines.push(`k${i}\tv${i}`)
      fs.writeFileSync(tsv, `${lines.join('\n')}\n`)
      const file = path.join(dir, `oracle-wrote.${ext}`)
      let result = run('tkrzw_dbm_util', ['create', '--dbm', cls, file])
      assert.equal(result.status, 0, result.stderr)
      result = run('tkrzw_dbm_util', ['import', '--dbm', cls, '--tsv', '--escape', file, tsv])
      assert.equal(result.status, 0, result.stderr)
      run('tkrzw_dbm_util', ['remove', '--dbm', cls, file, 'k7'])
      run('tkrzw_dbm_util', ['set', '--dbm', cls, file, 'k8', 'changed'])
      const dbm = openDBM(file, new Map(), {writable: false})
      try {
        assert.equal(dbm.count(), 202)
        assert.deepEqual(dbm.get('beta'), Buffer.from([0, 0xff]))
        assert.deepEqual(dbm.get('\t\ttabs'), Buffer.from('x'))
        assert.equal(dbm.get('k7'), undefined)
        assert.equal(dbm.get('k8')?.toString(), 'changed')
      } finally {
        dbm.close()
      }
      assert.equal(kv(['dbm', 'get', file, 'alpha']).stdout, '1\n')
    })
  }

  it('export and import files travel both ways', () => {
    const source = path.join(dir, 'travel.tkmb')
    const dbm = openDBM(source, new Map(), {writable: true, truncate: true})
    const records = sampleRecords()
    for (const [k, v] of records) dbm.set(k, v)
    dbm.close()
    // kv exports, the oracle imports.
    const kvFlat = path.join(dir, 'kv.flat')
    assert.equal(kv(['dbm', 'export', source, kvFlat]).status, 0)
    const oracleDb = path.join(dir, 'oracle-import.tkmt')
    run('tkrzw_dbm_util', ['create', '--dbm', 'tiny', oracleDb])
    let result = run('tkrzw_dbm_util', ['import', '--dbm', 'tiny', oracleDb, kvFlat])
    assert.equal(result.status, 0, result.stderr)
    // The oracle exports, kv imports.
    const oracleFlat = path.join(dir, 'oracle.flat')
    result = run('tkrzw_dbm_util', ['export', '--dbm', 'tiny', oracleDb, oracleFlat])
    assert.equal(result.status, 0, result.stderr)
    const back = path.join(dir, 'back.tkmb')
    assert.equal(kv(['dbm', 'import', back, oracleFlat]).status, 0)
    const reread = openDBM(back, new Map(), {writable: false})
    try {
      assert.deepEqual(sortedHex(reread.records()), sortedHex(records))
    } finally {
      reread.close()
    }
    // TSV with escapes, both ways.
    const kvTsv = path.join(dir, 'kv.tsv')
    assert.equal(kv(['dbm', 'export', '--tsv', '--escape', source, kvTsv]).status, 0)
    const oracleTsvDb = path.join(dir, 'oracle-tsv.tkmb')
    run('tkrzw_dbm_util', ['create', '--dbm', 'baby', oracleTsvDb])
    result = run('tkrzw_dbm_util', ['import', '--dbm', 'baby', '--tsv', '--escape', oracleTsvDb, kvTsv])
    assert.equal(result.status, 0, result.stderr)
    const oracleTsv = path.join(dir, 'oracle.tsv')
    run('tkrzw_dbm_util', ['export', '--dbm', 'baby', '--tsv', '--escape', oracleTsvDb, oracleTsv])
    assert.equal(fs.readFileSync(oracleTsv, 'utf8'), fs.readFileSync(kvTsv, 'utf8'))
  })
})
