import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {RemoteDBM} from '../../src/client/remote-dbm.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {freePort, startServer, type RunningServer} from '../helpers/server.js'

// kv's client channel over the life of a connection: deadlines, a server that closes an
// idle connection, one that goes away under a call, and one that comes back.

const servers: RunningServer[] = []
const clients: RemoteDBM[] = []
after(async () => {
  for (const client of clients) client.close()
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
})

async function serve(args: string[], address = '127.0.0.1:0'): Promise<RunningServer> {
  const server = await startServer(args, address)
  servers.push(server)
  return server
}

async function connect(address: string, timeout = 10): Promise<RemoteDBM> {
  const db = await RemoteDBM.connect(address, {timeout})
  clients.push(db)
  return db
}

async function failure(promise: Promise<unknown>): Promise<StatusError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof StatusError, String(error))
    return error
  }
  assert.fail('the call succeeded')
}

describe('the gRPC client channel', () => {
  it('ends a call at its deadline with DEADLINE_EXCEEDED', async () => {
    const server = await serve(['#dbm=baby'])
    const db = await connect(server.address, 0.5)
    const started = performance.now()
    // An empty queue with a long retry wait: only the deadline ends the call.
    const error = await failure(db.popFirst(30))
    assert.equal(error.code, Code.NETWORK_ERROR)
    assert.match(error.message, /DEADLINE_EXCEEDED/)
    assert.ok(performance.now() - started < 5000)
    // The connection is still good for the next call.
    assert.equal(await db.echo('after'), 'after')
  })

  it('opens a new connection after the server closed an idle one', async () => {
    const server = await serve(['--idle_timeout', '1'])
    const db = await connect(server.address)
    assert.equal(await db.echo('first'), 'first')
    await sleep(2500)
    assert.equal(await db.echo('second'), 'second')
  })

  it('fails a call in flight with UNAVAILABLE when the server goes, and reconnects when it is back', async () => {
    const port = await freePort()
    const address = `127.0.0.1:${port}`
    const first = await serve(['#dbm=baby'], address)
    const db = await connect(address, -1)
    const waiting = failure(db.popFirst(30))
    await sleep(300)
    await first.stop('SIGKILL')
    const error = await waiting
    assert.match(error.message, /UNAVAILABLE/)
    await assert.rejects(db.echo('nobody'), /NETWORK_ERROR/)
    await serve(['#dbm=baby'], address)
    assert.equal(await db.echo('back'), 'back')
  })
})
