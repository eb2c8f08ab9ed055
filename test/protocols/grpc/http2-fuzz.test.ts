import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {PREFACE} from '../../../src/net/http2/connection.js'
import {encodeHeaders} from '../../../src/net/http2/hpack.js'
import {EchoRequest, GetRequest} from '../../../src/protocols/grpc/generated/codecs.js'
import {makeRandom} from '../../../src/perf/local.js'
import {rssMB} from '../../helpers/fuzz.js'
import {startServer, type RunningServer} from '../../helpers/server.js'

// The gRPC port against hostile HTTP/2: mutated calls, random frames, lying lengths and a
// connection that claims large messages on every stream it may open. The server answers
// or closes, keeps serving others, and its memory stays bounded.

function virtualMB(pid: number): number {
  return Number(/VmSize:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9)
  header.writeUIntBE(payload.length, 0, 3)
  header[3] = type
  header[4] = flags
  header.writeUInt32BE(stream, 5)
  return Buffer.concat([header, payload])
}

function grpcMessage(body: Buffer, claimed = body.length): Buffer {
  const prefix = Buffer.alloc(5)
  prefix.writeUInt32BE(claimed, 1)
  return Buffer.concat([prefix, body])
}

const HEADERS = encodeHeaders([
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  '/tkrzw_rpc.DBMService/Echo',
  ':authority',
  'fuzz',
  'content-type',
  'application/grpc',
  'te',
  'trailers',
])

function echoCall(stream: number): Buffer {
  return Buffer.concat([frame(1, 4, stream, HEADERS), frame(0, 1, stream, grpcMessage(EchoRequest.encode({message: `hello ${stream}`})))])
}

/** Sends bytes on a new connection and resolves with what came back when the server closes or 50 ms pass. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve(Buffer.concat(chunks))
    }
    const timer = setTimeout(done, 50)
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', done)
    socket.on('close', done)
    socket.write(bytes)
  })
}

describe('the gRPC port against hostile HTTP/2', () => {
  let server: RunningServer
  let port: number
  before(async () => {
    server = await startServer([])
    port = Number(server.address.slice(server.address.lastIndexOf(':') + 1))
  })
  after(async () => {
    await server.stop()
  })

  it('answers a well-formed call on a raw connection', async () => {
    const answer = await exchange(port, Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), echoCall(1)]))
    assert.ok(answer.includes(Buffer.from('hello 1')), answer.toString('latin1'))
  })

  it('survives 3,000 mutated and random connections and keeps serving with bounded memory', async () => {
    const random = makeRandom(20261130)
    const pick = (n: number) => Math.floor(random() * n)
    const valid = Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0)), echoCall(1), echoCall(3)])
    const before = rssMB(server.child.pid!)
    const cases: Buffer[] = []
    for (let i = 0; i < 3000; i++) {
      const kind = i % 4
      if (kind === 0) {
        // Bytes flipped after the preface.
        const bytes = Buffer.from(valid)
        for (let n = 0; n < 1 + pick(6); n++) bytes[PREFACE.length + pick(bytes.length - PREFACE.length)] = pick(256)
        cases.push(bytes)
      } else if (kind === 1) {
        // Cut anywhere.
        cases.push(valid.subarray(0, pick(valid.length)))
      } else if (kind === 2) {
        // Random frames after a proper start.
        const frames = [PREFACE, frame(4, 0, 0, Buffer.alloc(0))]
        for (let n = 0; n < 1 + pick(8); n++) {
          const payload = Buffer.from(Array.from({length: pick(64)}, () => pick(256)))
          frames.push(frame(pick(12), pick(256), pick(3) === 0 ? 0 : 1 + 2 * pick(5), payload))
        }
        cases.push(Buffer.concat(frames))
      } else {
        // Lying lengths: a frame or a message claiming more than comes.
        const lie = Buffer.concat([
          PREFACE,
          frame(4, 0, 0, Buffer.alloc(0)),
          frame(1, 4, 1, HEADERS),
          frame(0, 0, 1, grpcMessage(Buffer.from('x'), pick(2) ? 0xffffffff : 4 << 20)),
        ])
        if (pick(2)) lie.writeUIntBE(0xffffff, PREFACE.length + 9 + 9 + HEADERS.length, 3)
        cases.push(lie)
      }
    }
    for (let i = 0; i < cases.length; i += 30) await Promise.all(cases.slice(i, i + 30).map((bytes) => exchange(port, bytes)))
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    assert.equal(await db.echo('still here'), 'still here')
    db.close()
    const grown = rssMB(server.child.pid!) - before
    assert.ok(grown < 150, `the server grew by ${Math.round(grown)} MB`)
  })

  it('holds what arrives, not what is claimed: 900 streams that each announce 4 MB', async () => {
    const before = rssMB(server.child.pid!)
    const virtualBefore = virtualMB(server.child.pid!)
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.resume()
    const parts = [PREFACE, frame(4, 0, 0, Buffer.alloc(0))]
    for (let stream = 1; stream < 1800; stream += 2)
      parts.push(frame(1, 4, stream, HEADERS), frame(0, 0, stream, grpcMessage(Buffer.from('0123456789'), (4 << 20) - 1)))
    socket.write(Buffer.concat(parts))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const grown = rssMB(server.child.pid!) - before
    // Untouched allocations do not show in the resident size: the address space tells.
    const reserved = virtualMB(server.child.pid!) - virtualBefore
    socket.destroy()
    assert.ok(grown < 100, `the server grew by ${Math.round(grown)} MB for 900 claims of 4 MB`)
    assert.ok(reserved < 1000, `the server reserved ${Math.round(reserved)} MB more address space for 900 claims of 4 MB`)
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    assert.equal(await db.echo('after'), 'after')
    db.close()
  })

  it('bounds what one connection holds of partial requests: 250 streams sending 1 MB each of 4 MB messages', async () => {
    const before = rssMB(server.child.pid!)
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    const answers: Buffer[] = []
    socket.on('data', (chunk) => answers.push(chunk))
    socket.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0))]))
    const piece = Buffer.alloc(16000, 0x61)
    let peak = 0
    for (let stream = 1; stream < 500; stream += 2) {
      const parts = [frame(1, 4, stream, HEADERS), frame(0, 0, stream, grpcMessage(piece, (4 << 20) - 1))]
      // Just under the stream's 1 MiB window.
      for (let sent = piece.length; sent + piece.length < 1000000; sent += piece.length) parts.push(frame(0, 0, stream, piece))
      if (!socket.write(Buffer.concat(parts))) await new Promise((resolve) => socket.once('drain', resolve))
      if (stream % 50 === 1) peak = Math.max(peak, rssMB(server.child.pid!))
    }
    await sleep(500)
    peak = Math.max(peak, rssMB(server.child.pid!))
    socket.destroy()
    assert.ok(peak - before < 150, `the server grew by ${Math.round(peak - before)} MB holding partial requests`)
    // The calls past the bound were refused with RESOURCE_EXHAUSTED (grpc-status 8).
    assert.ok(Buffer.concat(answers).includes(Buffer.from('partial requests')), 'no call was refused')
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    assert.equal(await db.echo('after'), 'after')
    db.close()
  })

  it('stops reading a client that grants no window for its answers', async () => {
    const seeder = await RemoteDBM.connect(server.address, {timeout: 10})
    await seeder.set('big', Buffer.alloc(1 << 20, 0x62))
    const before = rssMB(server.child.pid!)
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.resume()
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: no answer can be sent, and none is ever let through.
    const parts = [PREFACE, frame(4, 0, 0, Buffer.from([0, 4, 0, 0, 0, 0]))]
    const getHeaders = encodeHeaders([
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/tkrzw_rpc.DBMService/Get',
      ':authority',
      'x',
      'content-type',
      'application/grpc',
    ])
    for (let stream = 1; stream < 400; stream += 2)
      parts.push(frame(1, 4, stream, getHeaders), frame(0, 1, stream, grpcMessage(GetRequest.encode({key: Buffer.from('big')}))))
    socket.write(Buffer.concat(parts))
    await sleep(1000)
    const grown = rssMB(server.child.pid!) - before
    socket.destroy()
    assert.ok(grown < 100, `the server grew by ${Math.round(grown)} MB of answers nobody could take`)
    assert.equal(await seeder.echo('after'), 'after')
    seeder.close()
  })
})
