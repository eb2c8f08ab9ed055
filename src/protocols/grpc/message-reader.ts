import * as zlib from 'node:zlib'
import {GrpcStatus} from './grpc-status.js'

/** A call that must end with this status (a message too large, undecodable, compressed unknowingly). */
export class CallFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

/**
 * Cuts a stream's DATA into gRPC's length-prefixed messages (a flag byte, four bytes of
 * length, the message). A message larger than `maxLength` fails the call before any of
 * it is held, and a message is gathered as its bytes arrive, never allocated by the
 * length it claims (flow control bounds what has arrived). Each message is handed over
 * in a buffer of its own, so that what the layer above keeps of it (keys, values) does
 * not pin the socket's read buffers.
 */
/** What a connection's readers hold between them: partial messages, counted against a bound. */
export interface HeldBytes {
  heldBytes: number
}

/**
 * Bytes of partial requests one connection may hold across its calls. Each call is bounded
 * by the message size and flow control, but a connection has many calls: without this, a
 * client claiming large messages on every stream it may open would be held in full.
 */
export const MAX_HELD_PER_CONNECTION = 64 << 20

export class MessageReader {
  private prefix: Buffer | undefined
  private prefixFilled = 0
  /** The message being gathered: its length, and the pieces so far. */
  private bodyLength = -1
  private pieces: Buffer[] = []
  private bodyFilled = 0
  private compressed = false

  /** What this reader counts in `pool` now. */
  private held = 0

  constructor(
    private readonly maxLength: number,
    /** grpc-encoding of the stream: how a message with the compressed flag is compressed. */
    private readonly encoding: string | undefined,
    /** The connection's count of partial bytes, for the server's bound. */
    private readonly pool?: HeldBytes,
  ) {}

  /** Gives back what this reader counts against its connection (its call has ended). */
  release(): void {
    if (this.pool) this.pool.heldBytes -= this.held
    this.held = 0
  }

  private account(): void {
    if (!this.pool) return
    const now = this.bodyLength >= 0 ? this.bodyFilled : 0
    this.pool.heldBytes += now - this.held
    this.held = now
    if (this.pool.heldBytes > MAX_HELD_PER_CONNECTION) {
      throw new CallFailure(GrpcStatus.RESOURCE_EXHAUSTED, `the connection holds more than ${MAX_HELD_PER_CONNECTION} bytes of partial requests`)
    }
  }

  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    try {
      this.cut(chunk, onMessage)
    } finally {
      this.account()
    }
  }

  private cut(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let pos = 0
    while (pos < chunk.length) {
      if (this.bodyLength < 0) {
        // A whole prefix and message inside this chunk: one copy, straight out.
        if (this.prefixFilled === 0 && chunk.length - pos >= 5) {
          const length = chunk.readUInt32BE(pos + 1)
          const flag = chunk[pos]
          if (chunk.length - pos - 5 >= length) {
            this.check(flag, length)
            onMessage(this.finish(flag, Buffer.from(chunk.subarray(pos + 5, pos + 5 + length))))
            pos += 5 + length
            continue
          }
        }
        const take = Math.min(5 - this.prefixFilled, chunk.length - pos)
        this.prefix ??= Buffer.alloc(5)
        chunk.copy(this.prefix, this.prefixFilled, pos, pos + take)
        this.prefixFilled += take
        pos += take
        if (this.prefixFilled < 5) return
        const length = this.prefix.readUInt32BE(1)
        this.check(this.prefix[0], length)
        this.prefixFilled = 0
        if (length === 0) {
          onMessage(this.finish(this.prefix[0], Buffer.alloc(0)))
          continue
        }
        this.compressed = this.prefix[0] === 1
        this.bodyLength = length
        this.bodyFilled = 0
        this.pieces = []
      }
      const take = Math.min(this.bodyLength - this.bodyFilled, chunk.length - pos)
      if (take > 0) this.pieces.push(Buffer.from(chunk.subarray(pos, pos + take)))
      this.bodyFilled += take
      pos += take
      if (this.bodyFilled === this.bodyLength) {
        const body = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces, this.bodyLength)
        this.pieces = []
        this.bodyLength = -1
        onMessage(this.finish(this.compressed ? 1 : 0, body))
      }
    }
  }

  /** Whether a message is half read (a stream that ends now ends inside it). */
  get partial(): boolean {
    return this.prefixFilled > 0 || this.bodyLength >= 0
  }

  private check(flag: number, length: number): void {
    if (flag > 1) throw new CallFailure(GrpcStatus.INTERNAL, `a message with the unknown flags ${flag}`)
    if (length > this.maxLength)
      throw new CallFailure(GrpcStatus.RESOURCE_EXHAUSTED, `a message of ${length} bytes is larger than the ${this.maxLength} allowed`)
  }

  private finish(flag: number, body: Buffer): Buffer {
    if (flag === 0) return body
    const options = {maxOutputLength: this.maxLength}
    try {
      switch (this.encoding) {
        case 'gzip':
          return zlib.gunzipSync(body, options)
        case 'deflate':
          return zlib.inflateSync(body, options)
        case undefined:
        case 'identity':
          throw new CallFailure(GrpcStatus.INTERNAL, 'a compressed message on a stream without an encoding')
        default:
          throw new CallFailure(GrpcStatus.UNIMPLEMENTED, `the encoding ${this.encoding} is not supported`)
      }
    } catch (error) {
      if (error instanceof CallFailure) throw error
      throw new CallFailure(GrpcStatus.RESOURCE_EXHAUSTED, `a compressed message does not inflate within ${this.maxLength} bytes`)
    }
  }
}

/** A message with its 5-byte prefix in front, leaving `headroom` bytes before it (a frame header). */
export function frameMessage(encode: (prefix: number) => Buffer, headroom: number): Buffer {
  const buf = encode(headroom + 5)
  buf[headroom] = 0
  buf.writeUInt32BE(buf.length - headroom - 5, headroom + 1)
  return buf
}
