import {EventEmitter} from 'node:events'
import {Duplex} from 'node:stream'
import {Metadata} from '@grpc/grpc-js'
import {FRAME_HEADER_SIZE, type Http2Stream, type StreamHandler} from '../../net/http2/connection.js'
import {ErrorCode} from '../../net/http2/errors.js'
import type {HeaderList} from '../../net/http2/hpack.js'
import {GrpcStatus, OK_TRAILERS, RESPONSE_HEADERS, statusTrailers, type StatusLike} from './grpc-status.js'
import {CallFailure, frameMessage, MessageReader} from './message-reader.js'
import {ProtobufError} from './protobuf.js'

/** How a method's server reads its requests and writes its answers. */
export interface MethodCodec {
  decodeRequest(buf: Buffer): unknown
  /** An answer with `prefix` bytes free at its front. */
  encodeResponse(value: unknown, prefix: number): Buffer
}

/** What every call knows of its stream. */
export interface CallContext {
  stream: Http2Stream
  headers: HeaderList
  peer: string
  /** Milliseconds since the epoch; Infinity without a deadline. */
  deadline: number
  encoding: string | undefined
  maxMessageLength: number
}

/** A stream queue beyond which a streaming call's writes wait (its client is not reading). */
const STREAM_QUEUE_LIMIT = 1 << 20

/** A failure as handlers give it, as a code and a message. */
function statusOf(error: StatusLike | null | undefined): [number, string] {
  const code = typeof error?.code === 'number' && error.code >= 0 && error.code <= 16 ? error.code : GrpcStatus.UNKNOWN
  return [code, error?.details ?? error?.message ?? 'unknown error']
}

function metadataOf(headers: HeaderList): Metadata {
  const metadata = new Metadata()
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]
    if (name.startsWith(':') || name === 'content-type' || name === 'te' || name.startsWith('grpc-')) continue
    if (name.endsWith('-bin')) metadata.add(name, Buffer.from(headers[i + 1], 'base64'))
    else metadata.add(name, headers[i + 1])
  }
  return metadata
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Constructor = new (...args: any[]) => object

/**
 * What grpc-js's calls tell handlers about themselves (metadata, peer, deadline, path),
 * for both kinds of call here: a unary call is an EventEmitter, a streaming one a Duplex.
 */
function withCallInfo<Base extends Constructor>(base: Base) {
  return class extends base {
    declare readonly context: CallContext

    get metadata(): Metadata {
      return metadataOf(this.context.headers)
    }

    getPeer(): string {
      return this.context.peer
    }

    getDeadline(): number {
      return this.context.deadline
    }

    getPath(): string {
      return this.context.headers[this.context.headers.indexOf(':path') + 1]
    }

    sendMetadata(): void {}
  }
}

/** Sends the answer headers once, then a message framed in place. */
function sendMessage(context: CallContext, codec: MethodCodec, value: unknown, headersSent: boolean): void {
  const stream = context.stream
  if (!headersSent) stream.sendHeaders(RESPONSE_HEADERS)
  stream.sendData(
    frameMessage((prefix) => codec.encodeResponse(value, prefix), FRAME_HEADER_SIZE),
    false,
    true,
  )
}

/**
 * A unary or server-streaming call before its one request is whole: gathers it, then
 * hands it on. Also the unary call itself, in the shape grpc-js gives handlers.
 */
export class UnaryCall extends withCallInfo(EventEmitter) implements StreamHandler {
  request: unknown
  cancelled = false
  private reader: MessageReader | undefined
  private message: Buffer | undefined
  private messages = 0
  private done = false
  private timer: NodeJS.Timeout | undefined

  constructor(
    override readonly context: CallContext,
    private readonly codec: MethodCodec,
    /** Runs the handler once the request is read. */
    private readonly start: (call: UnaryCall) => void,
  ) {
    super()
    this.timer = deadlineTimer(context.deadline, () => this.expire())
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (this.done) return
    try {
      this.reader ??= new MessageReader(this.context.maxMessageLength, this.context.encoding, this.context.stream.connection)
      this.reader.push(chunk, (message) => {
        this.message = message
        this.messages++
      })
    } catch (error) {
      this.fail(error)
      return
    }
    if (endStream) this.onEnd()
  }

  onHeaders(_headers: HeaderList, endStream: boolean): void {
    if (endStream) this.onEnd()
  }

  onReset(): void {
    this.cancel()
  }

  private onEnd(): void {
    if (this.done) return
    if (this.messages !== 1 || this.reader?.partial) {
      this.finish(GrpcStatus.UNIMPLEMENTED, this.messages === 0 ? 'a unary call without its request' : 'a unary call with more than one request')
      return
    }
    try {
      this.request = this.codec.decodeRequest(this.message!)
    } catch (error) {
      this.fail(error)
      return
    }
    this.message = undefined
    this.start(this)
  }

  /** grpc-js's callback: an error, or the answer. */
  readonly callback = (error: StatusLike | null | undefined, value?: unknown): void => {
    if (this.done) return
    if (error) {
      const [code, message] = statusOf(error)
      this.finish(code, message)
      return
    }
    let frame: Buffer
    try {
      frame = frameMessage((prefix) => this.codec.encodeResponse(value, prefix), FRAME_HEADER_SIZE)
    } catch (failure) {
      this.finish(GrpcStatus.INTERNAL, `the answer cannot be encoded: ${(failure as Error).message}`)
      return
    }
    this.done = true
    clearTimeout(this.timer)
    const stream = this.context.stream
    stream.sendHeaders(RESPONSE_HEADERS)
    stream.sendData(frame, false, true)
    stream.sendTrailers(OK_TRAILERS)
  }

  /** The request is read and a streaming call takes over the stream: this one is done. */
  handOff(): void {
    this.done = true
    clearTimeout(this.timer)
    this.reader?.release()
  }

  private fail(error: unknown): void {
    if (error instanceof CallFailure) this.finish(error.code, error.message)
    else if (error instanceof ProtobufError) this.finish(GrpcStatus.INTERNAL, `the request cannot be decoded: ${error.message}`)
    else this.finish(GrpcStatus.INTERNAL, (error as Error).message)
  }

  /** Ends the call with a status and no answer. */
  finish(code: number, message: string): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    this.reader?.release()
    this.context.stream.sendHeaders(statusTrailers(code, message, true), true)
    // The answer is complete; the rest of the request is of no use (RFC 9113, 8.1).
    if (!this.context.stream.remoteClosed) this.context.stream.reset(ErrorCode.NO_ERROR)
  }

  private expire(): void {
    this.finish(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')
    this.cancel()
  }

  private cancel(): void {
    this.done = true
    clearTimeout(this.timer)
    this.reader?.release()
    if (this.cancelled) return
    this.cancelled = true
    this.emit('cancelled')
  }
}

/**
 * A streaming call, in the shape grpc-js gives handlers: a Duplex of decoded requests
 * and answers. Emitting 'error' with a status ends the call with it; end() ends it with
 * OK. Requests are read only as fast as the handler takes them, and writes wait while
 * the stream's client is not reading its answers.
 */
export class StreamCall extends withCallInfo(Duplex) implements StreamHandler {
  request: unknown
  cancelled = false
  private readonly reader: MessageReader
  private headersSent = false
  private done = false
  private owed = 0
  private readingPaused = false
  private waitingWrite: (() => void) | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    override readonly context: CallContext,
    private readonly codec: MethodCodec,
  ) {
    super({objectMode: true, readableHighWaterMark: 16, writableHighWaterMark: 16, allowHalfOpen: true})
    this.reader = new MessageReader(context.maxMessageLength, context.encoding, context.stream.connection)
    context.stream.manualFlowControl = true
    this.timer = deadlineTimer(context.deadline, () => {
      this.finish(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded')
      this.cancel()
    })
    this.on('error', (error: StatusLike) => {
      const [code, message] = statusOf(error)
      this.finish(code, message)
    })
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (this.done) return
    try {
      this.reader.push(chunk, (message) => {
        if (!this.push(this.codec.decodeRequest(message))) this.readingPaused = true
      })
    } catch (error) {
      const failure = error instanceof CallFailure ? error : new CallFailure(GrpcStatus.INTERNAL, `a request cannot be decoded: ${(error as Error).message}`)
      this.finish(failure.code, failure.message)
      this.cancel()
      return
    }
    // The window opens again only as the handler takes the requests.
    this.owed += chunk.length
    if (!this.readingPaused) this.repay()
    if (endStream) this.push(null)
  }

  onHeaders(_headers: HeaderList, endStream: boolean): void {
    if (endStream) this.push(null)
  }

  onReset(): void {
    this.cancel()
  }

  onDrain(): void {
    if (this.waitingWrite && this.context.stream.queuedBytes <= STREAM_QUEUE_LIMIT) {
      const proceed = this.waitingWrite
      this.waitingWrite = undefined
      proceed()
    }
  }

  override _read(): void {
    if (this.readingPaused) {
      this.readingPaused = false
      this.repay()
    }
  }

  private repay(): void {
    if (this.owed > 0) {
      this.context.stream.consume(this.owed)
      this.owed = 0
    }
  }

  override _write(value: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.done) {
      callback()
      return
    }
    try {
      sendMessage(this.context, this.codec, value, this.headersSent)
    } catch (error) {
      this.finish(GrpcStatus.INTERNAL, `an answer cannot be encoded: ${(error as Error).message}`)
      callback()
      return
    }
    this.headersSent = true
    if (this.context.stream.queuedBytes > STREAM_QUEUE_LIMIT) this.waitingWrite = () => callback()
    else callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish(GrpcStatus.OK, '')
    callback()
  }

  /** Ends the call with a status (OK after the answers, or a failure). */
  finish(code: number, message: string): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    this.reader.release()
    const stream = this.context.stream
    if (code === GrpcStatus.OK && this.headersSent) stream.sendTrailers(OK_TRAILERS)
    else if (this.headersSent) stream.sendTrailers(statusTrailers(code, message, false))
    else stream.sendHeaders(statusTrailers(code, message, true), true)
    // A failure ends the request side too, once the status is out: answers still waiting
    // for window go first, with the trailers behind them.
    if (!stream.remoteClosed && code !== GrpcStatus.OK && stream.queuedBytes === 0) stream.reset(ErrorCode.NO_ERROR)
    const waiting = this.waitingWrite
    this.waitingWrite = undefined
    waiting?.()
  }

  private cancel(): void {
    this.done = true
    clearTimeout(this.timer)
    this.reader.release()
    const waiting = this.waitingWrite
    this.waitingWrite = undefined
    waiting?.()
    if (this.cancelled) return
    this.cancelled = true
    this.emit('cancelled')
  }
}

/** A timer for a deadline close enough to need one (Node's timers reach 2^31-1 ms). */
function deadlineTimer(deadline: number, expire: () => void): NodeJS.Timeout | undefined {
  if (deadline === Infinity) return undefined
  const wait = deadline - Date.now()
  if (wait > 2 ** 31 - 1) return undefined
  return setTimeout(expire, Math.max(0, wait))
}
