import assert from 'node:assert/strict'
import * as net from 'node:net'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {tempDir} from '../../helpers/cli.js'
import {frontEndPort, startServer, type RunningServer} from '../../helpers/server.js'
import {rssMB} from '../../helpers/fuzz.js'

// Kyoto Tycoon's port (kv serve --kt): TSV-RPC, REST and the binary protocol, over plain
// sockets. Database 0 is an on-memory B+ tree with expiry times, database 1 a hash file.
// The expected answers are those a real ktserver gives to the same requests.

const {dir, cleanup} = tempDir()
const servers: RunningServer[] = []
after(async () => {
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
  cleanup()
})

const TSV = 'text/tab-separated-values'
const NO_RECORD = 'ERROR\tDB: 7: no record: no record\n'
const DUPLICATE = 'ERROR\tDB: 6: record duplication: record duplication\n'
const INCONSISTENT = 'ERROR\tDB: 8: logical inconsistency: logical inconsistency\n'
const CONFLICT = 'ERROR\tDB: 8: logical inconsistency: status conflict\n'
const INVALID = 'ERROR\tinvalid parameters\n'
const NO_DATABASE = 'ERROR\tno such database\n'
/** Records that never expire report this in the binary protocol: 2^40 - 1. */
const XT_NEVER = 2 ** 40 - 1
const INT64_MAX = (1n << 63n) - 1n

async function startKt(args: string[]): Promise<{server: RunningServer; port: number}> {
  const server = await startServer(['--kt', '127.0.0.1:0', ...args])
  servers.push(server)
  return {server, port: await frontEndPort(server, 'kt')}
}

/** Resolves once a socket can take more (or has closed). */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

// ---- an HTTP/1.1 client on one connection, which reads answers in order ----

interface Reply {
  status: number
  headers: Map<string, string>
  body: Buffer
}

class Http {
  private buffered = Buffer.alloc(0)
  private readonly waiting: {head: boolean; resolve: (reply: Reply) => void; reject: (error: Error) => void}[] = []
  /** Interim (1xx) answers seen so far. */
  readonly interim: number[] = []
  closed = false

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      this.parse()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.closed = true
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`connection closed with ${this.buffered.length} bytes unread`))
    })
  }

  static open(port: number): Promise<Http> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Http(socket)))
      socket.once('error', reject)
    })
  }

  private parse(): void {
    while (this.waiting.length > 0) {
      const end = this.buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const lines = this.buffered.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(lines[0].split(' ')[1])
      const headers = new Map<string, string>()
      for (const line of lines.slice(1)) headers.set(line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim())
      if (status >= 100 && status < 200) {
        this.interim.push(status)
        this.buffered = this.buffered.subarray(end + 4)
        continue
      }
      const length = this.waiting[0].head ? 0 : Number(headers.get('content-length') ?? 0)
      if (this.buffered.length < end + 4 + length) return
      const body = Buffer.from(this.buffered.subarray(end + 4, end + 4 + length))
      this.buffered = this.buffered.subarray(end + 4 + length)
      this.waiting.shift()!.resolve({status, headers, body})
    }
  }

  /** An answer to come, to a request written (or to be written) on the connection. */
  expect(head = false): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'))
      this.waiting.push({head, resolve, reject})
      this.parse()
    })
  }

  write(data: string | Buffer): void {
    this.socket.write(data)
  }

  request(method: string, target: string, headers: {[name: string]: string} = {}, body?: string | Buffer): Promise<Reply> {
    const reply = this.expect(method === 'HEAD')
    this.write(rawRequest(method, target, headers, body))
    return reply
  }

  /** Bytes that arrived beyond the answers read. */
  get unread(): number {
    return this.buffered.length
  }

  close(): void {
    this.socket.destroy()
  }
}

function rawRequest(method: string, target: string, headers: {[name: string]: string} = {}, body?: string | Buffer): Buffer {
  let head = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  const data = body === undefined ? Buffer.alloc(0) : Buffer.from(body)
  if (body !== undefined && headers['Transfer-Encoding'] === undefined) head += `Content-Length: ${data.length}\r\n`
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), data])
}

// ---- TSV-RPC ----

type Params = {[name: string]: string | Buffer}

/** %XX for every byte but the unreserved ones. */
function percent(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  let text = ''
  for (const byte of bytes) text += /[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0')}`
  return text
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(text[i] === '+' ? 0x20 : text.charCodeAt(i))
  }
  return Buffer.from(bytes)
}

function queryOf(params: Params): string {
  return Object.entries(params)
    .map(([name, value]) => `${percent(name)}=${percent(value)}`)
    .join('&')
}

interface RpcReply {
  status: number
  type: string
  /** The body as sent (latin1). */
  body: string
  /** The decoded records. */
  map: Map<string, Buffer>
  text: (name: string) => string | undefined
}

/** The records of an answer, decoded by the colenc its content type names. */
function decodeAnswer(reply: Reply): RpcReply {
  const type = reply.headers.get('content-type') ?? ''
  const encoding = /colenc=([BUQ])/.exec(type)?.[1]
  const decode = (column: string): Buffer =>
    encoding === 'B' ? Buffer.from(column, 'base64') : encoding === 'U' ? percentDecode(column) : Buffer.from(column, 'latin1')
  const map = new Map<string, Buffer>()
  const body = reply.body.toString('latin1')
  for (const line of body.split('\n')) {
    const tab = line.indexOf('\t')
    if (tab >= 0) map.set(decode(line.slice(0, tab)).toString('latin1'), decode(line.slice(tab + 1)))
  }
  return {status: reply.status, type, body, map, text: (name) => map.get(name)?.toString('utf8')}
}

/** Status, content type and body: what most assertions compare. */
function summary(reply: RpcReply): [number, string, string] {
  return [reply.status, reply.type, reply.body]
}

async function rpc(http: Http, name: string, params: Params = {}): Promise<RpcReply> {
  const query = queryOf(params)
  return decodeAnswer(await http.request('GET', `/rpc/${name}${query === '' ? '' : `?${query}`}`))
}

async function post(http: Http, name: string, type: string, body: string | Buffer): Promise<RpcReply> {
  return decodeAnswer(await http.request('POST', `/rpc/${name}`, {'Content-Type': type}, body))
}

// ---- raw sockets and the binary protocol ----

/** Sends bytes on a new connection and collects what comes back until the server closes (closed) or the time is up. */
function exchange(port: number, data: Buffer | Buffer[], millis = 500): Promise<{data: Buffer; closed: boolean}> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let timedOut = false
    const socket = net.connect(port, '127.0.0.1', () => {
      for (const part of Array.isArray(data) ? data : [data]) socket.write(part)
    })
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', () => undefined)
    const timer = setTimeout(() => {
      timedOut = true
      socket.destroy()
    }, millis)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({data: Buffer.concat(chunks), closed: !timedOut})
    })
  })
}

const u16 = (n: number): Buffer => {
  const bytes = Buffer.alloc(2)
  bytes.writeUInt16BE(n)
  return bytes
}
const u32 = (n: number): Buffer => {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(n)
  return bytes
}
const i64 = (n: bigint): Buffer => {
  const bytes = Buffer.alloc(8)
  bytes.writeBigInt64BE(n)
  return bytes
}

interface BinaryRecord {
  db?: number
  key: string | Buffer
  value?: string | Buffer
  xt?: bigint
}

function setBulkFrame(records: BinaryRecord[], flags = 0): Buffer {
  const parts = [Buffer.of(0xb8), u32(flags), u32(records.length)]
  for (const {db = 0, key, value = '', xt = INT64_MAX} of records) {
    const [k, v] = [Buffer.from(key), Buffer.from(value)]
    parts.push(u16(db), u32(k.length), u32(v.length), i64(xt), k, v)
  }
  return Buffer.concat(parts)
}

function keysFrame(magic: number, records: BinaryRecord[], flags = 0): Buffer {
  const parts = [Buffer.of(magic), u32(flags), u32(records.length)]
  for (const {db = 0, key} of records) {
    const k = Buffer.from(key)
    parts.push(u16(db), u32(k.length), k)
  }
  return Buffer.concat(parts)
}

/** get_bulk's answer: 0xBA, hits, then dbidx, ksiz, vsiz, xt, key, value for each. */
function parseGetBulk(data: Buffer): {hits: number; records: {db: number; key: string; value: Buffer; xt: number}[]; rest: number} {
  assert.equal(data[0], 0xba, data.toString('hex'))
  const hits = data.readUInt32BE(1)
  const records = []
  let at = 5
  for (let i = 0; i < hits; i++) {
    const db = data.readUInt16BE(at)
    const keySize = data.readUInt32BE(at + 2)
    const valueSize = data.readUInt32BE(at + 6)
    const xt = Number(data.readBigInt64BE(at + 10))
    at += 18
    records.push({db, key: data.subarray(at, at + keySize).toString('latin1'), value: data.subarray(at + keySize, at + keySize + valueSize), xt})
    at += keySize + valueSize
  }
  return {hits, records, rest: data.length - at}
}

/** A connection that speaks the binary protocol: sends a frame and reads exactly the answer expected. */
class Binary {
  private buffered = Buffer.alloc(0)
  private wake: (() => void) | undefined
  closed = false

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk])
      this.wake?.()
    })
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.closed = true
      this.wake?.()
    })
  }

  static open(port: number): Promise<Binary> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Binary(socket)))
      socket.once('error', reject)
    })
  }

  /** Waits until `count` bytes have arrived (or the connection closed, or a second passed) and takes them. */
  async read(count: number, millis = 2000): Promise<Buffer> {
    const deadline = Date.now() + millis
    while (this.buffered.length < count && !this.closed && Date.now() < deadline) {
      await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), sleep(Math.max(1, deadline - Date.now()))])
    }
    const taken = this.buffered.subarray(0, count)
    this.buffered = this.buffered.subarray(taken.length)
    return Buffer.from(taken)
  }

  /** Reads a whole get_bulk answer. */
  async readGetBulk(): Promise<ReturnType<typeof parseGetBulk>> {
    const head = await this.read(5)
    let data = head
    const hits = head.readUInt32BE(1)
    for (let i = 0; i < hits; i++) {
      const recordHead = await this.read(18)
      const body = await this.read(recordHead.readUInt32BE(2) + recordHead.readUInt32BE(6))
      data = Buffer.concat([data, recordHead, body])
    }
    return parseGetBulk(data)
  }

  get unread(): number {
    return this.buffered.length
  }

  write(data: Buffer | string): void {
    this.socket.write(data)
  }

  close(): void {
    this.socket.destroy()
  }
}

// ---- the server most tests share ----

let server: RunningServer
let port: number
let main: Http

before(async () => {
  ;({server, port} = await startKt(['#dbm=baby,expiration=true', path.join(dir, 'casket.tkh')]))
  main = await Http.open(port)
})

after(() => main?.close())

describe('TSV-RPC procedures', () => {
  it('void answers nothing, echo its input, and an unknown procedure 501', async () => {
    const nothing = await rpc(main, 'void')
    assert.deepEqual([nothing.status, nothing.type, nothing.body], [200, TSV, ''])
    const echoed = await rpc(main, 'echo', {b: 'x y', a: '1', 'k\u00e9': 'v'})
    assert.equal(echoed.status, 200)
    assert.equal(echoed.type, TSV)
    // Sorted by name, as the reference answers from a sorted map.
    assert.equal(echoed.body, 'a\t1\nb\tx y\nk\u00c3\u00a9\tv\n')
    const unknown = await rpc(main, 'nosuch', {key: 'a'})
    assert.deepEqual([unknown.status, unknown.type, unknown.body], [501, TSV, 'ERROR\tnot implemented: nosuch\n'])
  })

  it('report shows the databases, the counts and the server', async () => {
    assert.equal((await rpc(main, 'set', {key: 'report-key', value: 'v'})).status, 200)
    const report = await rpc(main, 'report')
    assert.equal(report.status, 200)
    assert.equal(report.type, TSV)
    for (const name of [
      'db_0',
      'db_1',
      'db_total_count',
      'db_total_size',
      'serv_conn_count',
      'serv_task_count',
      'serv_thread_count',
      'serv_current_time',
      'serv_running_term',
      'serv_proc_id',
      'cnt_set',
      'cnt_set_misses',
      'cnt_remove',
      'cnt_remove_misses',
      'cnt_get',
      'cnt_get_misses',
      'cnt_script',
      'cnt_misc',
      'conf_kt_version',
      'conf_kc_version',
      'conf_os_name',
    ])
      assert.ok(report.map.has(name), `${name} is missing from ${report.body}`)
    assert.match(report.text('db_0')!, /^count=\d+ size=\d+ path=\S+$/)
    assert.match(report.text('db_1')!, /^count=0 size=\d+ path=casket\.tkh$/)
    assert.ok(Number(report.text('db_total_count')) >= 1)
    assert.ok(Number(report.text('cnt_set')) >= 1)
    assert.ok(Number(report.text('serv_conn_count')) >= 1)
    assert.equal(Number(report.text('serv_proc_id')), server.child.pid)
    assert.ok(Math.abs(Number(report.text('serv_current_time')) - Date.now() / 1000) < 60)
    // The lines are sorted by name.
    const names = report.body
      .trim()
      .split('\n')
      .map((line) => line.split('\t')[0])
    assert.deepEqual(names, [...names].sort())
  })

  it('status, clear and synchronize; synchronize with a command is not supported', async () => {
    assert.equal((await rpc(main, 'set_bulk', {DB: '1', _s1: 'a', _s2: 'b'})).status, 200)
    const status = await rpc(main, 'status', {DB: '1'})
    assert.equal(status.status, 200)
    assert.equal(status.text('count'), '2')
    assert.match(status.text('size')!, /^\d+$/)
    const byName = await rpc(main, 'status', {DB: 'casket.tkh'})
    assert.equal(byName.text('count'), '2')
    assert.equal((await rpc(main, 'synchronize', {DB: '1'})).status, 200)
    assert.equal((await rpc(main, 'synchronize', {DB: '1', hard: 'true'})).status, 200)
    const command = await rpc(main, 'synchronize', {DB: '1', command: 'backup'})
    assert.equal(command.status, 501)
    assert.match(command.body, /^ERROR\t.+\n$/)
    const cleared = await rpc(main, 'clear', {DB: '1'})
    assert.deepEqual([cleared.status, cleared.body], [200, ''])
    assert.equal((await rpc(main, 'status', {DB: '1'})).text('count'), '0')
    const zero = await rpc(main, 'status')
    assert.equal(zero.status, 200)
    assert.match(zero.text('count')!, /^\d+$/)
  })

  it('addresses databases by index and by file name; an unknown one gives 400', async () => {
    assert.equal((await rpc(main, 'set', {DB: 'casket.tkh', key: 'named', value: 'in 1'})).status, 200)
    assert.equal((await rpc(main, 'get', {DB: '1', key: 'named'})).text('value'), 'in 1')
    assert.equal((await rpc(main, 'get', {key: 'named'})).body, NO_RECORD)
    assert.equal((await rpc(main, 'get', {DB: '0', key: 'named'})).status, 450)
    // The on-memory B+ tree is named as Kyoto Tycoon names its kind: '%'.
    assert.equal((await rpc(main, 'set', {DB: '%', key: 'in-zero', value: 'z'})).status, 200)
    assert.equal((await rpc(main, 'get', {DB: '0', key: 'in-zero'})).text('value'), 'z')
    for (const db of ['2', '99', 'nosuch.tkh', 'casket']) {
      const answer = await rpc(main, 'get', {DB: db, key: 'named'})
      assert.deepEqual([answer.status, answer.body], [400, NO_DATABASE], db)
    }
    assert.equal((await rpc(main, 'set', {DB: '5', key: 'k', value: 'v'})).status, 400)
  })

  it('set, add, replace and append', async () => {
    assert.deepEqual(summary(await rpc(main, 'set', {key: 'w', value: 'one'})), [200, TSV, ''])
    const added = await rpc(main, 'add', {key: 'w', value: 'two'})
    assert.deepEqual([added.status, added.type, added.body], [450, TSV, DUPLICATE])
    assert.equal((await rpc(main, 'add', {key: 'w2', value: 'two'})).status, 200)
    const replaced = await rpc(main, 'replace', {key: 'w-missing', value: 'x'})
    assert.deepEqual([replaced.status, replaced.body], [450, NO_RECORD])
    assert.equal((await rpc(main, 'replace', {key: 'w', value: 'three'})).status, 200)
    assert.equal((await rpc(main, 'append', {key: 'w', value: '+4'})).status, 200)
    assert.equal((await rpc(main, 'append', {key: 'w-new', value: 'first'})).status, 200)
    assert.equal((await rpc(main, 'get', {key: 'w'})).text('value'), 'three+4')
    assert.equal((await rpc(main, 'get', {key: 'w2'})).text('value'), 'two')
    assert.equal((await rpc(main, 'get', {key: 'w-new'})).text('value'), 'first')
    assert.equal((await rpc(main, 'get', {key: 'w-missing'})).status, 450)
    // An empty value is a value.
    assert.equal((await rpc(main, 'set', {key: 'w-empty', value: ''})).status, 200)
    const empty = await rpc(main, 'get', {key: 'w-empty'})
    assert.deepEqual([empty.status, empty.body], [200, 'value\t\n'])
  })

  it('increment stores 8 big-endian bytes', async () => {
    const first = await rpc(main, 'increment', {key: 'n', num: '5'})
    assert.deepEqual([first.status, first.body], [200, 'num\t5\n'])
    // The 8 bytes hold control bytes, so the answer is encoded, as Kyoto Tycoon's is.
    const stored = await rpc(main, 'get', {key: 'n'})
    assert.equal(stored.type, `${TSV}; colenc=B`)
    assert.equal(stored.body, 'dmFsdWU=\tAAAAAAAAAAU=\n')
    assert.deepEqual(stored.map.get('value'), Buffer.of(0, 0, 0, 0, 0, 0, 0, 5))
    assert.equal((await rpc(main, 'increment', {key: 'n', num: '-7'})).body, 'num\t-2\n')
    // 0xFF and 0xFE are no control bytes: -2 goes unencoded, as with the reference.
    const negative = await rpc(main, 'get', {key: 'n'})
    assert.equal(negative.type, TSV)
    assert.deepEqual(negative.map.get('value'), Buffer.from('fffffffffffffffe', 'hex'))
    // orig is where a missing record starts.
    assert.equal((await rpc(main, 'increment', {key: 'n-orig', num: '1', orig: '100'})).body, 'num\t101\n')
    // orig=set overwrites, orig=try leaves a missing record missing.
    assert.equal((await rpc(main, 'increment', {key: 'n', num: '3', orig: 'set'})).body, 'num\t3\n')
    const tried = await rpc(main, 'increment', {key: 'n-missing', num: '1', orig: 'try'})
    assert.deepEqual([tried.status, tried.body], [450, INCONSISTENT])
    assert.equal((await rpc(main, 'get', {key: 'n-missing'})).status, 450)
    assert.equal((await rpc(main, 'increment', {key: 'n', num: '1', orig: 'try'})).body, 'num\t4\n')
    // A value of another size is not a number.
    await rpc(main, 'set', {key: 'n-text', value: '12'})
    const text = await rpc(main, 'increment', {key: 'n-text', num: '1'})
    assert.deepEqual([text.status, text.body], [450, INCONSISTENT])
    assert.equal((await rpc(main, 'get', {key: 'n-text'})).text('value'), '12')
    const bad = await rpc(main, 'increment', {key: 'n', num: 'many'})
    assert.deepEqual([bad.status, bad.body], [400, INVALID])
    assert.equal((await rpc(main, 'increment', {key: 'n'})).status, 400)
  })

  it('increment_double stores a fixed-point number', async () => {
    const first = await rpc(main, 'increment_double', {key: 'd', num: '1.5'})
    assert.deepEqual([first.status, first.body], [200, 'num\t1.500000\n'])
    assert.equal((await rpc(main, 'increment_double', {key: 'd', num: '1.25'})).body, 'num\t2.750000\n')
    assert.equal((await rpc(main, 'increment_double', {key: 'd', num: '0.9'})).body, 'num\t3.650000\n')
    const stored = await rpc(main, 'get', {key: 'd'})
    assert.equal(stored.map.get('value')!.length, 16)
    assert.equal(stored.map.get('value')!.readBigInt64BE(0), 3n)
    assert.equal((await rpc(main, 'increment_double', {key: 'd-missing', num: '1', orig: 'try'})).status, 450)
    await rpc(main, 'set', {key: 'd-text', value: 'abc'})
    assert.deepEqual(summary(await rpc(main, 'increment_double', {key: 'd-text', num: '1'})), [450, TSV, INCONSISTENT])
  })

  it('cas: oval absent means the record must not exist, nval absent removes it', async () => {
    const created = await rpc(main, 'cas', {key: 'c', nval: 'first'})
    assert.deepEqual([created.status, created.body], [200, ''])
    const again = await rpc(main, 'cas', {key: 'c', nval: 'second'})
    assert.deepEqual([again.status, again.body], [450, CONFLICT])
    const mismatch = await rpc(main, 'cas', {key: 'c', oval: 'wrong', nval: 'x'})
    assert.deepEqual([mismatch.status, mismatch.body], [450, CONFLICT])
    assert.equal((await rpc(main, 'cas', {key: 'c', oval: 'first', nval: 'second'})).status, 200)
    assert.equal((await rpc(main, 'get', {key: 'c'})).text('value'), 'second')
    assert.equal((await rpc(main, 'cas', {key: 'c', oval: 'second'})).status, 200)
    assert.equal((await rpc(main, 'get', {key: 'c'})).status, 450)
    assert.equal((await rpc(main, 'cas', {key: 'c', oval: 'second', nval: 'x'})).body, CONFLICT)
    assert.equal((await rpc(main, 'cas', {nval: 'x'})).status, 400)
  })

  it('remove, get, check and seize', async () => {
    await rpc(main, 'set', {key: 'g', value: 'value of g'})
    const got = await rpc(main, 'get', {key: 'g'})
    assert.deepEqual([got.status, got.type, got.body], [200, TSV, 'value\tvalue of g\n'])
    const checked = await rpc(main, 'check', {key: 'g'})
    assert.deepEqual([checked.status, checked.body], [200, 'vsiz\t10\n'])
    assert.deepEqual(summary(await rpc(main, 'check', {key: 'g-missing'})), [450, TSV, NO_RECORD])
    const removed = await rpc(main, 'remove', {key: 'g'})
    assert.deepEqual([removed.status, removed.body], [200, ''])
    const again = await rpc(main, 'remove', {key: 'g'})
    assert.deepEqual([again.status, again.body], [450, NO_RECORD])
    assert.equal((await rpc(main, 'get', {key: 'g'})).body, NO_RECORD)
    await rpc(main, 'set', {key: 'g', value: 'seized'})
    const seized = await rpc(main, 'seize', {key: 'g'})
    assert.deepEqual([seized.status, seized.body], [200, 'value\tseized\n'])
    assert.equal((await rpc(main, 'get', {key: 'g'})).status, 450)
    assert.deepEqual(summary(await rpc(main, 'seize', {key: 'g'})), [450, TSV, NO_RECORD])
  })

  it('a missing key argument gives 400 invalid parameters', async () => {
    for (const [name, params] of [
      ['get', {}],
      ['set', {value: 'v'}],
      ['set', {key: 'k'}],
      ['add', {value: 'v'}],
      ['remove', {}],
      ['check', {}],
      ['seize', {}],
      ['increment', {num: '1'}],
      ['increment_double', {num: '1'}],
      ['match_prefix', {}],
      ['match_regex', {}],
      ['match_similar', {}],
    ] as [string, Params][]) {
      const answer = await rpc(main, name, params)
      assert.deepEqual([answer.status, answer.type, answer.body], [400, TSV, INVALID], name)
    }
  })

  it('set_bulk, get_bulk and remove_bulk take _-prefixed records', async () => {
    const set = await rpc(main, 'set_bulk', {_ba: '1', _bb: '2', _bc: '3', atomic: ''})
    assert.deepEqual([set.status, set.body], [200, 'num\t3\n'])
    const got = await rpc(main, 'get_bulk', {_ba: '', _bb: '', _bmissing: ''})
    assert.deepEqual([got.status, got.body], [200, '_ba\t1\n_bb\t2\nnum\t2\n'])
    const removed = await rpc(main, 'remove_bulk', {_ba: '', _bmissing: ''})
    assert.deepEqual([removed.status, removed.body], [200, 'num\t1\n'])
    assert.equal((await rpc(main, 'get_bulk', {_ba: '', _bc: ''})).body, '_bc\t3\nnum\t1\n')
    assert.equal((await rpc(main, 'get_bulk')).body, 'num\t0\n')
    const other = await rpc(main, 'set_bulk', {DB: '1', _one: '1'})
    assert.equal(other.body, 'num\t1\n')
    assert.equal((await rpc(main, 'get_bulk', {DB: 'casket.tkh', _one: ''})).body, '_one\t1\nnum\t1\n')
  })

  it('vacuum, and match_prefix, match_regex and match_similar with their ordinals', async () => {
    assert.deepEqual(summary(await rpc(main, 'vacuum')), [200, TSV, ''])
    assert.equal((await rpc(main, 'vacuum', {step: '1'})).status, 200)
    assert.equal((await rpc(main, 'set_bulk', {_simab: '1', _simb: '2', _simc: '3', _simabc: '4'})).status, 200)
    assert.equal((await rpc(main, 'match_prefix', {prefix: 'simab'})).body, '_simab\t0\n_simabc\t1\nnum\t2\n')
    assert.equal((await rpc(main, 'match_prefix', {prefix: 'sim', max: '1'})).body, '_simab\t0\nnum\t1\n')
    assert.equal((await rpc(main, 'match_prefix', {prefix: 'nothing-like-this'})).body, 'num\t0\n')
    assert.equal((await rpc(main, 'match_regex', {regex: '^sim[bc]$'})).body, '_simb\t0\n_simc\t1\nnum\t2\n')
    assert.equal((await rpc(main, 'match_regex', {regex: '^sim.*c$', max: '1'})).body, '_simabc\t0\nnum\t1\n')
    // Nearest first, then in key order: simb is 0 edits from simb, simab and simc 1.
    assert.equal((await rpc(main, 'match_similar', {origin: 'simb', range: '1'})).body, '_simab\t1\n_simb\t0\n_simc\t2\nnum\t3\n')
    assert.equal((await rpc(main, 'match_similar', {origin: 'simb', range: '0'})).body, '_simb\t0\nnum\t1\n')
    assert.equal((await rpc(main, 'match_similar', {origin: 'simabcd', range: '1', max: '5'})).body, '_simabc\t0\nnum\t1\n')
    assert.equal((await rpc(main, 'remove_bulk', {_simab: '', _simb: '', _simc: '', _simabc: ''})).body, 'num\t4\n')
  })

  it('play_script without a script gives 501; ulog_list without an update log 400', async () => {
    const script = await rpc(main, 'play_script', {name: 'hello', _in: 'x'})
    assert.equal(script.status, 501)
    assert.match(script.body, /^ERROR\t.+\n$/)
    const ulog = await rpc(main, 'ulog_list')
    assert.equal(ulog.status, 400)
    assert.match(ulog.body, /^ERROR\t.+\n$/)
  })

  it('play_script without a name on a server without scripts gives 501, as ktserver does', async () => {
    // ktserver answers 501 "the scripting extention is disabled" before it looks at the name.
    const answer = await rpc(main, 'play_script')
    assert.equal(answer.status, 501, answer.body)
  })

  it('cursors: jump, step, read, write and delete, on one keep-alive connection', async () => {
    const cursor = await Http.open(port)
    try {
      const call = (name: string, params: Params = {}) => rpc(cursor, name, {CUR: '1', ...params})
      assert.equal((await call('clear')).status, 200)
      assert.equal((await call('set_bulk', {_a: '1', _b: '2', _c: '3'})).body, 'num\t3\n')
      // A new cursor is on no record.
      assert.deepEqual(summary(await call('cur_get')), [450, TSV, NO_RECORD])
      assert.deepEqual(summary(await call('cur_jump')), [200, TSV, ''])
      assert.equal((await call('cur_get')).body, 'key\ta\nvalue\t1\n')
      assert.equal((await call('cur_step')).status, 200)
      assert.equal((await call('cur_get_key')).body, 'key\tb\n')
      // step moves on after reading.
      assert.equal((await call('cur_get_value', {step: ''})).body, 'value\t2\n')
      assert.equal((await call('cur_get_key')).body, 'key\tc\n')
      assert.equal((await call('cur_step_back')).status, 200)
      assert.equal((await call('cur_get_key')).body, 'key\tb\n')
      assert.equal((await call('cur_jump_back')).status, 200)
      assert.equal((await call('cur_get_key')).body, 'key\tc\n')
      assert.equal((await call('cur_jump_back', {key: 'bb'})).status, 200)
      assert.equal((await call('cur_get_key')).body, 'key\tb\n')
      assert.equal((await call('cur_jump', {key: 'bb'})).status, 200)
      assert.equal((await call('cur_get_key')).body, 'key\tc\n')
      assert.equal((await call('cur_jump', {key: 'b'})).status, 200)
      assert.equal((await call('cur_set_value', {value: 'B'})).status, 200)
      assert.equal((await call('cur_get')).body, 'key\tb\nvalue\tB\n')
      assert.equal((await rpc(cursor, 'get', {key: 'b'})).text('value'), 'B')
      // cur_get reports xt when the record expires.
      const xt = nowSeconds() + 1000
      assert.equal((await call('cur_set_value', {value: 'Bx', xt: String(-xt)})).status, 200)
      assert.equal((await call('cur_get')).body, `key\tb\nvalue\tBx\nxt\t${xt}\n`)
      // Removing moves the cursor to the next record.
      assert.equal((await call('cur_remove')).status, 200)
      assert.equal((await rpc(cursor, 'get', {key: 'b'})).status, 450)
      assert.equal((await call('cur_get')).body, 'key\tc\nvalue\t3\n')
      assert.equal((await call('cur_seize')).body, 'key\tc\nvalue\t3\n')
      assert.equal((await rpc(cursor, 'get', {key: 'c'})).status, 450)
      assert.deepEqual(summary(await call('cur_get_key')), [450, TSV, NO_RECORD])
      assert.equal((await call('cur_remove')).status, 450)
      assert.equal((await call('cur_jump', {key: 'zzz'})).status, 450)
      assert.equal((await call('cur_jump')).status, 200)
      assert.equal((await call('cur_step')).body, NO_RECORD)
      assert.equal((await call('cur_step_back')).status, 450)

      // Cursors belong to their connection: another one does not see CUR=1.
      assert.equal((await call('cur_jump')).status, 200)
      const other = await Http.open(port)
      assert.equal((await rpc(other, 'cur_get_key', {CUR: '1'})).status, 450)
      other.close()
      assert.equal((await call('cur_get_key')).body, 'key\ta\n')
      // Two cursors on one connection are independent.
      assert.equal((await call('set', {key: 'z', value: '26'})).status, 200)
      assert.equal((await call('cur_jump_back', {CUR: '2'})).status, 200)
      assert.equal((await call('cur_get_key', {CUR: '2'})).body, 'key\tz\n')
      assert.equal((await call('cur_get_key')).body, 'key\ta\n')

      assert.deepEqual(summary(await call('cur_delete')), [200, TSV, ''])
      assert.equal((await call('cur_get_key')).status, 450)
      // As ktserver: a cursor the connection does not hold is "not implemented".
      assert.deepEqual(summary(await call('cur_delete')), [501, TSV, 'ERROR\tnot implemented: cur_delete\n'])
      assert.deepEqual(summary(await rpc(cursor, 'cur_jump')), [400, TSV, INVALID])

      // The hash database has no order: backward moves are not implemented.
      assert.equal((await call('clear', {DB: '1'})).status, 200)
      assert.equal((await call('set', {DB: '1', key: 'h', value: 'hash'})).status, 200)
      const back = await call('cur_jump_back', {DB: '1', CUR: '3'})
      assert.equal(back.status, 501)
      assert.match(back.body, /^ERROR\t.+\n$/)
      assert.equal((await call('cur_jump', {DB: '1', CUR: '3'})).status, 200)
      assert.equal((await call('cur_get', {CUR: '3'})).body, 'key\th\nvalue\thash\n')
      assert.equal((await call('cur_step_back', {CUR: '3'})).status, 501)
      assert.equal(cursor.closed, false)
    } finally {
      cursor.close()
    }
  })
})

describe('TSV-RPC inputs and outputs', () => {
  it('takes a query string, a form body, and both together', async () => {
    assert.equal((await rpc(main, 'set', {key: 'in-q', value: 'a b&c=d+e'})).status, 200)
    assert.equal((await rpc(main, 'get', {key: 'in-q'})).text('value'), 'a b&c=d+e')
    const form = await post(main, 'set', 'application/x-www-form-urlencoded', 'key=in-f&value=x%26y+z;ignored')
    assert.equal(form.status, 200)
    assert.equal((await rpc(main, 'get', {key: 'in-f'})).text('value'), 'x&y z')
    const both = decodeAnswer(await main.request('POST', '/rpc/set?DB=1', {'Content-Type': 'application/x-www-form-urlencoded'}, 'key=in-both&value=1'))
    assert.equal(both.status, 200)
    assert.equal((await rpc(main, 'get', {DB: '1', key: 'in-both'})).text('value'), '1')
  })

  it('takes text/tab-separated-values bodies, plain and with colenc B, Q and U', async () => {
    assert.equal((await post(main, 'set', TSV, 'key\tin-t\r\nvalue\tplain value\r\n')).status, 200)
    assert.equal((await rpc(main, 'get', {key: 'in-t'})).text('value'), 'plain value')
    const bytes = Buffer.of(0, 9, 10, 13, 0x25, 0x3d, 0xff)
    const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64')
    assert.equal((await post(main, 'set', `${TSV}; colenc=B`, `${b64('key')}\t${b64('in-b')}\n${b64('value')}\t${b64(bytes)}\n`)).status, 200)
    assert.deepEqual((await rpc(main, 'get', {key: 'in-b'})).map.get('value'), bytes)
    assert.equal((await post(main, 'set', `${TSV}; colenc=Q`, 'key\tin-=51\nvalue\t=00=09=0A=0D%=3D=FF\n')).status, 200)
    assert.deepEqual((await rpc(main, 'get', {key: 'in-Q'})).map.get('value'), bytes)
    assert.equal((await post(main, 'set', `${TSV}; colenc=U`, 'key\tin-%75\nvalue\t%00%09%0a%0D%25%3D%FF\n')).status, 200)
    assert.deepEqual((await rpc(main, 'get', {key: 'in-u'})).map.get('value'), bytes)
  })

  it('decodes Base64 with blanks inside a column', async () => {
    const long = Buffer.alloc(200, 0xab)
    const spaced = long.toString('base64').replace(/.{60}/g, '$& ')
    const answer = await post(main, 'set', `${TSV}; colenc=B`, `a2V5\t${Buffer.from('in-spaced').toString('base64')}\ndmFsdWU=\t${spaced}\n`)
    assert.equal(answer.status, 200)
    assert.deepEqual((await rpc(main, 'get', {key: 'in-spaced'})).map.get('value'), long)
  })

  it('decodes a Base64 column wrapped over several lines, as kt4j sends it', async () => {
    // kt4j's encoder wrapped Base64 at 76 characters with CRLF (kumai/kt4j PR #1); the
    // reference notes ask a new server to decode such columns tolerantly.
    const long = Buffer.alloc(200, 0xab)
    const wrapped = long.toString('base64').replace(/.{76}/g, '$&\r\n')
    const answer = await post(main, 'set', `${TSV}; colenc=B`, `a2V5\t${Buffer.from('in-wrapped').toString('base64')}\r\ndmFsdWU=\t${wrapped}\r\n`)
    assert.equal(answer.status, 200)
    const stored = (await rpc(main, 'get', {key: 'in-wrapped'})).map.get('value')!
    assert.equal(stored.length, long.length)
    assert.deepEqual(stored, long)
  })

  it('answers a binary value with colenc=U or colenc=B, which decodes to the same bytes', async () => {
    const small = Buffer.of(0, 1, 2)
    await rpc(main, 'set', {key: 'out-u', value: small})
    const url = await rpc(main, 'get', {key: 'out-u'})
    assert.equal(url.type, `${TSV}; colenc=U`)
    assert.equal(url.body, 'value\t%00%01%02\n')
    assert.deepEqual(url.map.get('value'), small)
    const every = Buffer.from(Array.from({length: 256}, (_, i) => i))
    await rpc(main, 'set', {key: 'out-b', value: every})
    const base64 = await rpc(main, 'get', {key: 'out-b'})
    assert.equal(base64.type, `${TSV}; colenc=B`)
    assert.equal(base64.body, `dmFsdWU=\t${every.toString('base64')}\n`)
    assert.deepEqual(base64.map.get('value'), every)
    // A long plain value is URL-encoded; a short one with spaces goes as it is.
    await rpc(main, 'set', {key: 'out-long', value: 'x'.repeat(300)})
    const long = await rpc(main, 'get', {key: 'out-long'})
    assert.equal(long.type, `${TSV}; colenc=U`)
    assert.equal(long.text('value'), 'x'.repeat(300))
    const echoed = await rpc(main, 'echo', {'tab\there': 'new\nline'})
    assert.equal(echoed.type, `${TSV}; colenc=U`)
    assert.equal(echoed.body, 'tab%09here\tnew%0aline\n')
  })
})

describe('expiry (xt)', () => {
  it('reports xt for records that expire, and only for those', async () => {
    const relative = await rpc(main, 'set', {key: 'xt-rel', value: 'v', xt: '100'})
    assert.equal(relative.status, 200)
    const got = await rpc(main, 'get', {key: 'xt-rel'})
    assert.equal(got.text('value'), 'v')
    const xt = Number(got.text('xt'))
    assert.ok(Math.abs(xt - (nowSeconds() + 100)) <= 2, String(xt))
    assert.equal((await rpc(main, 'check', {key: 'xt-rel'})).body, `vsiz\t1\nxt\t${xt}\n`)
    const absolute = nowSeconds() + 5000
    await rpc(main, 'set', {key: 'xt-abs', value: 'v', xt: String(-absolute)})
    assert.equal((await rpc(main, 'get', {key: 'xt-abs'})).body, `value\tv\nxt\t${absolute}\n`)
    await rpc(main, 'set', {key: 'xt-never', value: 'v'})
    assert.equal((await rpc(main, 'get', {key: 'xt-never'})).body, 'value\tv\n')
    assert.equal((await rpc(main, 'seize', {key: 'xt-abs'})).body, `value\tv\nxt\t${absolute}\n`)
  })

  it('refuses xt on a database that keeps no expiry times', async () => {
    const answer = await rpc(main, 'set', {DB: '1', key: 'xt', value: 'v', xt: '10'})
    assert.equal(answer.status, 400)
    assert.match(answer.body, /^ERROR\t.+\n$/)
    assert.equal((await rpc(main, 'get', {DB: '1', key: 'xt'})).status, 450)
    assert.equal((await rpc(main, 'set_bulk', {DB: '1', xt: '10', _k: 'v'})).status, 400)
  })

  it('forgets a record set with xt=1 after two seconds', async () => {
    assert.equal((await rpc(main, 'set', {key: 'xt-short', value: 'gone soon', xt: '1'})).status, 200)
    assert.equal((await rpc(main, 'increment', {key: 'xt-count', num: '1', xt: '1'})).status, 200)
    assert.equal((await rpc(main, 'get', {key: 'xt-short'})).text('value'), 'gone soon')
    await sleep(2200)
    assert.deepEqual(summary(await rpc(main, 'get', {key: 'xt-short'})), [450, TSV, NO_RECORD])
    assert.equal((await rpc(main, 'check', {key: 'xt-short'})).status, 450)
    assert.equal((await rpc(main, 'get_bulk', {_xt_short: '', '_xt-short': ''})).body, 'num\t0\n')
    // A write that meets an expired record treats it as empty.
    assert.equal((await rpc(main, 'add', {key: 'xt-short', value: 'again'})).status, 200)
    assert.equal((await rpc(main, 'increment', {key: 'xt-count', num: '1'})).body, 'num\t1\n')
  })
})

describe('WAIT and SIGNAL', () => {
  it('a call with WAIT blocks until another connection signals the condition', async () => {
    const waiter = await Http.open(port)
    const signaler = await Http.open(port)
    try {
      const started = Date.now()
      let answered = false
      const waiting = rpc(waiter, 'get', {key: 'wait-key', WAIT: 'cond', WAITTIME: '5'}).then((answer) => ((answered = true), answer))
      await sleep(300)
      assert.equal(answered, false)
      const signal = await rpc(signaler, 'set', {key: 'wait-key', value: 'woken', SIGNAL: 'cond'})
      assert.equal(signal.status, 200)
      assert.equal(signal.body, 'SIGNALED\t1\n')
      const woken = await waiting
      assert.deepEqual([woken.status, woken.body], [200, 'value\twoken\n'])
      const waited = Date.now() - started
      assert.ok(waited >= 250 && waited < 4500, String(waited))
      // Nobody waits now.
      assert.equal((await rpc(signaler, 'void', {SIGNAL: 'cond'})).body, 'SIGNALED\t0\n')
    } finally {
      waiter.close()
      signaler.close()
    }
  })

  it('SIGNALBROAD wakes every waiter', async () => {
    const waiters = await Promise.all([Http.open(port), Http.open(port)])
    const signaler = await Http.open(port)
    try {
      const waiting = waiters.map((waiter) => rpc(waiter, 'void', {WAIT: 'broad', WAITTIME: '5'}))
      await sleep(300)
      assert.equal((await rpc(signaler, 'void', {SIGNAL: 'broad', SIGNALBROAD: ''})).body, 'SIGNALED\t2\n')
      for (const answer of await Promise.all(waiting)) assert.equal(answer.status, 200)
    } finally {
      for (const http of [...waiters, signaler]) http.close()
    }
  })

  it('a connection waiting in a WAIT is not idle: it outlives the idle timeout, and a silent one does not', async () => {
    const {port: shortPort} = await startKt(['--idle_timeout', '1', '#dbm=tiny'])
    const waiter = await Http.open(shortPort)
    let signaler: Http | undefined
    try {
      const waiting = rpc(waiter, 'void', {WAIT: 'long', WAITTIME: '5'})
      await sleep(2000)
      signaler = await Http.open(shortPort)
      assert.equal((await rpc(signaler, 'void', {SIGNAL: 'long'})).body, 'SIGNALED\t1\n')
      assert.equal((await waiting).status, 200)
      const silent = net.connect(shortPort, '127.0.0.1')
      const closed = await new Promise<boolean>((resolve) => {
        silent.on('close', () => resolve(true))
        setTimeout(() => resolve(false), 4000)
      })
      assert.ok(closed, 'a silent connection is closed after the idle timeout')
    } finally {
      waiter.close()
      signaler?.close()
    }
  })

  it('a WAIT that is not signaled times out with 503, and holds the requests behind it', async () => {
    const waiter = await Http.open(port)
    try {
      const started = Date.now()
      const timedOut = waiter.request('GET', '/rpc/set?key=wait-timeout&value=v&WAIT=nobody&WAITTIME=0.3')
      const behind = waiter.request('GET', '/rpc/echo?after=1')
      const answer = decodeAnswer(await timedOut)
      const waited = Date.now() - started
      assert.equal(answer.status, 503)
      assert.equal(answer.type, TSV)
      assert.match(answer.body, /^ERROR\t.+\n$/)
      assert.ok(waited >= 250 && waited < 3000, String(waited))
      assert.equal(decodeAnswer(await behind).body, 'after\t1\n')
      // The procedure did not run.
      assert.equal((await rpc(main, 'get', {key: 'wait-timeout'})).status, 450)
    } finally {
      waiter.close()
    }
  })
})

describe('REST', () => {
  it('PUT, GET, HEAD and DELETE a key', async () => {
    const put = await main.request('PUT', '/rest-1', {}, 'hello')
    assert.equal(put.status, 201)
    assert.equal(put.body.length, 0)
    const got = await main.request('GET', '/rest-1')
    assert.equal(got.status, 200)
    assert.equal(got.body.toString(), 'hello')
    assert.equal(got.headers.get('content-length'), '5')
    assert.equal(got.headers.has('x-kt-xt'), false)
    const head = await main.request('HEAD', '/rest-1')
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('content-length'), '5')
    // No body came with the HEAD answer: the next answer parses cleanly.
    const deleted = await main.request('DELETE', '/rest-1')
    assert.equal(deleted.status, 204)
    assert.equal(main.unread, 0)
    const again = await main.request('DELETE', '/rest-1')
    assert.equal(again.status, 404)
    assert.equal(again.headers.get('x-kt-error'), 'DB: 7: no record: no record')
    const missing = await main.request('GET', '/rest-1')
    assert.equal(missing.status, 404)
    assert.equal(missing.headers.get('x-kt-error'), 'DB: 7: no record: no record')
    assert.equal((await main.request('HEAD', '/rest-1')).status, 404)
  })

  it('X-Kt-Mode: add and replace fail with 450 and X-Kt-Error', async () => {
    assert.equal((await main.request('PUT', '/rest-mode', {'X-Kt-Mode': 'add'}, 'first')).status, 201)
    const added = await main.request('PUT', '/rest-mode', {'X-Kt-Mode': 'add'}, 'second')
    assert.equal(added.status, 450)
    assert.equal(added.headers.get('x-kt-error'), 'DB: 6: record duplication: record duplication')
    assert.equal((await main.request('PUT', '/rest-mode', {'X-Kt-Mode': 'replace'}, 'third')).status, 201)
    const replaced = await main.request('PUT', '/rest-mode-missing', {'X-Kt-Mode': 'replace'}, 'x')
    assert.equal(replaced.status, 450)
    assert.equal(replaced.headers.get('x-kt-error'), 'DB: 7: no record: no record')
    assert.equal((await main.request('PUT', '/rest-mode', {'X-Kt-Mode': 'set'}, 'fourth')).status, 201)
    assert.equal((await main.request('GET', '/rest-mode')).body.toString(), 'fourth')
    assert.equal((await main.request('GET', '/rest-mode-missing')).status, 404)
  })

  it('X-Kt-Xt in RFC 1123 or W3CDTF form sets the expiry, which GET reports', async () => {
    const rfc = 'Fri, 01 Jan 2038 00:00:00 GMT'
    assert.equal((await main.request('PUT', '/rest-xt1', {'X-Kt-Xt': rfc}, 'x')).status, 201)
    const got = await main.request('GET', '/rest-xt1')
    assert.equal(got.headers.get('x-kt-xt'), rfc)
    assert.equal((await rpc(main, 'get', {key: 'rest-xt1'})).text('xt'), String(Date.parse(rfc) / 1000))
    assert.equal((await main.request('PUT', '/rest-xt2', {'X-Kt-Xt': '2037-06-01T12:00:00Z'}, 'y')).status, 201)
    assert.equal((await main.request('GET', '/rest-xt2')).headers.get('x-kt-xt'), 'Mon, 01 Jun 2037 12:00:00 GMT')
    assert.equal((await main.request('HEAD', '/rest-xt2')).headers.get('x-kt-xt'), 'Mon, 01 Jun 2037 12:00:00 GMT')
    assert.equal((await main.request('PUT', '/1/rest-xt3', {'X-Kt-Xt': rfc}, 'z')).status, 400)
  })

  it('addresses /<db>/<key>, URL-decodes keys, and refuses unknown databases and other methods', async () => {
    assert.equal((await main.request('PUT', '/casket.tkh/rest-db', {}, 'in one')).status, 201)
    assert.equal((await rpc(main, 'get', {DB: '1', key: 'rest-db'})).text('value'), 'in one')
    assert.equal((await main.request('GET', '/1/rest-db')).body.toString(), 'in one')
    assert.equal((await main.request('GET', '/rest-db')).status, 404)
    assert.equal((await main.request('GET', '/0/rest-db')).status, 404)
    assert.equal((await main.request('PUT', '/a%20b%2Fc%00', {}, 'spaced')).status, 201)
    assert.equal((await rpc(main, 'get', {key: Buffer.from('a b/c\0')})).text('value'), 'spaced')
    const unknown = await main.request('GET', '/nosuch/key')
    assert.equal(unknown.status, 400)
    assert.equal(unknown.body.toString(), 'no such database\n')
    assert.equal((await main.request('PUT', '/7/key', {}, 'v')).status, 400)
    assert.equal((await main.request('POST', '/rest-db', {}, 'v')).status, 501)
    assert.equal((await main.request('OPTIONS', '/rest-db')).status, 501)
  })
})

describe('HTTP', () => {
  it('answers pipelined requests on one connection in order', async () => {
    const http = await Http.open(port)
    try {
      const answers = [http.expect(), http.expect(), http.expect(true), http.expect(), http.expect()]
      http.write(
        Buffer.concat([
          rawRequest('GET', '/rpc/set?key=pipe&value=1'),
          rawRequest('GET', '/rpc/increment?key=pipe-n&num=2'),
          rawRequest('HEAD', '/pipe'),
          rawRequest('PUT', '/pipe', {}, '2'),
          rawRequest('GET', '/rpc/get?key=pipe'),
        ]),
      )
      const [set, increment, head, put, get] = await Promise.all(answers)
      assert.equal(set.status, 200)
      assert.equal(increment.body.toString(), 'num\t2\n')
      assert.deepEqual([head.status, head.headers.get('content-length')], [200, '1'])
      assert.equal(put.status, 201)
      assert.equal(get.body.toString(), 'value\t2\n')
    } finally {
      http.close()
    }
  })

  it('closes an HTTP/1.0 connection after its answer unless it asks for keep-alive', async () => {
    const plain = await exchange(port, Buffer.from('GET /rpc/echo?v=10 HTTP/1.0\r\n\r\nGET /rpc/echo?v=second HTTP/1.0\r\n\r\n'), 2000)
    assert.equal(plain.closed, true)
    const text = plain.data.toString('latin1')
    assert.match(text, /^HTTP\/1\.[01] 200 OK\r\n/)
    assert.match(text, /\r\nConnection: close\r\n/i)
    assert.ok(text.endsWith('\r\n\r\nv\t10\n'), text)
    const kept = await exchange(
      port,
      Buffer.from('GET /rpc/echo?v=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /rpc/echo?v=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'),
      500,
    )
    assert.equal(kept.closed, false)
    assert.equal(kept.data.toString('latin1').match(/HTTP\/1\.[01] 200/g)?.length, 2)
    const closing = await exchange(port, Buffer.from('GET /rpc/void HTTP/1.1\r\nConnection: close\r\n\r\n'), 2000)
    assert.equal(closing.closed, true)
    assert.match(closing.data.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/)
  })

  it('reads chunked request bodies, with chunk extensions and trailers', async () => {
    const body = '4\r\nkey=\r\n8;ext=1\r\nchunked&\r\nB\r\nvalue=a%20b\r\n0\r\nX-Trailer: t\r\n\r\n'
    const answer = decodeAnswer(
      await main.request('POST', '/rpc/set', {'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked'}, body),
    )
    assert.equal(answer.status, 200)
    assert.equal((await rpc(main, 'get', {key: 'chunked'})).text('value'), 'a b')
    const put = await main.request('PUT', '/chunked-rest', {'Transfer-Encoding': 'chunked'}, '3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n')
    assert.equal(put.status, 201)
    assert.equal((await main.request('GET', '/chunked-rest')).body.toString(), 'abcde')
  })

  it('answers Expect: 100-continue with 100, then the answer once the body came', async () => {
    const http = await Http.open(port)
    try {
      const answer = http.expect()
      http.write('PUT /continued HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
      for (let i = 0; i < 100 && http.interim.length === 0; i++) await sleep(10)
      assert.deepEqual(http.interim, [100])
      http.write('later')
      assert.equal((await answer).status, 201)
      assert.equal((await http.request('GET', '/continued')).body.toString(), 'later')
    } finally {
      http.close()
    }
  })

  it('answers a 1 MB header line with 431, closes that connection, and keeps serving others', async () => {
    const huge = await exchange(port, Buffer.from(`GET /rpc/void HTTP/1.1\r\nX-Huge: ${'h'.repeat(1 << 20)}\r\n\r\n`), 5000)
    assert.match(huge.data.toString('latin1'), /^HTTP\/1\.1 431 /)
    assert.equal(huge.closed, true)
    assert.equal((await rpc(main, 'void')).status, 200)
    const fresh = await Http.open(port)
    assert.equal((await rpc(fresh, 'echo', {still: 'here'})).body, 'still\there\n')
    fresh.close()
  })

  it('refuses a body larger than the limit (64 MiB) without reading it', async () => {
    const declared = await exchange(port, Buffer.from(`PUT /too-big HTTP/1.1\r\nContent-Length: ${(64 << 20) + 1}\r\n\r\nabc`), 3000)
    assert.match(declared.data.toString('latin1'), /^HTTP\/1\.1 413 /)
    assert.equal(declared.closed, true)
    const chunked = await exchange(port, Buffer.from('PUT /too-big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4000001\r\nabc'), 3000)
    assert.match(chunked.data.toString('latin1'), /^HTTP\/1\.1 413 /)
    assert.equal(chunked.closed, true)
    assert.equal((await main.request('GET', '/too-big')).status, 404)
  })

  it('reads header names in any case, lines ending in LF alone, and the last of a repeated header', async () => {
    const body = 'key\tcase-key\nvalue\tcase-value\n'
    const request = `POST /rpc/set HTTP/1.1\nhost: x\nCONTENT-type: ${TSV}\ncontent-LENGTH: 1\nContent-Length: ${body.length}\n\n${body}`
    const answer = await exchange(port, Buffer.from(`${request}GET /rpc/get?key=case-key HTTP/1.0\r\n\r\n`), 2000)
    const text = answer.data.toString('latin1')
    assert.match(text, /^HTTP\/1\.1 200 /)
    assert.match(text, /value\tcase-value\n$/)
  })

  it('answers what is not HTTP with 400 and closes', async () => {
    for (const junk of [
      'HELLO\r\n\r\n',
      'GET /rpc/void HTTP/2.0\r\n\r\n',
      'GET /rpc/void HTTP/1.1\r\nno colon\r\n\r\n',
      'PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
      // Whitespace between a header's name and its colon is refused (RFC 9112, section 5.1).
      'PUT /x HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc',
      'GET /rpc/void HTTP/1.1\r\n: no name\r\n\r\n',
    ]) {
      const answer = await exchange(port, Buffer.from(junk), 2000)
      assert.match(answer.data.toString('latin1'), /^HTTP\/1\.1 400 /, junk)
      assert.equal(answer.closed, true, junk)
    }
    assert.equal((await rpc(main, 'void')).status, 200)
  })
})

describe('the binary protocol', () => {
  it('set_bulk, get_bulk and remove_bulk', async () => {
    const binary = await Binary.open(port)
    try {
      binary.write(
        setBulkFrame([
          {key: 'bin-1', value: 'one'},
          {key: 'bin-2', value: Buffer.of(0, 0xff), xt: 100n},
          {db: 1, key: 'bin-3', value: 'in one'},
          {db: 9, key: 'bin-4', value: 'no such database: skipped'},
        ]),
      )
      assert.deepEqual(await binary.read(5), Buffer.concat([Buffer.of(0xb8), u32(3)]))
      binary.write(keysFrame(0xba, [{key: 'bin-1'}, {key: 'bin-2'}, {key: 'bin-missing'}, {db: 1, key: 'bin-3'}, {db: 9, key: 'bin-1'}, {db: 1, key: 'bin-1'}]))
      const got = await binary.readGetBulk()
      assert.equal(got.hits, 3)
      assert.equal(got.rest, 0)
      assert.deepEqual(got.records[0], {db: 0, key: 'bin-1', value: Buffer.from('one'), xt: XT_NEVER})
      assert.deepEqual({...got.records[1], xt: 0}, {db: 0, key: 'bin-2', value: Buffer.of(0, 0xff), xt: 0})
      assert.ok(Math.abs(got.records[1].xt - (nowSeconds() + 100)) <= 2, String(got.records[1].xt))
      assert.deepEqual(got.records[2], {db: 1, key: 'bin-3', value: Buffer.from('in one'), xt: XT_NEVER})
      assert.equal(binary.unread, 0)
      // What the binary protocol stored, TSV-RPC reads.
      assert.equal((await rpc(main, 'get', {DB: '1', key: 'bin-3'})).text('value'), 'in one')
      binary.write(keysFrame(0xb9, [{key: 'bin-1'}, {key: 'bin-missing'}, {db: 1, key: 'bin-3'}]))
      assert.deepEqual(await binary.read(5), Buffer.concat([Buffer.of(0xb9), u32(2)]))
      binary.write(keysFrame(0xba, [{key: 'bin-1'}, {db: 1, key: 'bin-3'}]))
      assert.deepEqual(await binary.read(5), Buffer.concat([Buffer.of(0xba), u32(0)]))
      binary.write(keysFrame(0xba, []))
      assert.deepEqual(await binary.read(5), Buffer.concat([Buffer.of(0xba), u32(0)]))
      assert.equal(binary.closed, false)
    } finally {
      binary.close()
    }
  })

  it('reads a frame that arrives a few bytes at a time', async () => {
    const binary = await Binary.open(port)
    try {
      // Several records, each of them split between pieces.
      const frame = setBulkFrame([
        {key: 'bin-slow', value: 'slowly'},
        {key: 'bin-slower', value: 'more slowly'},
        {key: 'bin-slowest', value: 'most slowly'},
      ])
      for (let at = 0; at < frame.length; at += 7) {
        binary.write(frame.subarray(at, at + 7))
        await sleep(5)
      }
      assert.deepEqual(await binary.read(5), Buffer.concat([Buffer.of(0xb8), u32(3)]))
      assert.equal((await rpc(main, 'get', {key: 'bin-slow'})).text('value'), 'slowly')
      assert.equal((await rpc(main, 'get', {key: 'bin-slower'})).text('value'), 'more slowly')
      assert.equal((await rpc(main, 'get', {key: 'bin-slowest'})).text('value'), 'most slowly')
    } finally {
      binary.close()
    }
  })

  it('answers nothing at all to a request with the no-reply flag', async () => {
    const binary = await Binary.open(port)
    try {
      binary.write(Buffer.concat([setBulkFrame([{key: 'bin-quiet', value: 'q'}], 0x01), keysFrame(0xba, [{key: 'bin-quiet'}])]))
      const got = await binary.readGetBulk()
      assert.deepEqual(got.records, [{db: 0, key: 'bin-quiet', value: Buffer.from('q'), xt: XT_NEVER}])
      binary.write(Buffer.concat([keysFrame(0xb9, [{key: 'bin-quiet'}], 0x01), keysFrame(0xb9, [{key: 'bin-quiet'}])]))
      // The quiet remove removed it; the second one finds nothing, and only it answers.
      assert.deepEqual(await binary.read(5), Buffer.concat([Buffer.of(0xb9), u32(0)]))
      await sleep(200)
      assert.equal(binary.unread, 0)
    } finally {
      binary.close()
    }
  })

  it('answers an unknown magic with 0xBF and closes the connection', async () => {
    for (const magic of [0xb0, 0xb2, 0xb3, 0xbf]) {
      const answer = await exchange(port, Buffer.concat([Buffer.of(magic), u32(0), u32(0)]), 2000)
      assert.deepEqual(answer.data, Buffer.of(0xbf), magic.toString(16))
      assert.equal(answer.closed, true, magic.toString(16))
    }
  })

  it('answers play_script with 0xBF when no script is loaded', async () => {
    const binary = await Binary.open(port)
    try {
      binary.write(Buffer.concat([Buffer.of(0xb4), u32(0), u32(5), u32(1), Buffer.from('hello'), u32(1), u32(1), Buffer.from('kv')]))
      assert.deepEqual(await binary.read(1), Buffer.of(0xbf))
      await sleep(100)
      assert.equal(binary.unread, 0)
    } finally {
      binary.close()
    }
  })

  it('holds a frame that claims 0xFFFFFFFF records and sends a few, and keeps serving everyone else', async () => {
    const before = rssMB(server.child.pid!)
    const liar = await Binary.open(port)
    liar.write(Buffer.concat([Buffer.of(0xba), u32(0), u32(0xffffffff), ...['a', 'b', 'c'].map((key) => keysFrame(0xba, [{key}]).subarray(9))]))
    const setLiar = await Binary.open(port)
    setLiar.write(Buffer.concat([Buffer.of(0xb8), u32(0), u32(0xffffffff), setBulkFrame([{key: 'x', value: 'y'}]).subarray(9)]))
    await sleep(200)
    assert.equal(liar.unread, 0)
    assert.equal(liar.closed, false)
    const other = await Binary.open(port)
    other.write(setBulkFrame([{key: 'bin-after-liar', value: 'fine'}]))
    assert.deepEqual(await other.read(5), Buffer.concat([Buffer.of(0xb8), u32(1)]))
    other.close()
    assert.equal((await rpc(main, 'get', {key: 'bin-after-liar'})).text('value'), 'fine')
    assert.ok(rssMB(server.child.pid!) - before < 100, `${before} MB -> ${rssMB(server.child.pid!)} MB`)
    liar.close()
    setLiar.close()
    assert.equal(server.child.exitCode, null)
  })

  it('answers an HTTP request and a binary request on the same connection, as the reference clients send them', async () => {
    const answer = await exchange(
      port,
      Buffer.concat([
        rawRequest('GET', '/rpc/set?key=mixed&value=both'),
        keysFrame(0xba, [{key: 'mixed'}]),
        rawRequest('GET', '/rpc/echo?again=1'),
        setBulkFrame([{key: 'mixed2', value: '2'}]),
      ]),
      1000,
    )
    const text = answer.data.toString('latin1')
    const firstEnd = text.indexOf('\r\n\r\n') + 4
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/)
    const binary = answer.data.subarray(firstEnd)
    const got = parseGetBulk(binary.subarray(0, 5 + 18 + 5 + 4))
    assert.deepEqual(
      got.records.map((record) => [record.key, record.value.toString()]),
      [['mixed', 'both']],
    )
    const rest = binary.subarray(5 + 18 + 5 + 4)
    assert.match(rest.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n/)
    assert.ok(
      rest
        .subarray(0, rest.length - 5)
        .toString('latin1')
        .endsWith('\r\n\r\nagain\t1\n'),
      rest.toString('latin1'),
    )
    assert.deepEqual(rest.subarray(rest.length - 5), Buffer.concat([Buffer.of(0xb8), u32(1)]))
    assert.equal(answer.closed, false)
  })
})

// The server must hold out against clients that send much and read little. These tests use a
// server each, so that their memory measures only themselves.
describe('resources', () => {
  it('a binary frame of 0xFFFFFFFF empty records does not grow the server without bound', async () => {
    const {server: victim, port: victimPort} = await startKt(['#dbm=baby'])
    try {
      const before = rssMB(victim.child.pid!)
      const socket = net.connect(victimPort, '127.0.0.1')
      socket.on('error', () => undefined)
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(Buffer.concat([Buffer.of(0xb9), u32(0), u32(0xffffffff)]))
      // remove_bulk records: dbidx 0, ksiz 0, no key. 6 MB of them.
      const block = Buffer.alloc(6 * 10922)
      for (let sent = 0; sent < 6 << 20 && !socket.destroyed; sent += block.length) {
        if (!socket.write(block)) await drained(socket)
      }
      await sleep(500)
      const grown = rssMB(victim.child.pid!) - before
      socket.destroy()
      assert.ok(grown < 100, `the server grew by ${grown.toFixed(0)} MB for 6 MB sent`)
    } finally {
      await victim.stop('SIGKILL')
    }
  })

  it('a client that never reads its answers does not make the server buffer them all', async () => {
    const {server: victim, port: victimPort} = await startKt(['#dbm=baby'])
    try {
      const http = await Http.open(victimPort)
      assert.equal((await http.request('PUT', '/big', {}, Buffer.alloc(1 << 20, 0x62))).status, 201)
      http.close()
      const before = rssMB(victim.child.pid!)
      // 300 requests of 20 bytes ask for 300 MB of answers.
      const greedy = net.connect(victimPort, '127.0.0.1', () => greedy.write('GET /big HTTP/1.1\r\n\r\n'.repeat(300)))
      greedy.on('error', () => undefined)
      greedy.pause()
      await sleep(1500)
      const grown = rssMB(victim.child.pid!) - before
      greedy.destroy()
      assert.ok(grown < 150, `the server grew by ${grown.toFixed(0)} MB`)
    } finally {
      await victim.stop('SIGKILL')
    }
  })

  it('a client that goes on sending after its connection was failed is not buffered', async () => {
    const {server: victim, port: victimPort} = await startKt(['#dbm=baby'])
    try {
      const before = rssMB(victim.child.pid!)
      const socket = net.connect({port: victimPort, host: '127.0.0.1', allowHalfOpen: true})
      socket.on('error', () => undefined)
      let answer = ''
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')))
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(`GET / HTTP/1.1\r\nX: ${'a'.repeat(20000)}`)
      const block = Buffer.alloc(1 << 16, 0x61)
      const deadline = Date.now() + 4000
      for (let sent = 0; sent < 24 << 20 && !socket.destroyed && Date.now() < deadline; sent += block.length) {
        if (!socket.write(block)) await drained(socket)
      }
      await sleep(300)
      const grown = rssMB(victim.child.pid!) - before
      socket.destroy()
      assert.match(answer, /^HTTP\/1\.1 431 /)
      assert.ok(grown < 12, `the server grew by ${grown.toFixed(0)} MB`)
    } finally {
      await victim.stop('SIGKILL')
    }
  })

  it('a TSV body of 600 KB of empty lines is parsed in linear time', async () => {
    const started = Date.now()
    const answer = await post(main, 'echo', TSV, '\n'.repeat(600_000))
    const took = Date.now() - started
    assert.equal(answer.status, 200)
    assert.ok(took < 500, `took ${took} ms`)
  })

  it('a 24 MB PUT body is taken in linear time', async () => {
    const http = await Http.open(port)
    try {
      const started = Date.now()
      const put = await http.request('PUT', '/big-body', {}, Buffer.alloc(24 << 20, 0x63))
      const took = Date.now() - started
      assert.equal(put.status, 201)
      assert.equal((await http.request('HEAD', '/big-body')).headers.get('content-length'), String(24 << 20))
      await http.request('DELETE', '/big-body')
      assert.ok(took < 1000, `took ${took} ms`)
    } finally {
      http.close()
    }
  })
})

describe('metrics', () => {
  it('GET /metrics counts calls by protocol and operation, with durations, failures and records', async () => {
    const {port: metricsPort} = await startKt(['#dbm=tiny'])
    const http = await Http.open(metricsPort)
    try {
      for (let i = 0; i < 3; i++) assert.equal((await rpc(http, 'set', {key: `m${i}`, value: 'v'})).status, 200)
      assert.equal((await rpc(http, 'get', {key: 'missing'})).status, 450)
      assert.equal((await http.request('GET', '/m0')).status, 200)
      const reply = await http.request('GET', '/metrics')
      assert.equal(reply.status, 200)
      assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/)
      const text = reply.body.toString('utf8')
      const value = (series: string): number => {
        const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `))
        assert.ok(line, `no ${series} in\n${text}`)
        return Number(line.slice(series.length + 1))
      }
      assert.match(text, /^# TYPE kv_call_duration_seconds histogram$/m)
      for (const [labels, calls] of [
        ['protocol="kt_rpc",operation="set"', 3],
        ['protocol="kt_rpc",operation="get"', 1],
        ['protocol="kt_rest",operation="GET"', 1],
      ] as const) {
        assert.equal(value(`kv_call_duration_seconds_count{${labels}}`), calls, labels)
        assert.equal(value(`kv_call_duration_seconds_bucket{le="+Inf",${labels}}`), calls, labels)
        assert.ok(value(`kv_call_duration_seconds_sum{${labels}}`) > 0, labels)
        // Buckets are cumulative: they never go down, and the last bound holds every call here.
        let previous = 0
        for (const bound of ['0.0001', '0.001', '0.01', '0.1', '1', '10']) {
          const count = value(`kv_call_duration_seconds_bucket{le="${bound}",${labels}}`)
          assert.ok(count >= previous, `${labels} le=${bound}`)
          previous = count
        }
        assert.equal(previous, calls, labels)
      }
      // A missing record is a logical failure of the call, not a server error: no failure counted.
      assert.doesNotMatch(text, /kv_call_failures_total\{[^}]*operation="get"/)
      assert.equal(value('kv_database_records{index="0"}'), 3)
    } finally {
      http.close()
    }
  })
})
