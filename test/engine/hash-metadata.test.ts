import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {run, tempDir} from '../helpers/cli.js'
import {oracle} from '../helpers/oracle.js'

const {dir, cleanup} = tempDir()
after(cleanup)

describe('HashDBM application metadata', () => {
  it('keeps the opaque metadata and the database type across close, and Tkrzw reads the type', () => {
    const file = path.join(dir, 'meta.tkh')
    const dbm = new HashDBM()
    dbm.open(file, true)
    assert.deepEqual(dbm.getOpaqueMetadata(), Buffer.alloc(64))
    dbm.setOpaqueMetadata(Buffer.from('tree metadata'))
    dbm.setDatabaseType(3)
    dbm.set('k', 'v')
    dbm.close()
    const again = new HashDBM()
    again.open(file, false)
    const opaque = again.getOpaqueMetadata()
    assert.equal(opaque.length, 64)
    assert.equal(opaque.subarray(0, 13).toString(), 'tree metadata')
    assert.deepEqual(opaque.subarray(13), Buffer.alloc(51))
    assert.equal(again.getDatabaseType(), 3)
    assert.throws(
      () => again.setDatabaseType(4),
      (error: unknown) => error instanceof StatusError && error.code === Code.PRECONDITION_ERROR,
    )
    again.close()
    if (oracle) assert.match(run('tkrzw_dbm_util', ['inspect', file]).stdout, /db_type=3/)
  })
})
