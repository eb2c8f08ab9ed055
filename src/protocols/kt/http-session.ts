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
  /** Header names in lower case; a repeated header keeps its last value. */
  headers: Map<string, string>
  body: Buffer
}

export interface HttpResponse {
  status: number
  headers?: [string, string | number][]
  body?: Buffer
}

/** Serves one request; a promise when the answer waits (the connection reads nothing more meanwhile). */
export type HttpHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>

const MAX_HEAD = 16 << 10

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

  private write(response: HttpResponse, keepAlive: boolean, headOnly = false): void {
    const body = response.body ?? Buffer.alloc(0)
    let head = `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? 'Unknown'}\r\nServer: ${this.serverName}\r\nDate: ${httpDate()}\r\n`
    for (const [name, value] of response.headers ?? []) head += `${name}: ${value}\r\n`
    // A HEAD answer tells the length of the body it leaves out.
    head += `Content-Length: ${body.length}\r\n`
    if (!keepAlive) head += 'Connection: close\r\n'
    head += '\r\n'
    const data = headOnly || body.length === 0 ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body])
    this.connection.write(data)
  }

  /** Reads a request line and headers; false when they have not all arrived. */
  private readHead(): boolean {
    // Blank lines between requests are allowed.
    let start = 0
    while (start < this.input.length && (this.input[start] === 0x0d || this.input[start] === 0x0a)) start++
    if (start > 0) this.input = this.input.subarray(start)
    if (this.input.length === 0) return false
    let end = this.input.indexOf('\r\n\r\n')
    let separator = 4
    if (end < 0) {
      end = this.input.indexOf('\n\n')
      separator = 2
    }
    if (end < 0 || end > MAX_HEAD) {
      if (this.input.length > MAX_HEAD || end > MAX_HEAD) this.fail(431, `the request line and headers are longer than ${MAX_HEAD} bytes`)
      return false
    }
    const lines = this.input.subarray(0, end).toString('latin1').split(/\r?\n/)
    this.input = this.input.subarray(end + separator)
    const requestLine = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0])
    if (!requestLine) {
      this.fail(400, 'not an HTTP/1.x request')
      return false
    }
    const headers = new Map<string, string>()
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':')
      if (colon <= 0) {
        this.fail(400, 'a malformed header')
        return false
      }
      headers.set(lines[i].slice(0, colon).trim().toLowerCase(), lines[i].slice(colon + 1).trim())
    }
    const version = requestLine[3] === '0' ? 10 : 11
    const connection = (headers.get('connection') ?? '').toLowerCase()
    const keepAlive = version === 11 ? !connection.includes('close') : connection.includes('keep-alive')
    const chunked = (headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')
    const lengthText = headers.get('content-length')
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
    if ((headers.get('expect') ?? '').toLowerCase() === '100-continue' && length !== 0) this.connection.write('HTTP/1.1 100 Continue\r\n\r\n')
    this.pending = {
      request: {method: requestLine[1], target: requestLine[2], version, headers, body: Buffer.alloc(0)},
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
