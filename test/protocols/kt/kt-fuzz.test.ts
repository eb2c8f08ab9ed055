import assert from 'node:assert/strict'
import * as net from 'node:net'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {tempDir} from '../../helpers/cli.js'
import {frontEndPort, startServer, type RunningServer} from '../../helpers/server.js'
import {makeRandom} from '../../../src/perf/local.js'
import {rssMB} from '../../helpers/fuzz.js'

// Kyoto Tycoon's port against careless and hostile clients: 10,000 random and mutated
// requests (HTTP with lying lengths, chunked junk, huge header lines, random bytes, binary
// frames with huge counts and sizes, half frames) over many connections, some of which never
// read their answers. Afterwards the server must answer correctly and be of a sane size.

const {dir, cleanup} = tempDir()
const servers: RunningServer[] = []
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
  cleanup()
})

const REQUESTS = 10_000
const PER_CONNECTION = 10
const PARALLEL = 16
/** How long a connection may stay open; the fuzzer then drops it. */
const CONNECTION_MILLIS = 1200

const PROCEDURES = [
  'void',
  'echo',
  'report',
  'status',
  'clear',
  'synchronize',
  'set',
  'add',
  'replace',
  'append',
  'increment',
  'increment_double',
  'cas',
  'remove',
  'get',
  'check',
  'seize',
  'set_bulk',
  'remove_bulk',
  'get_bulk',
  'vacuum',
  'match_prefix',
  'match_regex',
  'match_similar',
  'cur_jump',
  'cur_jump_back',
  'cur_step',
  'cur_step_back',
  'cur_set_value',
  'cur_remove',
  'cur_get_key',
  'cur_get_value',
  'cur_get',
  'cur_seize',
  'cur_delete',
  'play_script',
  'tune_replication',
  'ulog_list',
  'ulog_remove',
  'nosuch',
  '',
  '%00',
  '../../etc/passwd',
]
const NAMES = [
  'key',
  'value',
  'num',
  'orig',
  'xt',
  'oval',
  'nval',
  'DB',
  'CUR',
  'step',
  'prefix',
  'regex',
  'origin',
  'range',
  'max',
  'utf',
  'hard',
  'name',
  '_a',
  '_b',
]
const VALUES = [
  '',
  '0',
  '1',
  '-1',
  '1.5',
  'try',
  'set',
  '9223372036854775807',
  '-9223372036854775808',
  '99999999999999999999999',
  'nan',
  'inf',
  '1e308',
  'casket.tkh',
  '2',
  'k1',
  'k2',
  '%00%ff',
  '%',
  '%zz',
  '(((',
  '[a-',
  '.*',
  'a'.repeat(300),
  '\u00e9',
]

/**
 * Connections carry HTTP only, binary frames only, or anything: a connection fails at its
 * first malformed request, so the requests behind that one would otherwise rarely be read.
 */
type Mix = 'http' | 'binary' | 'any'

function makeRequest(random: () => number, mix: Mix): Buffer {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
  const bytes = (length: number): Buffer => Buffer.from(Array.from({length}, () => Math.floor(random() * 256)))
  const u32 = (n: number): Buffer => {
    const out = Buffer.alloc(4)
    out.writeUInt32BE(n >>> 0)
    return out
  }
  const query = (): string =>
    Array.from({length: Math.floor(random() * 5)}, () => `${pick(NAMES)}${random() < 0.9 ? `=${encodeURIComponent(pick(VALUES))}` : ''}`).join(
      random() < 0.8 ? '&' : ';',
    )
  const version = random() < 0.96 ? '1.1' : pick(['1.0', '2.0', '0.9', '1.1 extra', ''])
  const kind = mix === 'http' ? random() * 0.63 : mix === 'binary' ? 0.72 + random() * 0.16 : random()
  let request: Buffer
  if (kind < 0.3) {
    // A TSV-RPC call by query string, at times with WAIT or SIGNAL.
    let target = `/rpc/${pick(PROCEDURES)}?${query()}`
    if (random() < 0.03) target += `&WAIT=w${Math.floor(random() * 3)}&WAITTIME=0.05`
    if (random() < 0.05) target += `&SIGNAL=w${Math.floor(random() * 3)}${random() < 0.5 ? '&SIGNALBROAD' : ''}`
    request = Buffer.from(`${pick(['GET', 'GET', 'POST', 'HEAD', 'get'])} ${target} HTTP/${version}\r\nHost: x\r\n\r\n`)
  } else if (kind < 0.45) {
    // A body: form or TSV (any colenc), with a Content-Length that may lie either way.
    const type = pick([
      'application/x-www-form-urlencoded',
      'text/tab-separated-values',
      'text/tab-separated-values; colenc=B',
      'text/tab-separated-values; colenc=Q',
      'text/tab-separated-values; colenc=U',
      'text/plain',
    ])
    const body =
      random() < 0.5
        ? Buffer.from(query())
        : Buffer.from(Array.from({length: Math.floor(random() * 6)}, () => `${pick(NAMES)}\t${pick(VALUES)}${pick(['\n', '\r\n', '\t\t', '='])}`).join(''))
    const length = random() < 0.7 ? body.length : pick([0, body.length + 1 + Math.floor(random() * 100), Math.max(0, body.length - 3), 1 << 20, 99999999])
    request = Buffer.concat([Buffer.from(`POST /rpc/${pick(PROCEDURES)} HTTP/${version}\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n`), body])
  } else if (kind < 0.57) {
    // REST, with junk in its headers.
    const method = pick(['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS'])
    const target = pick(['/k1', '/k2', '/0/k1', '/1/k2', '/casket.tkh/k3', '/9/x', '/nosuch/x', '/', '//', '/%', '/a%2Fb', `/${'p'.repeat(200)}`])
    const headers: string[] = []
    if (random() < 0.3) headers.push(`X-Kt-Mode: ${pick(['set', 'add', 'replace', 'append', '', 'ADD'])}`)
    if (random() < 0.3)
      headers.push(`X-Kt-Xt: ${pick(['Fri, 01 Jan 2038 00:00:00 GMT', '2037-06-01T12:00:00Z', '1', '-5', '0', 'never', '99999999999999999999'])}`)
    const body = method === 'PUT' || random() < 0.1 ? bytes(Math.floor(random() * 2000)) : Buffer.alloc(0)
    if (body.length > 0 || random() < 0.2) headers.push(`Content-Length: ${random() < 0.85 ? body.length : Math.floor(random() * 5000)}`)
    request = Buffer.concat([Buffer.from(`${method} ${target} HTTP/${version}\r\n${headers.map((line) => `${line}\r\n`).join('')}\r\n`), body])
  } else if (kind < 0.63) {
    // Chunked bodies: good, bad and lying chunk sizes.
    const chunks = Array.from({length: Math.floor(random() * 4)}, () => {
      const data = bytes(Math.floor(random() * 40))
      const size = random() < 0.8 ? data.length.toString(16) : pick(['zz', '-1', 'ffffffffffff', '4000001', '10', '', '1;ext=1'])
      return Buffer.concat([Buffer.from(`${size}\r\n`), data, Buffer.from(random() < 0.9 ? '\r\n' : 'XY')])
    })
    request = Buffer.concat([
      Buffer.from(`PUT /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n`),
      ...chunks,
      Buffer.from(random() < 0.8 ? '0\r\n\r\n' : '0\r\nTrailer: x\r\n'),
    ])
  } else if (kind < 0.635) {
    // A huge header line, up to 1 MB.
    request = Buffer.from(`GET /rpc/void HTTP/1.1\r\nX-Huge: ${'h'.repeat(16_000 + Math.floor(random() * 1_000_000))}\r\n\r\n`)
  } else if (kind < 0.72) {
    request = bytes(Math.floor(random() * 200))
  } else if (kind < 0.88) {
    // Binary frames: any magic, counts and sizes that may be huge, records that may stop short.
    const magic = pick([0xb8, 0xb9, 0xba, 0xb4, 0xb0, 0xb1, 0xb2, 0xbf, 0xb8, 0xba])
    const flags = pick([0, 1, 0xffffffff])
    const count = pick([0, 1, 2, 3, 0xffffffff, 0x7fffffff, Math.floor(random() * 2 ** 32)])
    const size = (): number => pick([0, 1, 3, 10, 100, 65536, 1 << 20, 50 << 20, 0xffffffff])
    const parts: Buffer[] = [Buffer.of(magic), u32(flags)]
    if (magic === 0xb4) parts.push(u32(pick([4, 0, 0xffffffff])), u32(count), Buffer.from('name'))
    else parts.push(u32(count))
    for (let i = Math.min(count, Math.floor(random() * 4)); i > 0; i--) {
      const [keySize, valueSize] = [random() < 0.7 ? Math.floor(random() * 20) : size(), random() < 0.7 ? Math.floor(random() * 100) : size()]
      const db = Buffer.alloc(2)
      db.writeUInt16BE(pick([0, 1, 2, 65535]))
      const xt = Buffer.alloc(8)
      xt.writeBigInt64BE(pick([0n, 1n, -1n, 100n, (1n << 63n) - 1n, -(1n << 63n)]))
      if (magic === 0xb8) parts.push(db, u32(keySize), u32(valueSize), xt, bytes(Math.min(keySize, 20)), bytes(Math.min(valueSize, 100)))
      else if (magic === 0xb4) parts.push(u32(keySize), u32(valueSize), bytes(Math.min(keySize, 20)), bytes(Math.min(valueSize, 100)))
      else parts.push(db, u32(keySize), bytes(Math.min(keySize, 20)))
    }
    request = Buffer.concat(parts)
    // Half frames.
    if (random() < 0.2) request = request.subarray(0, Math.floor(random() * request.length))
  } else {
    // A valid request, mutated: bytes flipped, dropped or inserted.
    const base = Buffer.from(`GET /rpc/${pick(PROCEDURES)}?${query()} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`)
    const mutated = [...base]
    for (let n = 1 + Math.floor(random() * 4); n > 0; n--) {
      const at = Math.floor(random() * mutated.length)
      const how = random()
      if (how < 0.4) mutated[at] = Math.floor(random() * 256)
      else if (how < 0.7) mutated.splice(at, 1)
      else mutated.splice(at, 0, Math.floor(random() * 256))
    }
    request = Buffer.from(mutated)
  }
  return request
}

type Behaviour = 'whole' | 'pieces' | 'never-reads' | 'abrupt'

interface Stats {
  /** Bytes of answers read. */
  received: number
  /** Connections the server ended. */
  closedByServer: number
  /** HTTP answers by status. */
  statuses: {[status: string]: number}
}

/** Sends one connection's requests as it behaves, and resolves when the connection is over. */
function play(port: number, requests: Buffer[], behaviour: Behaviour, random: () => number, stats: Stats): Promise<void> {
  return new Promise((resolve) => {
    const data = Buffer.concat(requests)
    const socket = net.connect(port, '127.0.0.1')
    const timer = setTimeout(() => socket.destroy(), CONNECTION_MILLIS)
    socket.on('error', () => undefined)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve()
    })
    if (behaviour === 'never-reads') socket.pause()
    else
      socket.on('data', (chunk: Buffer) => {
        stats.received += chunk.length
        // Status lines, and the binary answers' magic bytes, counted roughly (a chunk may split one).
        for (const match of chunk.toString('latin1').matchAll(/HTTP\/1\.1 (\d{3}) /g)) stats.statuses[match[1]] = (stats.statuses[match[1]] ?? 0) + 1
      })
    socket.on('end', () => stats.closedByServer++)
    socket.on('connect', async () => {
      if (behaviour === 'pieces') {
        for (let at = 0; at < data.length && !socket.destroyed;) {
          const size = 1 + Math.floor(random() * 300)
          socket.write(data.subarray(at, at + size))
          at += size
          if (random() < 0.1) await new Promise((done) => setTimeout(done, 1))
        }
        if (!socket.destroyed) socket.end()
      } else if (behaviour === 'abrupt') {
        socket.write(data.subarray(0, Math.floor(random() * data.length)))
        setTimeout(() => socket.destroy(), Math.floor(random() * 20))
      } else if (behaviour === 'never-reads') {
        socket.write(data)
      } else socket.end(data)
    })
  })
}

/** A plain HTTP/1.1 request on a new connection: status, content type and body. */
function httpGet(port: number, target: string): Promise<{status: number; type: string; body: string}> {
  return new Promise((resolve, reject) => {
    let text = ''
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`))
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (text += chunk))
    socket.on('error', reject)
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${target}: ${JSON.stringify(text)}`)))
    socket.on('close', () => {
      const end = text.indexOf('\r\n\r\n')
      resolve({status: Number(text.split(' ')[1]), type: /\r\ncontent-type: ([^\r]*)/i.exec(text)?.[1] ?? '', body: text.slice(end + 4)})
    })
  })
}

describe("Kyoto Tycoon's port under fuzzing", () => {
  it('survives 10,000 random and mutated requests, then answers correctly at a sane size', async (t) => {
    const server = await startServer(['--kt', '127.0.0.1:0', '#dbm=baby,expiration=true', path.join(dir, 'casket.tkh')])
    servers.push(server)
    const port = await frontEndPort(server, 'kt')
    const pid = server.child.pid!
    const before = rssMB(pid)
    const random = makeRandom(20261130)
    const started = Date.now()

    const connections: {requests: Buffer[]; behaviour: Behaviour; seed: number}[] = []
    let made = 0
    while (made < REQUESTS) {
      const mixRoll = random()
      const mix: Mix = mixRoll < 0.5 ? 'http' : mixRoll < 0.7 ? 'binary' : 'any'
      const requests = Array.from({length: PER_CONNECTION}, () => makeRequest(random, mix))
      made += requests.length
      const roll = random()
      const behaviour = roll < 0.7 ? 'whole' : roll < 0.85 ? 'pieces' : roll < 0.93 ? 'never-reads' : 'abrupt'
      connections.push({requests, behaviour, seed: 1 + connections.length * 7919})
    }
    const stats: Stats = {received: 0, closedByServer: 0, statuses: {}}
    let next = 0
    let peak = before
    await Promise.all(
      Array.from({length: PARALLEL}, async () => {
        while (next < connections.length) {
          const {requests, behaviour, seed} = connections[next++]
          // Each connection splits and times its bytes by a generator of its own: reproducible.
          await play(port, requests, behaviour, makeRandom(seed), stats)
          if (next % 50 === 0) peak = Math.max(peak, rssMB(pid))
        }
      }),
    )
    const took = Date.now() - started
    t.diagnostic(`${connections.length} connections in ${took} ms; ${stats.received} bytes of answers; ${stats.closedByServer} ended by the server`)
    t.diagnostic(`HTTP answers: ${JSON.stringify(stats.statuses)}`)
    assert.equal(server.child.exitCode, null, server.log())
    assert.ok(took < 15_000, `the fuzzing took ${took} ms`)

    // The server still answers, correctly.
    const set = await httpGet(port, '/rpc/set?key=after-fuzz&value=still%20here')
    assert.equal(set.status, 200)
    const got = await httpGet(port, '/rpc/get?key=after-fuzz')
    assert.deepEqual(got, {status: 200, type: 'text/tab-separated-values', body: 'value\tstill here\n'})
    const rest = await httpGet(port, '/after-fuzz')
    assert.deepEqual([rest.status, rest.body], [200, 'still here'])
    const report = await httpGet(port, '/rpc/report')
    assert.equal(report.status, 200)
    assert.match(report.body, /\nserv_proc_id\t\d+\n/)

    const after = rssMB(pid)
    peak = Math.max(peak, after)
    t.diagnostic(`resident size: ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at the most, ${after.toFixed(0)} MB after`)
    assert.ok(after < 400, `${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after`)
    assert.ok(peak < 600, `peaked at ${peak.toFixed(0)} MB`)
    assert.equal(server.child.exitCode, null, server.log())
  })
})
