import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {HashDBM} from '../../../src/engine/hash/hash-dbm.js'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {run, tempDir} from '../../helpers/cli.js'
import {oracle} from '../../helpers/oracle.js'
import {startServer} from '../../helpers/server.js'
import {mountSmallDisk, SMALL_DISK_SKIP} from '../../helpers/small-disk.js'
import {Code, StatusError} from '../../../src/engine/status.js'

const {dir, cleanup} = tempDir()
after(cleanup)
const disk = mountSmallDisk('8m')
after(() => disk?.cleanup())

/** Opens the file as kv would after the server is gone (restoring it if need be), and checks it. */
function contentsOf(file: string): Map<string, string> {
  const dbm = new HashDBM()
  dbm.open(file, true)
  try {
    assert.deepEqual(dbm.validateStructure(), [])
    const records = new Map<string, string>()
    for (const [key, value] of dbm.records()) records.set(key.toString(), value.toString())
    assert.equal(records.size, dbm.count())
    return records
  } finally {
    dbm.close()
  }
}

function assertOracleValid(file: string): void {
  if (!oracle) return
  const checked = run('tkrzw_dbm_util', ['inspect', '--validate', file])
  assert.equal(checked.status, 0, checked.stdout + checked.stderr)
}

describe('kv serve loses no acknowledged write', () => {
  it('keeps every acknowledged Set through SIGKILL, unary and streamed', async () => {
    const file = path.join(dir, 'killed.tkh')
    const server = await startServer([file])
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    try {
      for (let i = 0; i < 1500; i++) await db.set(`unary${i}`, `value${i}`)
      const stream = db.makeStream()
      const acks: Promise<void>[] = []
      for (let i = 0; i < 1500; i++) acks.push(stream.set(`stream${i}`, `value${i}`))
      await Promise.all(acks)
      stream.close()
    } finally {
      db.close()
    }
    assert.equal(await server.stop('SIGKILL'), null)
    const records = contentsOf(file)
    assert.equal(records.size, 3000)
    for (let i = 0; i < 1500; i += 37) {
      assert.equal(records.get(`unary${i}`), `value${i}`)
      assert.equal(records.get(`stream${i}`), `value${i}`)
    }
    assertOracleValid(file)
  })

  it('clear, synchronize, more writes and SIGTERM leave a valid file with every record', async () => {
    const file = path.join(dir, 'cleared.tkh')
    const server = await startServer([file])
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    const value = 'v'.repeat(100)
    try {
      const stream = db.makeStream()
      const acks: Promise<void>[] = []
      for (let i = 0; i < 20000; i++) acks.push(stream.set(`first${i}`, value))
      await Promise.all(acks)
      await db.clear()
      await db.synchronize()
      acks.length = 0
      for (let i = 0; i < 2000; i++) acks.push(stream.set(`second${i}`, `${i}:${value}`))
      await Promise.all(acks)
      stream.close()
    } finally {
      db.close()
    }
    assert.equal(await server.stop('SIGTERM'), 0)
    const records = contentsOf(file)
    assert.equal(records.size, 2000)
    for (let i = 0; i < 2000; i += 41) assert.equal(records.get(`second${i}`), `${i}:${value}`)
    assertOracleValid(file)
  })

  it('on a full disk: refuses writes with SYSTEM_ERROR, keeps the rest, and ends with a failing status', {skip: disk ? false : SMALL_DISK_SKIP}, async () => {
    const file = path.join(disk!.dir, 'served.tkh')
    const server = await startServer([file])
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    const value = 'v'.repeat(200)
    let acked = 0
    let refusal: unknown
    try {
      for (; acked < 1_000_000; acked++) {
        try {
          await db.set(`key${acked}`, value)
        } catch (error) {
          refusal = error
          break
        }
      }
      assert.ok(refusal instanceof StatusError && refusal.code === Code.SYSTEM_ERROR, String(refusal))
      assert.match((refusal as Error).message, /no space left/)
      await db.synchronize()
      assert.equal(await db.count(), acked)
    } finally {
      db.close()
    }
    assert.equal(await server.stop('SIGTERM'), 1)
    assert.match(server.log(), /\[ERROR\] Set on database 0: .*no space left/)
    assert.match(server.log(), /failed for system reasons while serving/)
    const records = contentsOf(file)
    assert.equal(records.size, acked)
    assertOracleValid(file)
  })
})
