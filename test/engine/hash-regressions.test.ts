import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {ParamReader, parseParams} from '../../src/engine/params.js'
import {run, tempDir} from '../helpers/cli.js'
import {oracle} from '../helpers/oracle.js'

const {dir, cleanup} = tempDir()
after(cleanup)

function open(file: string, params: string): HashDBM {
  const dbm = new HashDBM(new ParamReader(parseParams(params)))
  dbm.open(file, true)
  return dbm
}

describe('HashDBM regressions', () => {
  for (const mode of ['in_place', 'appending']) {
    it(`${mode}: clear, synchronize, more writes and a close keep every record and a valid file`, () => {
      const file = path.join(dir, `clear-${mode}.tkh`)
      const params = `update_mode=${mode},num_buckets=1000`
      const value = 'v'.repeat(100)
      const dbm = open(file, params)
      for (let i = 0; i < 20000; i++) dbm.set(`first${i}`, value)
      dbm.clear()
      dbm.synchronize()
      for (let i = 0; i < 2000; i++) dbm.set(`second${i}`, `${i}:${value}`)
      dbm.close()
      const again = open(file, params)
      try {
        assert.equal(again.isHealthy(), true)
        assert.deepEqual(again.validateStructure(), [])
        assert.equal(again.count(), 2000)
        assert.equal([...again.records()].length, 2000)
        for (let i = 0; i < 2000; i += 97) assert.equal(again.get(`second${i}`)?.toString(), `${i}:${value}`)
      } finally {
        again.close()
      }
      if (oracle) {
        const checked = run('tkrzw_dbm_util', ['inspect', '--validate', file])
        assert.equal(checked.status, 0, checked.stdout + checked.stderr)
        assert.equal(run('tkrzw_dbm_util', ['list', '--items', '100000', file]).stdout.split('\n').filter(Boolean).length, 2000)
      }
    })
  }

  it('a creation killed before its metadata was written (a file of zeros) opens as a new database', () => {
    const file = path.join(dir, 'cut-off.tkh')
    fs.writeFileSync(file, Buffer.alloc(8192))
    const reader = new HashDBM()
    assert.throws(() => reader.open(file, false), /BROKEN_DATA_ERROR/)
    const dbm = new HashDBM()
    dbm.open(file, true)
    assert.equal(dbm.count(), 0)
    dbm.set('a', '1')
    dbm.close()
    const again = new HashDBM()
    again.open(file, false)
    assert.equal(again.get('a')?.toString(), '1')
    again.close()
    // Zeros where the metadata was, but records after it: that is damage, not a new file.
    const damaged = path.join(dir, 'wiped-metadata.tkh')
    fs.copyFileSync(file, damaged)
    const bytes = fs.readFileSync(damaged)
    bytes.fill(0, 0, 128)
    fs.writeFileSync(damaged, bytes)
    assert.throws(() => new HashDBM().open(damaged, true), /BROKEN_DATA_ERROR/)
  })
})
