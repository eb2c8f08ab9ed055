import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {kv, tempDir} from '../../helpers/cli.js'
import {startServer, type RunningServer} from '../../helpers/server.js'

const {dir, cleanup} = tempDir()
after(cleanup)

const BIG = Buffer.alloc((4 << 20) - 1024, 0x61)

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
}

/** Opens a Stream, asks for the big value `count` times and never reads an answer. */
async function floodWithoutReading(server: RunningServer, count: number): Promise<{close: () => void}> {
  const db = await RemoteDBM.connect(server.address, {timeout: 30})
  const call = db.client.Stream()
  call.on('error', () => {})
  for (let i = 0; i < count; i++) call.write({get_request: {key: Buffer.from('big')}})
  return {
    close: () => {
      call.cancel()
      db.close()
    },
  }
}

/** The largest resident size the process reaches over a while. */
async function peakRss(pid: number, millis: number): Promise<number> {
  let peak = 0
  for (let waited = 0; waited < millis; waited += 100) {
    peak = Math.max(peak, rssOf(pid))
    await sleep(100)
  }
  return peak
}

describe('kv serve holds up against misbehaving clients', () => {
  it('stops reading a connection whose answers are not read, so its memory stays bounded', async () => {
    const server = await startServer([])
    const seeder = await RemoteDBM.connect(server.address, {timeout: 30})
    await seeder.set('big', BIG)
    const before = rssOf(server.child.pid!)
    // 600 answers of 4 MB: 2.4 GB if the server took every request.
    const flooder = await floodWithoutReading(server, 600)
    const peak = await peakRss(server.child.pid!, 3000)
    assert.ok(peak - before < 400 << 20, `the server grew by ${Math.round((peak - before) / 2 ** 20)} MB`)
    // Other clients are served meanwhile.
    assert.equal(await seeder.echo('still here'), 'still here')
    flooder.close()
    seeder.close()
    assert.equal(await server.stop(), 0)
  })

  it('holds back only the stream whose answers are not read: other calls are served, on a unix socket too', async () => {
    const socket = path.join(dir, 'flood.sock')
    const server = await startServer([], `unix:${socket}`)
    const seeder = await RemoteDBM.connect(server.address, {timeout: 30})
    await seeder.set('big', BIG)
    const flooder = await floodWithoutReading(server, 300)
    await sleep(500)
    // Other calls are served at once, big answers included (grpc-js clients in one process
    // share one connection, so this is the same connection as the stream's).
    const other = await RemoteDBM.connect(server.address, {timeout: 5})
    assert.equal(await other.echo('mine'), 'mine')
    assert.equal((await other.get('big'))?.length, BIG.length)
    other.close()
    flooder.close()
    seeder.close()
    assert.equal(await server.stop(), 0)
  })

  it('ends within --shutdown_wait on SIGTERM while a client holds a stream it does not read', async () => {
    const server = await startServer(['--shutdown_wait', '1'])
    const seeder = await RemoteDBM.connect(server.address, {timeout: 30})
    await seeder.set('big', BIG)
    seeder.close()
    const flooder = await floodWithoutReading(server, 100)
    await sleep(500)
    const started = performance.now()
    assert.equal(await server.stop('SIGTERM'), 0)
    const took = performance.now() - started
    flooder.close()
    assert.ok(took < 5000, `the server took ${Math.round(took)} ms to end`)
    assert.match(server.log(), /cutting 1 calls still running after 1 s/)
  })

  it('drops connections that never speak, and keeps room for real clients at the connection limit', async () => {
    const server = await startServer(['--handshake_timeout', '1', '--max_connections', '50'])
    const [host, port] = [server.address.slice(0, server.address.lastIndexOf(':')), Number(server.address.slice(server.address.lastIndexOf(':') + 1))]
    const silent: net.Socket[] = []
    let closed = 0
    for (let i = 0; i < 120; i++) {
      const socket = net.connect(port, host)
      socket.on('error', () => {})
      socket.on('close', () => closed++)
      socket.resume()
      silent.push(socket)
    }
    await sleep(300)
    // Past the limit, the oldest silent connections made room for the newer ones.
    assert.ok(closed >= 70, `only ${closed} of 120 silent connections were dropped at the limit`)
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    assert.equal(await db.echo('through'), 'through')
    await sleep(1500)
    assert.equal(closed, 120, 'silent connections outlived the handshake timeout')
    // An established connection is not a silent one, however quiet it is.
    assert.equal(await db.echo('still'), 'still')
    db.close()
    assert.equal(await server.stop(), 0)
  })

  it('fails at start when the pid file cannot be written', () => {
    const result = kv(['serve', '--address', '127.0.0.1:0', '--pid_file', path.join(dir, 'missing', 'kv.pid')])
    assert.equal(result.status, 1)
    assert.match(result.stderr, /^kv: NOT_FOUND_ERROR: cannot write the pid file .*missing\/kv\.pid/m)
  })
})
