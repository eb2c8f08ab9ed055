import type {KtConnection, ProtocolReader} from './connection.js'

/**
 * HTTP/1.0 and 1.1 on one connection, as Kyoto Tycoon's clients speak it: requests read in
 * order (pipelined or not), bodies by Content-Length or chunked, keep-alive by the version's
 * rule and the Connection header, `Expect: 100-continue` answered. Written for small
 * requests answered at once: no per-request objects beyond the request itself.
 *
 * Limits: a request line and headers of at most 16 KiB together, a body of at most the
 * given size. Past either, the request gets 431 or 413 and the connection is closed; a
 * request that is not HTTP gets 400 and the same.
 */
export interface HttpRequest {
  method: string
  /** The request target as sent: path and query, still URL-encoded. */
  target: string
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version: number
  /** A header's value, trimmed, by its name in lower case; a repeated header gives its last value. */
  header(name: string): string | undefined
  body: Buffer
}

/**
 * A request read from its head: headers are looked up in the head's text when asked for
 * (a TSV-RPC call asks for one or two), not split into a map for every request.
 */
class ReadRequest implements HttpRequest {
  body: Buffer = EMPTY
  private lowerHead: string | undefined

  constructor(
    readonly method: string,
    readonly target: string,
    readonly version: number,
    /** The request line and header lines as latin1 text, without the blank line that ends them. */
    private readonly head: string,
  ) {}

  header(name: string): string | undefined {
    // Lower case keeps a latin1 text's length, so positions found in it hold in the original.
    const lower = (this.lowerHead ??= this.head.toLowerCase())
    const at = lower.lastIndexOf(`\n${name}:`)
    if (at < 0) return undefined
    const from = at + name.length + 2
    const end = lower.indexOf('\n', from)
    return this.head.slice(from, end < 0 ? undefined : end).trim()
  }
}

export interface HttpResponse {
  status: number
  headers?: [string, string | number][]
  body?: Buffer
}

/** Serves one request; a promise when the answer waits (the connection reads nothing more meanwhile). */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>

const MAX_HEAD = 16 << 10
const EMPTY = Buffer.alloc(0)

/**
 * Where a request's head ends (before the line break that precedes the blank line) and its
 * body starts (after the blank line); bodyStart is -1 while no blank line has arrived.
 * Lines end in CRLF or LF. Only the first MAX_HEAD bytes and a little more are looked at.
 */
function findHeadEnd(input: Buffer): {headEnd: number; bodyStart: number} {
  const limit = Math.min(input.length, MAX_HEAD + 4)
  for (let i = input.indexOf(0x0a); i >= 0 && i < limit; i = input.indexOf(0x0a, i + 1)) {
    const headEnd = i > 0 && input[i - 1] === 0x0d ? i - 1 : i
    if (input[i + 1] === 0x0a) return {headEnd, bodyStart: i + 2}
    if (input[i + 1] === 0x0d && input[i + 2] === 0x0a) return {headEnd, bodyStart: i + 3}
    if (i + 2 >= input.length) break
  }
  return {headEnd: input.length > MAX_HEAD ? MAX_HEAD + 1 : -1, bodyStart: -1}
}

/** METHOD TARGET HTTP/1.x: an upper-case method, a target without spaces, version 1.0 or 1.1; undefined when the line is not that. */
function parseRequestLine(line: string): {method: string; target: string; version: number} | undefined {
  const space = line.indexOf(' ')
  const last = line.lastIndexOf(' ')
  if (space <= 0 || last <= space + 1 || last !== line.length - 9 || !line.startsWith('HTTP/1.', last + 1)) return undefined
  const minor = line.charCodeAt(line.length - 1)
  if (minor !== 0x30 && minor !== 0x31) return undefined
  for (let i = 0; i < space; i++) {
    const code = line.charCodeAt(i)
    if (code < 0x41 || code > 0x5a) return undefined
  }
  const target = line.slice(space + 1, last)
  if (/\s/.test(target)) return undefined
  return {method: line.slice(0, space), target, version: minor === 0x30 ? 10 : 11}
}

export const REASONS: {[status: number]: string} = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  404: 'Not Found',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
  450: 'Logical Inconsistency',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
}

/** The Date header, formatted once a second. */
let dateSecond = 0
let dateText = ''
function httpDate(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(now).toUTCString()
  }
  return dateText
}

/** A request whose head has been read and whose body is still arriving. */
interface Pending {
  request: HttpRequest
  keepAlive: boolean
  /** Content-Length, or -1 for a chunked body. */
  length: number
  chunks: Buffer[]
  received: number
  /** In a chunked body: the bytes left of the current chunk (-1 before its size line). */
  chunkLeft: number
  /** Whether the trailer after the last chunk is being read. */
  trailer: boolean
}

export class HttpReader implements ProtocolReader {
  private pending: Pending | undefined

  constructor(
    private readonly connection: KtConnection,
    private readonly handler: HttpHandler,
    private readonly maxBody: number,
    private readonly serverName: string,
  ) {}

  private get input(): Buffer {
    return this.connection.input
  }

  private set input(input: Buffer) {
    this.connection.input = input
  }

  get midRequest(): boolean {
    return this.pending !== undefined
  }

  step(): boolean {
    if (!this.pending && !this.readHead()) return false
    if (!this.pending || !this.readBody(this.pending)) return false
    const {request, keepAlive} = this.pending
    this.pending = undefined
    this.serve(request, keepAlive)
    return true
  }

  /** Fails the connection with a status and closes it once the answer is out. */
  private fail(status: number, message: string): void {
    this.write({status, headers: [['Content-Type', 'text/plain']], body: Buffer.from(`${message}\n`)}, false)
    this.pending = undefined
    this.connection.close()
  }

  /** The answer as one buffer: the head written as latin1, the body copied after it. */
  private write(response: HttpResponse, keepAlive: boolean, headOnly = false): void {
    const body = response.body ?? EMPTY
    let head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? 'Unknown'}\r\nServer: ${this.serverName}\r\nDate: ${httpDate()}\r\n`
    for (const [name, value] of response.headers ?? []) head += `${name}: ${value}\r\n`
    // A HEAD answer tells the length of the body it leaves out.
    head += `Content-Length: ${body.length}\r\n`
    if (!keepAlive) head += 'Connection: close\r\n'
    head += '\r\n'
    const bodySize = headOnly ? 0 : body.length
    const data = Buffer.allocUnsafe(head.length + bodySize)
    data.write(head, 0, 'latin1')
    if (bodySize > 0) body.copy(data, head.length)
    this.connection.write(data)
  }

  /** Reads a request line and headers; false when they have not all arrived. */
  private readHead(): boolean {
    // Blank lines between requests are allowed.
    let start = 0
    while (start < this.input.length && (this.input[start] === 0x0d || this.input[start] === 0x0a)) start++
    if (start > 0) this.input = this.input.subarray(start)
    if (this.input.length === 0) return false
    const input = this.input
    const {headEnd, bodyStart} = findHeadEnd(input)
    if (bodyStart < 0 || headEnd > MAX_HEAD) {
      if (input.length > MAX_HEAD || headEnd > MAX_HEAD) this.fail(431, `the request line and headers are longer than ${MAX_HEAD} bytes`)
      return false
    }
    const head = input.toString('latin1', 0, headEnd)
    this.input = input.subarray(bodyStart)
    const lineEnd = head.indexOf('\n')
    const requestLine = parseRequestLine(lineEnd < 0 ? head : head.slice(0, head.charCodeAt(lineEnd - 1) === 0x0d ? lineEnd - 1 : lineEnd))
    if (!requestLine) {
      this.fail(400, 'not an HTTP/1.x request')
      return false
    }
    // Every header line is a name, a colon right after it, and a value.
    for (let start = lineEnd + 1; lineEnd >= 0 && start <= head.length;) {
      let next = head.indexOf('\n', start)
      if (next < 0) next = head.length
      const colon = head.indexOf(':', start)
      const beforeColon = head.charCodeAt(colon - 1)
      if (colon <= start || colon > next || beforeColon === 0x20 || beforeColon === 0x09) {
        this.fail(400, 'a malformed header')
        return false
      }
      start = next + 1
    }
    const version = requestLine.version
    const request = new ReadRequest(requestLine.method, requestLine.target, version, head)
    const connection = (request.header('connection') ?? '').toLowerCase()
    const keepAlive = version === 11 ? !connection.includes('close') : connection.includes('keep-alive')
    const chunked = (request.header('transfer-encoding') ?? '').toLowerCase().includes('chunked')
    const lengthText = request.header('content-length')
    let length = 0
    if (chunked) length = -1
    else if (lengthText !== undefined) {
      if (!/^\d{1,15}$/.test(lengthText)) {
        this.fail(400, 'a malformed Content-Length')
        return false
      }
      length = Number(lengthText)
      if (length > this.maxBody) {
        this.fail(413, `the request body is larger than ${this.maxBody} bytes`)
        return false
      }
    }
    if ((request.header('expect') ?? '').toLowerCase() === '100-continue' && length !== 0) this.connection.write('HTTP/1.1 100 Continue\r\n\r\n')
    this.pending = {
      request,
      keepAlive,
      length,
      chunks: [],
      received: 0,
      chunkLeft: -1,
      trailer: false,
    }
    return true
  }

  /** Reads what has arrived of a body; true once it is whole. */
  private readBody(pending: Pending): boolean {
    if (pending.length >= 0) {
      if (this.input.length < pending.length) {
        this.connection.need = pending.length
        return false
      }
      pending.request.body = this.input.subarray(0, pending.length)
      this.input = this.input.subarray(pending.length)
      return true
    }
    for (;;) {
      if (pending.trailer) {
        // Trailer lines up to an empty one.
        const end = this.input.indexOf('\n')
        if (end < 0) return this.checkLine()
        const line = this.input.subarray(0, end).toString('latin1').trim()
        this.input = this.input.subarray(end + 1)
        if (line === '') {
          pending.request.body = Buffer.concat(pending.chunks)
          return true
        }
        continue
      }
      if (pending.chunkLeft < 0) {
        const end = this.input.indexOf('\n')
        if (end < 0) return this.checkLine()
        const sizeText = this.input.subarray(0, end).toString('latin1').split(';')[0].trim()
        this.input = this.input.subarray(end + 1)
        if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) {
          this.fail(400, 'a malformed chunk size')
          return false
        }
        const size = Number.parseInt(sizeText, 16)
        if (size === 0) {
          pending.trailer = true
          continue
        }
        if (pending.received + size > this.maxBody) {
          this.fail(413, `the request body is larger than ${this.maxBody} bytes`)
          return false
        }
        pending.chunkLeft = size
      }
      // The chunk's data and its line end.
      if (this.input.length < pending.chunkLeft + 2) {
        this.connection.need = pending.chunkLeft + 2
        return false
      }
      pending.chunks.push(this.input.subarray(0, pending.chunkLeft))
      pending.received += pending.chunkLeft
      if (this.input[pending.chunkLeft] !== 0x0d && this.input[pending.chunkLeft] !== 0x0a) {
        this.fail(400, 'a chunk longer than its size')
        return false
      }
      this.input = this.input.subarray(pending.chunkLeft + (this.input[pending.chunkLeft] === 0x0d ? 2 : 1))
      pending.chunkLeft = -1
    }
  }

  /** A line of a chunked body that does not end within the head limit is junk. */
  private checkLine(): boolean {
    if (this.input.length > MAX_HEAD) this.fail(400, 'a chunk size line is too long')
    return false
  }

  private serve(request: HttpRequest, keepAlive: boolean): void {
    let result: HttpResponse | Promise<HttpResponse>
    try {
      result = this.handler(request)
    } catch (error) {
      result = {status: 500, body: Buffer.from(`ERROR\t${(error as Error).message}\n`)}
    }
    if (!(result instanceof Promise)) return this.finish(request, result, keepAlive)
    this.connection.hold(
      result
        .catch((error: unknown): HttpResponse => ({status: 500, body: Buffer.from(`ERROR\t${(error as Error).message}\n`)}))
        .then((response) => this.finish(request, response, keepAlive)),
    )
  }

  private finish(request: HttpRequest, response: HttpResponse, keepAlive: boolean): void {
    this.write(response, keepAlive, request.method === 'HEAD')
    if (!keepAlive) this.connection.close()
  }
}
