import assert from 'node:assert/strict'
import * as http2 from 'node:http2'
import * as net from 'node:net'
import {after, describe, it} from 'node:test'
import {ErrorCode} from '../../src/net/http2/errors.js'
import {Http2Connection, type Http2Stream} from '../../src/net/http2/connection.js'
import {encodeHeaders, HpackDecoder, type HeaderList} from '../../src/net/http2/hpack.js'
import {huffmanDecode, huffmanEncode} from '../../src/net/http2/huffman.js'
import {makeRandom} from '../../src/perf/local.js'

// kv's HTTP/2 against Node's own (nghttp2): Huffman strings, the static and dynamic
// tables, flow control in both directions, and the connection errors.

const closers: (() => void)[] = []
after(() => closers.forEach((close) => close()))

/** A server on kv's HTTP/2 that answers each stream with its request headers as JSON, and echoes its body. */
async function kvServer(onStream?: (stream: Http2Stream, headers: HeaderList, endStream: boolean) => void): Promise<number> {
  const server = net.createServer((socket) => {
    new Http2Connection(socket, 'server', {
      onStream: (stream, headers, endStream) => {
        if (onStream) return onStream(stream, headers, endStream)
        const body: Buffer[] = []
        const answer = () => {
          stream.sendHeaders(encodeHeaders([':status', '200', 'x-headers', Buffer.from(JSON.stringify(headers)).toString('base64')]))
          stream.sendData(Buffer.concat(body), true)
        }
        stream.handler = {
          onHeaders: (_h, end) => end && answer(),
          onData: (chunk, end) => {
            body.push(Buffer.from(chunk))
            if (end) answer()
          },
          onReset: () => {},
        }
        if (endStream) answer()
      },
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => server.close())
  return (server.address() as net.AddressInfo).port
}

function nodeRequest(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<{headers: http2.IncomingHttpHeaders; body: Buffer}> {
  return new Promise((resolve, reject) => {
    const request = session.request({':method': 'POST', ...headers}, {endStream: body === undefined})
    const chunks: Buffer[] = []
    let answered: http2.IncomingHttpHeaders = {}
    request.on('response', (h) => (answered = h))
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => resolve({headers: answered, body: Buffer.concat(chunks)}))
    request.on('error', reject)
    if (body !== undefined) request.end(body)
  })
}

describe('HTTP/2', () => {
  it('Huffman-codes every byte and decodes what it codes', () => {
    const random = makeRandom(7)
    for (let round = 0; round < 500; round++) {
      const text = Array.from({length: Math.floor(random() * 40)}, () => String.fromCharCode(Math.floor(random() * 256))).join('')
      const coded = huffmanEncode(text)
      assert.equal(huffmanDecode(coded, 0, coded.length), text)
    }
    // Known codes: "www.example.com" from the HPACK specification's examples.
    assert.equal(huffmanEncode('www.example.com').toString('hex'), 'f1e3c2e5f23a6ba0ab90f4ff')
    assert.throws(() => huffmanDecode(Buffer.from([0x00]), 0, 1), /padding/)
  })

  it("reads nghttp2's header blocks: Huffman strings, the dynamic table and its evictions", async () => {
    const port = await kvServer()
    const session = http2.connect(`http://127.0.0.1:${port}`)
    closers.push(() => session.close())
    const random = makeRandom(11)
    for (let round = 0; round < 200; round++) {
      const headers: http2.OutgoingHttpHeaders = {':path': `/p/${round % 7}`}
      // Values that repeat (table hits), grow (evictions) and cover printable bytes (Huffman).
      for (let i = 0; i < 1 + (round % 5); i++) {
        headers[`x-h${i}-${round % 3}`] = Array.from({length: Math.floor(random() * (round % 10 === 0 ? 3000 : 60))}, () =>
          String.fromCharCode(0x20 + Math.floor(random() * 95)),
        ).join('')
      }
      const {headers: answered, body} = await nodeRequest(session, headers, Buffer.from(`body ${round}`))
      const seen: string[] = JSON.parse(Buffer.from(String(answered['x-headers']), 'base64').toString())
      const map = new Map<string, string>()
      for (let i = 0; i < seen.length; i += 2) map.set(seen[i], seen[i + 1])
      for (const [name, value] of Object.entries(headers)) assert.equal(map.get(name), value, `${name} in round ${round}`)
      assert.equal(map.get(':method'), 'POST')
      assert.equal(body.toString(), `body ${round}`)
    }
  })

  it('writes blocks nghttp2 reads: every static table entry by index and by name', async () => {
    // kv's encoder refers to the static table; Node's server decodes the result.
    const server = http2.createServer()
    const seen: http2.IncomingHttpHeaders[] = []
    server.on('stream', (stream, headers) => {
      seen.push(headers)
      stream.respond({':status': 200}, {endStream: true})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    closers.push(() => server.close())
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const done: Promise<void>[] = []
    const connection = new Http2Connection(socket, 'client', {})
    const request = (headers: HeaderList) =>
      done.push(
        new Promise<void>((resolve) => {
          connection.request(encodeHeaders(headers), true, {
            onHeaders: (_h, end) => end && resolve(),
            onData: (_c, end) => end && resolve(),
            onReset: () => resolve(),
          })
        }),
      )
    const names = [
      'accept-charset',
      'accept-encoding',
      'accept-language',
      'accept-ranges',
      'accept',
      'access-control-allow-origin',
      'age',
      'allow',
      'authorization',
    ]
    const more = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-range']
    const rest = ['content-type', 'cookie', 'date', 'etag', 'expect', 'expires', 'from', 'if-match', 'if-modified-since', 'if-none-match', 'if-range']
    const last = ['if-unmodified-since', 'last-modified', 'link', 'location', 'max-forwards', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer']
    const tail = ['refresh', 'retry-after', 'server', 'set-cookie', 'strict-transport-security', 'user-agent', 'vary', 'via', 'www-authenticate']
    const all = [...names, ...more, ...rest, ...last, ...tail]
    // Node checks content-length as a number.
    const valueFor = (name: string) => (name === 'content-length' ? '0' : `v-${name}`)
    const base = [':method', 'POST', ':scheme', 'https', ':authority', 'example', ':path', '/index.html']
    request([...base, ...all.flatMap((name) => [name, valueFor(name)])])
    request([':method', 'GET', ':scheme', 'http', ':authority', 'example', ':path', '/', 'accept-encoding', 'gzip, deflate'])
    await Promise.all(done)
    connection.shutdown()
    assert.equal(seen.length, 2)
    assert.equal(seen[0][':method'], 'POST')
    assert.equal(seen[0][':scheme'], 'https')
    assert.equal(seen[0][':path'], '/index.html')
    for (const name of all) {
      // Node folds a few headers (set-cookie into an array; some single-valued ones it keeps as they are).
      const value = seen[0][name]
      assert.equal(Array.isArray(value) ? value[0] : value, valueFor(name), name)
    }
    assert.equal(seen[1][':method'], 'GET')
    assert.equal(seen[1][':path'], '/')
    assert.equal(seen[1]['accept-encoding'], 'gzip, deflate')
  })

  it('keeps to flow control both ways: 5 MB each way through 64 KiB windows', async () => {
    const port = await kvServer()
    const session = http2.connect(`http://127.0.0.1:${port}`, {settings: {initialWindowSize: 65535}})
    closers.push(() => session.close())
    const big = Buffer.alloc(5 << 20)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff
    const {body} = await nodeRequest(session, {':path': '/big'}, big)
    assert.ok(body.equals(big))
  })

  it('refuses a connection that does not speak HTTP/2, and a frame beyond the size it allows', async () => {
    const port = await kvServer()
    const junk = net.connect(port, '127.0.0.1')
    junk.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const answered = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = []
      junk.on('data', (chunk) => chunks.push(chunk))
      junk.on('close', () => resolve(Buffer.concat(chunks)))
    })
    // SETTINGS first, then GOAWAY with PROTOCOL_ERROR.
    assert.ok(answered.includes(Buffer.from([0, 0, 0, 0, ErrorCode.PROTOCOL_ERROR])), answered.toString('hex'))

    const big = net.connect(port, '127.0.0.1')
    const frame = Buffer.alloc(9 + 20000)
    frame.writeUIntBE(20000, 0, 3)
    frame[3] = 0
    frame.writeUInt32BE(1, 5)
    big.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]), frame]))
    const goaway = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = []
      big.on('data', (chunk) => chunks.push(chunk))
      big.on('close', () => resolve(Buffer.concat(chunks)))
    })
    assert.ok(goaway.includes(Buffer.from([0, 0, 0, ErrorCode.FRAME_SIZE_ERROR])), goaway.toString('hex'))
  })

  it('refuses header blocks that refer past the table or grow beyond the list size', () => {
    const decoder = new HpackDecoder(4096, 1000)
    assert.throws(() => decoder.decode(Buffer.from([0xff, 0x00])), /no header table entry/)
    // A literal added to the table, then referred to 40 times: 40 x 60 bytes > 1000.
    const name = 'x'.repeat(20)
    const literal = Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([8]), Buffer.from('12345678')])
    assert.deepEqual(decoder.decode(literal), [name, '12345678'])
    assert.throws(() => decoder.decode(Buffer.alloc(40, 0xbe)), /larger than 1000/)
    assert.throws(() => new HpackDecoder().decode(Buffer.from([0x3f, 0xff, 0xff, 0xff, 0x7f])), /integer too large|beyond/)
  })
})
