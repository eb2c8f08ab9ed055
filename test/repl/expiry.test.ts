import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {RemoteDBM} from '../../src/client/remote-dbm.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {kv, tempDir} from '../helpers/cli.js'
import {startServer, type RunningServer} from '../helpers/server.js'

const {dir, cleanup} = tempDir()
const servers: RunningServer[] = []
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
  cleanup()
})

async function serve(args: string[]): Promise<{server: RunningServer; db: RemoteDBM}> {
  const server = await startServer(['--sweep_interval', '1', ...args])
  servers.push(server)
  return {server, db: await RemoteDBM.connect(server.address, {timeout: 30})}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('records that expire, served', () => {
  it('are gone after their time on the master, after a restart and on a replica, and the sweep removes them', async () => {
    const file = `${path.join(dir, 'master.tkh')}#expiration=true`
    const masterArgs = ['--server_id', '1', '--ulog_prefix', path.join(dir, 'master-ulog'), file]
    let master = await serve(masterArgs)
    const replica = await serve(['--server_id', '2', '--repl_master', master.server.address, `${path.join(dir, 'replica.tkt')}#expiration=true`])
    await master.db.set('short', 'lived', true, 1)
    await master.db.set('long', 'lived', true, 3600)
    await master.db.set('plain', 'forever')
    await master.db.setMulti(
      [
        ['multi-short', 'lived'],
        ['multi-short-2', 'lived'],
      ],
      true,
      1,
    )
    kv(['remote', 'set', '--address', master.server.address, '--multi', '--ttl', '3600', 'multi-long', 'lived'])
    assert.ok(((await master.db.getWithExpiry('multi-long'))?.xt ?? 0) > Date.now() / 1000 + 3500)
    const now = Math.floor(Date.now() / 1000)
    const long = await master.db.getWithExpiry('long')
    assert.ok(long && Math.abs(long.xt - (now + 3600)) <= 2, JSON.stringify(long))
    assert.equal((await master.db.getWithExpiry('plain'))?.xt, 0)
    const shown = kv(['remote', 'get', '--address', master.server.address, '--expiry', 'long'])
    assert.match(shown.stdout, /^lived\t\d{10}\n$/)
    await sleep(2100)
    assert.equal(await master.db.get('short'), undefined)
    assert.equal(await master.db.get('multi-short'), undefined)
    assert.equal(await master.db.get('multi-short-2'), undefined)
    // The replica has the same absolute time, not a fresh one.
    for (let i = 0; i < 50 && (await replica.db.get('long')) === undefined; i++) await sleep(100)
    assert.equal((await replica.db.getWithExpiry('long'))?.xt, long!.xt)
    assert.equal(await replica.db.get('short'), undefined)
    // The sweep takes the expired record out of the count.
    for (let i = 0; i < 30 && (await master.db.count()) !== 3; i++) await sleep(100)
    assert.equal(await master.db.count(), 3)
    master.db.close()
    await master.server.stop()
    master = await serve(masterArgs)
    assert.equal((await master.db.getWithExpiry('long'))?.xt, long!.xt)
    assert.equal(await master.db.get('short'), undefined)
    assert.equal((await master.db.get('plain'))?.toString(), 'forever')
    master.db.close()
    replica.db.close()
  })

  it('refuses an expiry for a database that keeps no times', async () => {
    const {db} = await serve([path.join(dir, 'plain.tkh')])
    await assert.rejects(
      db.set('k', 'v', true, 10),
      (error: StatusError) => error.code === Code.INVALID_ARGUMENT_ERROR && /expiration=true/.test(error.message),
    )
    db.close()
  })
})
