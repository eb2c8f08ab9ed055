import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {RemoteDBM} from '../../src/client/remote-dbm.js'
import {hasProgram, kv, tempDir} from '../helpers/cli.js'
import {freePort, startServer, type RunningServer} from '../helpers/server.js'

// Replication between kv and Tkrzw-RPC's own server, both ways. tkrzw_server builds from
// the estraier/tkrzw-rpc sources against Debian's libtkrzw-dev and libgrpc++-dev; with it
// on the PATH (and its library on LD_LIBRARY_PATH) these run, elsewhere they skip.
const skip = hasProgram('tkrzw_server') ? false : 'tkrzw_server is not on the PATH (build estraier/tkrzw-rpc)'

describe('replication with tkrzw_server', {skip}, () => {
  const {dir, cleanup} = tempDir()
  const children: ChildProcess[] = []
  const servers: RunningServer[] = []
  const clients: RemoteDBM[] = []
  after(async () => {
    for (const client of clients) client.close()
    for (const child of children) child.kill('SIGKILL')
    await Promise.all(servers.map((server) => server.stop('SIGKILL')))
    cleanup()
  })

  async function tkrzwServer(name: string, args: string[]): Promise<string> {
    const address = `127.0.0.1:${await freePort()}`
    const child = spawn('tkrzw_server', ['--address', address, ...args, path.join(dir, `${name}.tkh`)], {stdio: 'ignore'})
    children.push(child)
    const deadline = Date.now() + 10000
    for (;;) {
      try {
        clients.push(await RemoteDBM.connect(address, {timeout: 5, connectTimeout: 1}))
        return address
      } catch (error) {
        if (Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  async function records(address: string, expected: number): Promise<string> {
    const deadline = Date.now() + 10000
    for (;;) {
      const listed = kv(['remote', 'list', '--address', address, '--items', '0']).stdout
      const lines = listed.trim() === '' ? [] : listed.trim().split('\n')
      if (lines.length === expected || Date.now() > deadline) return lines.sort().join('\n')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async function writeSome(address: string, tag: string): Promise<void> {
    const db = await RemoteDBM.connect(address, {timeout: 10})
    for (let i = 0; i < 50; i++) await db.set(`${tag}${i}`, `value${i}`)
    for (let i = 0; i < 50; i += 5) await db.remove(`${tag}${i}`)
    await db.append(`${tag}1`, 'more', ',')
    db.close()
  }

  it('a kv replica follows a tkrzw_server master, and tkrzw_server follows a kv master', async () => {
    const tkrzwMaster = await tkrzwServer('tkrzw-master', ['--server_id', '1', '--ulog_prefix', path.join(dir, 'tkrzw-master-ulog')])
    const kvReplica = await startServer([
      '--server_id',
      '2',
      '--ulog_prefix',
      path.join(dir, 'kv-replica-ulog'),
      '--repl_master',
      tkrzwMaster,
      path.join(dir, 'kv-replica.tkh'),
    ])
    servers.push(kvReplica)
    await writeSome(tkrzwMaster, 't')
    const expected = await records(tkrzwMaster, 40)
    assert.equal(await records(kvReplica.address, 40), expected)

    const kvMaster = await startServer(['--server_id', '3', '--ulog_prefix', path.join(dir, 'kv-master-ulog'), path.join(dir, 'kv-master.tkh')])
    servers.push(kvMaster)
    const tkrzwReplica = await tkrzwServer('tkrzw-replica', [
      '--server_id',
      '4',
      '--ulog_prefix',
      path.join(dir, 'tkrzw-replica-ulog'),
      '--repl_master',
      kvMaster.address,
    ])
    await writeSome(kvMaster.address, 'k')
    assert.equal(await records(tkrzwReplica, 40), await records(kvMaster.address, 40))
    // kv's replicate reads tkrzw_server's stream as the reference tool does.
    const pulled = kv(['remote', 'replicate', '--address', tkrzwMaster, '--items', '0']).stdout.trim().split('\n')
    assert.equal(pulled.length, 50 + 10 + 1)
    assert.match(pulled[0], /^\d+\t1\t0\tSET\tt0\tvalue0$/)
  })
})
