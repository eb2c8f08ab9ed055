import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {Code, StatusError} from '../../../src/engine/status.js'
import {tempDir} from '../../helpers/cli.js'
import {startServer, type RunningServer} from '../../helpers/server.js'

const b = (text: string): Buffer => Buffer.from(text)

// A B+ tree file and a skip list file served over gRPC: the tree in key order with every
// move, the skip list's updates seen after a Synchronize with a reducer.
describe('kv serve with tree and skip list files', () => {
  const {dir, cleanup} = tempDir()
  let server: RunningServer
  let db: RemoteDBM
  before(async () => {
    server = await startServer([path.join(dir, 'ordered.tkt#max_page_size=200'), path.join(dir, 'sorted.tks')])
    db = await RemoteDBM.connect(server.address, {timeout: 10})
  })
  after(async () => {
    db.close()
    await server.stop()
    cleanup()
  })

  it('serves a tree in key order, with every move and cursor write', async () => {
    db.setDBMIndex(0)
    for (let i = 0; i < 300; i++) await db.set(`key${String(i).padStart(3, '0')}`, `v${i}`)
    const iter = db.makeIterator()
    await iter.last()
    assert.deepEqual(await iter.get(), [b('key299'), b('v299')])
    await iter.jumpLower('key150')
    assert.deepEqual(await iter.get(), [b('key149'), b('v149')])
    await iter.remove()
    assert.deepEqual(await iter.get(), [b('key150'), b('v150')])
    iter.close()
    assert.equal(await db.count(), 299)
    assert.deepEqual(await db.search('begin', 'key29'), [
      b('key290'),
      b('key291'),
      b('key292'),
      b('key293'),
      b('key294'),
      b('key295'),
      b('key296'),
      b('key297'),
      b('key298'),
      b('key299'),
    ])
    await assert.rejects(
      db.synchronize(false, {reducer: 'last'}),
      (error: unknown) => error instanceof StatusError && error.code === Code.INVALID_ARGUMENT_ERROR,
    )
    const attributes = new Map(await db.inspect())
    assert.equal(attributes.get('class'), 'TreeDBM')
    assert.ok(Number(attributes.get('tree_level')) > 1)
  })

  it('serves a skip list whose updates are seen after a synchronize, reduced as asked', async () => {
    db.setDBMIndex(1)
    await db.set('k', 'v1')
    await db.set('k', 'v2')
    assert.equal(await db.get('k'), undefined)
    await db.synchronize(false, {reducer: 'last'})
    assert.deepEqual(await db.get('k'), b('v2'))
    await db.set('k', 'v3')
    await db.synchronize(false)
    assert.equal(await db.count(), 2)
    assert.deepEqual(await db.get('k'), b('v2'))
    assert.equal(new Map(await db.inspect()).get('class'), 'SkipDBM')
  })
})
