import * as net from 'node:net'
import {Duplex} from 'node:stream'
import * as tls from 'node:tls'
import {CONNECTION_LOST, FRAME_HEADER_SIZE, Http2Connection, type Http2Stream, type StreamHandler} from '../net/http2/connection.js'
import {ErrorCode} from '../net/http2/errors.js'
import {encodeHeaders, type HeaderList} from '../net/http2/hpack.js'
import {formatTimeout, GrpcStatus, percentDecode} from '../protocols/grpc/grpc-status.js'
import {frameMessage, MessageReader} from '../protocols/grpc/message-reader.js'

/** A failed call, in grpc-js's ServiceError shape: a gRPC code and its details. */
export class CallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    /** The server refused the call before processing it: safe to send again. */
    readonly refused = false,
    /** A connection that failed for good: nobody listens there (refused, no socket file, unknown host). */
    readonly final = false,
  ) {
    super(`${code} ${STATUS_NAMES[code] ?? ''}: ${details}`)
  }
}

export const STATUS_NAMES: {[code: number]: string} = Object.fromEntries(Object.entries(GrpcStatus).map(([name, code]) => [code, name]))

interface Codec {
  decode(buf: Buffer): unknown
  encode(message: unknown, prefix?: number): Buffer
}

export interface ChannelOptions {
  /** Mutual TLS: this side's key and certificate, and the root the server's must chain to. */
  tls?: {key: Buffer; cert: Buffer; ca: Buffer}
}

/** Answers as large as the server sends: kv's records have no size limit of their own. */
const MAX_ANSWER = 2 ** 31 - 1

/**
 * A client channel to one gRPC server over kv's own HTTP/2: one connection, opened again
 * on the next call after it drops, with every call multiplexed on it. Unary calls are
 * promises; streaming calls are Duplexes of messages in grpc-js's shape (data, error
 * with a code, end, cancel), so the record, cursor and replication clients stay simple.
 */
export class GrpcChannel {
  private connection: Http2Connection | undefined
  private connecting: Promise<Http2Connection> | undefined
  private readonly headerBlocks = new Map<string, Buffer>()
  private closed = false

  constructor(
    /** host:port, [v6]:port or unix:/path. */
    readonly target: string,
    private readonly options: ChannelOptions = {},
  ) {}

  /** Connects (or reuses the connection) and waits for the server's settings, until `deadline` (ms since the epoch). */
  connect(deadline = Infinity): Promise<Http2Connection> {
    if (this.closed) return Promise.reject(new CallError(GrpcStatus.UNAVAILABLE, 'the channel is closed'))
    if (this.connection && !this.connection.isClosed && this.connection.canRequest) return Promise.resolve(this.connection)
    // A connection that takes no more calls (at its stream limit, or told to go away)
    // finishes the ones it has and closes; the next calls go to a new one.
    this.connection?.shutdown()
    this.connection = undefined
    this.connecting ??= this.open(deadline).finally(() => (this.connecting = undefined))
    return this.connecting
  }

  private open(deadline: number): Promise<Http2Connection> {
    return new Promise((resolve, reject) => {
      const socket = this.dial()
      let settled = false
      const fail = (error: CallError) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        socket.destroy()
        reject(error)
      }
      const wait = deadline - Date.now()
      const timer =
        wait < 2 ** 31 - 1 ? setTimeout(() => fail(new CallError(GrpcStatus.DEADLINE_EXCEEDED, 'no answer before the deadline')), Math.max(0, wait)) : undefined
      socket.once('error', (error: NodeJS.ErrnoException) =>
        fail(new CallError(GrpcStatus.UNAVAILABLE, describeSocketError(error), false, NOBODY_LISTENS.has(error.code ?? ''))),
      )
      socket.once('close', () =>
        fail(
          new CallError(
            GrpcStatus.UNAVAILABLE,
            'the server accepted the connection but the handshake failed or it closed it (TLS on one side only, a server at its connection limit, or not a gRPC server?)',
          ),
        ),
      )
      const connection: Http2Connection = new Http2Connection(socket, 'client', {
        onReady: () => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          if (this.closed) {
            connection.shutdown()
            reject(new CallError(GrpcStatus.UNAVAILABLE, 'the channel is closed'))
            return
          }
          socket.setNoDelay(true)
          this.connection = connection
          resolve(connection)
        },
        onClose: () => {
          if (this.connection === connection) this.connection = undefined
        },
      })
    })
  }

  private dial(): net.Socket {
    const target = this.target
    if (target.startsWith('unix:')) return net.connect({path: target.slice(5)})
    const colon = target.lastIndexOf(':')
    const host = target.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1'
    const port = Number(target.slice(colon + 1))
    const secure = this.options.tls
    if (secure)
      return tls.connect({host, port, key: secure.key, cert: secure.cert, ca: secure.ca, ALPNProtocols: ['h2'], servername: net.isIP(host) ? undefined : host})
    return net.connect({host, port})
  }

  /** The request headers of a method, encoded once; a deadline adds its timeout. */
  private headersFor(path: string, deadline: number): Buffer {
    let block = this.headerBlocks.get(path)
    if (!block) {
      const authority = this.target.startsWith('unix:') ? 'localhost' : this.target
      block = encodeHeaders([
        ':method',
        'POST',
        ':scheme',
        this.options.tls ? 'https' : 'http',
        ':path',
        path,
        ':authority',
        authority,
        'content-type',
        'application/grpc',
        'te',
        'trailers',
        'user-agent',
        'kv-grpc/1',
      ])
      this.headerBlocks.set(path, block)
    }
    if (deadline === Infinity) return block
    return Buffer.concat([block, encodeHeaders(['grpc-timeout', formatTimeout(deadline - Date.now())])])
  }

  /**
   * One unary call. A call the server refused unprocessed (REFUSED_STREAM, or above the
   * last stream a GOAWAY let through: a connection closing for idleness as the call went
   * out) is sent once more, on a new connection.
   */
  async unary(path: string, request: Codec, response: Codec, message: unknown, deadline = Infinity): Promise<unknown> {
    try {
      return await this.unaryOnce(path, request, response, message, deadline)
    } catch (error) {
      if (!(error instanceof CallError) || !error.refused) throw error
      return this.unaryOnce(path, request, response, message, deadline)
    }
  }

  private async unaryOnce(path: string, request: Codec, response: Codec, message: unknown, deadline: number): Promise<unknown> {
    const connection = await this.connect(deadline)
    const body = frameMessage((prefix) => request.encode(message, prefix), FRAME_HEADER_SIZE)
    return new Promise((resolve, reject) => {
      const call = new ClientCall(response, (error, answers) => {
        if (error) return reject(error)
        if (answers.length !== 1) return reject(new CallError(GrpcStatus.INTERNAL, `a unary call answered with ${answers.length} messages`))
        resolve(answers[0])
      })
      let stream: Http2Stream
      try {
        stream = connection.request(this.headersFor(path, deadline), false, call)
      } catch (error) {
        reject(new CallError(GrpcStatus.UNAVAILABLE, (error as Error).message))
        return
      }
      call.attach(stream, deadline)
      stream.sendData(body, true, true)
    })
  }

  /** A streaming call; `request` set makes it server-streaming (one request, then the answers). */
  stream(path: string, request: Codec, response: Codec, deadline = Infinity, single?: unknown): ClientStream {
    const call = new ClientStream(request, response)
    this.connect(deadline).then(
      (connection) => {
        try {
          call.start(connection.request(this.headersFor(path, deadline), false, call.handler), deadline)
          if (single !== undefined) {
            call.write(single)
            call.end()
          }
        } catch (error) {
          call.failWith(new CallError(GrpcStatus.UNAVAILABLE, (error as Error).message))
        }
      },
      (error: CallError) => call.failWith(error),
    )
    return call
  }

  close(): void {
    this.closed = true
    this.connection?.shutdown()
    this.connection = undefined
  }
}

/** What a call hears back: the status from headers or trailers, and the messages. */
class ClientCall implements StreamHandler {
  private reader = new MessageReader(MAX_ANSWER, undefined)
  private readonly answers: unknown[] = []
  private stream: Http2Stream | undefined
  private timer: NodeJS.Timeout | undefined
  private done = false
  private encoding: string | undefined

  constructor(
    private readonly codec: Codec,
    private readonly finish: (error: CallError | undefined, answers: unknown[]) => void,
    private readonly onMessage?: (message: unknown) => void,
  ) {}

  attach(stream: Http2Stream, deadline: number): void {
    this.stream = stream
    const wait = deadline - Date.now()
    if (deadline !== Infinity && wait < 2 ** 31 - 1) {
      this.timer = setTimeout(
        () => {
          this.stream?.reset()
          this.end(new CallError(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded'))
        },
        Math.max(0, wait),
      )
    }
  }

  onHeaders(headers: HeaderList, endStream: boolean): void {
    let status: string | undefined
    let message = ''
    let httpStatus: string | undefined
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]
      if (name === 'grpc-status') status = headers[i + 1]
      else if (name === 'grpc-message') message = percentDecode(headers[i + 1])
      else if (name === ':status') httpStatus = headers[i + 1]
      else if (name === 'grpc-encoding') this.encoding = headers[i + 1]
    }
    if (this.encoding !== undefined) this.reader = new MessageReader(MAX_ANSWER, this.encoding)
    if (httpStatus !== undefined && httpStatus !== '200' && status === undefined) {
      this.end(new CallError(GrpcStatus.UNKNOWN, `the server answered HTTP status ${httpStatus}`))
      return
    }
    if (status !== undefined) {
      const code = Number(status)
      this.end(code === GrpcStatus.OK ? undefined : new CallError(Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, message))
      return
    }
    if (endStream) this.end(new CallError(GrpcStatus.INTERNAL, 'the call ended without a status'))
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (this.done) return
    try {
      this.reader.push(chunk, (buf) => {
        const message = this.codec.decode(buf)
        if (this.onMessage) this.onMessage(message)
        else this.answers.push(message)
      })
    } catch (error) {
      this.stream?.reset()
      this.end(new CallError(GrpcStatus.INTERNAL, `an answer cannot be decoded: ${(error as Error).message}`))
      return
    }
    if (endStream) this.end(new CallError(GrpcStatus.INTERNAL, 'the call ended without a status'))
    else this.afterData?.(chunk.length)
  }

  onReset(code: number): void {
    if (code === CONNECTION_LOST) this.end(new CallError(GrpcStatus.UNAVAILABLE, 'the connection to the server was lost'))
    else if (code === ErrorCode.REFUSED_STREAM) this.end(new CallError(GrpcStatus.UNAVAILABLE, 'the server refused the call', true))
    else this.end(new CallError(GrpcStatus.CANCELLED, `the server reset the call (HTTP/2 error ${code})`))
  }

  onDrain?: () => void
  /** Told of each DATA payload once its messages are handed on (a stream opens its window by it). */
  afterData?: (bytes: number) => void

  end(error: CallError | undefined): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    this.finish(error, this.answers)
  }
}

/**
 * A streaming call as grpc-js gives one: write requests, read answers as 'data', an
 * 'error' with a code when the status is not OK, 'end' after an OK status.
 */
export class ClientStream extends Duplex {
  readonly handler: ClientCall
  private stream: Http2Stream | undefined
  private pending: [unknown, (error?: Error | null) => void][] = []
  private ending: (() => void) | undefined
  private failed = false
  private waitingDrain: (() => void) | undefined
  private owed = 0
  private readingPaused = false

  constructor(
    private readonly requestCodec: Codec,
    responseCodec: Codec,
  ) {
    super({objectMode: true, allowHalfOpen: true})
    this.handler = new ClientCall(
      responseCodec,
      (error) => {
        if (error) this.failWith(error)
        else this.push(null)
      },
      (message) => {
        if (!this.push(message)) this.readingPaused = true
      },
    )
    this.handler.onDrain = () => {
      const proceed = this.waitingDrain
      this.waitingDrain = undefined
      proceed?.()
    }
  }

  start(stream: Http2Stream, deadline: number): void {
    this.stream = stream
    if (this.failed) {
      stream.reset()
      return
    }
    // Answers are taken as the reader reads them: the window opens no faster.
    stream.manualFlowControl = true
    this.handler.afterData = (bytes) => {
      this.owed += bytes
      if (!this.readingPaused) this.repay()
    }
    this.handler.attach(stream, deadline)
    for (const [message, callback] of this.pending.splice(0)) this._write(message, 'utf8', callback)
    if (this.ending) this._final(this.ending)
  }

  /** Ends the call with this error, as grpc-js would: an 'error' event with the code. */
  failWith(error: CallError): void {
    if (this.failed) return
    this.failed = true
    this.handler.end(undefined)
    if (this.stream?.open) this.stream.reset()
    const waiting = this.waitingDrain
    this.waitingDrain = undefined
    waiting?.()
    this.emit('error', error)
    this.push(null)
  }

  /** Abandons the call (RST_STREAM); grpc-js reports it as CANCELLED. */
  cancel(): void {
    this.stream?.reset()
    this.failWith(new CallError(GrpcStatus.CANCELLED, 'Cancelled on client'))
  }

  override _read(): void {
    if (this.readingPaused) {
      this.readingPaused = false
      this.repay()
    }
  }

  private repay(): void {
    if (this.owed > 0 && this.stream) {
      this.stream.consume(this.owed)
      this.owed = 0
    }
  }

  override _write(message: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failed) return callback()
    if (!this.stream) {
      this.pending.push([message, callback])
      return
    }
    this.stream.sendData(
      frameMessage((prefix) => this.requestCodec.encode(message, prefix), FRAME_HEADER_SIZE),
      false,
      true,
    )
    if (this.stream.queuedBytes > 1 << 20) this.waitingDrain = () => callback()
    else callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.stream) {
      this.ending = callback
      return
    }
    if (!this.failed) this.stream.sendData(Buffer.alloc(0), true)
    callback()
  }
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running?)'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host'
    case 'ENOENT':
      return 'no such socket file'
    default:
      return error.message
  }
}

/** Socket errors that mean nobody listens at the address: waiting longer will not help. */
const NOBODY_LISTENS = new Set(['ECONNREFUSED', 'ENOENT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
