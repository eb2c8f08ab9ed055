import type {Duplex} from 'node:stream'
import {ErrorCode, Http2Error} from './errors.js'
import {HpackDecoder, type HeaderList} from './hpack.js'

/**
 * One HTTP/2 connection (RFC 9113) over a socket, for either side: framing, settings,
 * pings, both directions of flow control, stream states and orderly or abrupt ends.
 * Header blocks travel encoded: the layer above encodes its own (usually once, reused)
 * and gets decoded lists back. Written for many small calls: one pass over each read,
 * every frame written in that pass leaves in one socket write, no object per frame.
 */

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const
const END_STREAM = 0x1
const ACK = 0x1
const END_HEADERS = 0x4
const PADDED = 0x8
const PRIORITY = 0x20

const Setting = {HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6} as const

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
const FRAME_HEADER = 9
const DEFAULT_WINDOW = 65535
const MAX_WINDOW = 2 ** 31 - 1
const DEFAULT_FRAME_SIZE = 16384

export interface Http2Settings {
  /** Streams the peer may have open at once. */
  maxConcurrentStreams: number
  /** The receive window of each stream. */
  initialWindowSize: number
  /** The receive window of the whole connection. */
  connectionWindowSize: number
  /** The decoded size of a header list beyond which the connection fails. */
  maxHeaderListSize: number
  /**
   * Bytes the socket may hold unsent before the connection stops reading (a peer that
   * does not read its answers gets no more of its requests served until it does).
   */
  maxUnsentBytes: number
}

export const DEFAULT_SETTINGS: Http2Settings = {
  maxConcurrentStreams: 256,
  initialWindowSize: 1 << 20,
  connectionWindowSize: 16 << 20,
  maxHeaderListSize: 65536,
  maxUnsentBytes: 16 << 20,
}

/** The code onReset gets when the connection itself ended under the stream. */
export const CONNECTION_LOST = -1

/** What the layer above hears about one stream. */
export interface StreamHandler {
  /** A header block after the first (trailers). */
  onHeaders(headers: HeaderList, endStream: boolean): void
  onData(chunk: Buffer, endStream: boolean): void
  /** The peer reset the stream (an HTTP/2 error code), or the connection ended under it (CONNECTION_LOST). */
  onReset(code: number): void
  /** Everything the stream queued has been handed to the socket. */
  onDrain?(): void
}

export interface ConnectionEvents {
  /** A server's new stream, with its request headers. */
  onStream?(stream: Http2Stream, headers: HeaderList, endStream: boolean): void
  /** The peer's first SETTINGS arrived: the handshake is over. */
  onReady?(): void
  /** The peer sent GOAWAY. */
  onGoaway?(code: number, lastStreamId: number): void
  /** The connection is gone; `error` when it ended on a connection error. */
  onClose?(error?: Error): void
  /** The number of open streams changed (to zero, it may now idle). */
  onStreamsChanged?(open: number): void
}

export class Http2Stream {
  handler: StreamHandler | undefined
  /** Set by a layer that opens the receive window itself, as it consumes (see consume). */
  manualFlowControl = false
  /** Bytes this side may still send on the stream. */
  sendWindow: number
  /** Bytes received and consumed since this side last opened the stream's window. */
  private consumed = 0
  /** Bytes the peer may still send on the stream before this side opens its window again. */
  receiveWindow: number
  localClosed = false
  remoteClosed = false
  /** Data waiting for flow-control window: payloads, and whether the last one ends the stream. */
  private queue: Buffer[] = []
  private queueEnds = false
  private trailers: Buffer | undefined
  queuedBytes = 0

  constructor(
    readonly connection: Http2Connection,
    readonly id: number,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow
    this.receiveWindow = connection.settings.initialWindowSize
  }

  get open(): boolean {
    return !(this.localClosed && this.remoteClosed)
  }

  /** Sends a header block (response headers, or a client's request headers). */
  sendHeaders(block: Buffer, endStream = false): void {
    if (this.localClosed) return
    this.connection.writeHeaders(this.id, block, endStream)
    if (endStream) this.closeLocal()
  }

  /**
   * Sends data, within flow control: what does not fit now waits for window updates.
   * `framed` says the caller left FRAME_HEADER free bytes at the front of `data`, to
   * be filled with the frame header in place when it goes out whole.
   */
  sendData(data: Buffer, endStream = false, framed = false): void {
    if (this.localClosed) return
    const payload = framed ? data.subarray(FRAME_HEADER) : data
    const c = this.connection
    if (this.queue.length === 0 && payload.length <= this.sendWindow && payload.length <= c.sendWindow && payload.length <= c.peerMaxFrameSize) {
      this.sendWindow -= payload.length
      c.sendWindow -= payload.length
      if (framed) c.writeFramed(data, FrameType.DATA, endStream ? END_STREAM : 0, this.id)
      else c.writeFrame(FrameType.DATA, endStream ? END_STREAM : 0, this.id, payload)
      if (endStream) this.closeLocal()
      return
    }
    this.queue.push(payload)
    this.queuedBytes += payload.length
    c.queuedBytes += payload.length
    if (endStream) this.queueEnds = true
    this.pump()
  }

  /** Ends the stream with a trailing header block, after any data still waiting. */
  sendTrailers(block: Buffer): void {
    if (this.localClosed) return
    if (this.queue.length > 0) {
      this.trailers = block
      return
    }
    this.connection.writeHeaders(this.id, block, true)
    this.closeLocal()
  }

  /** Abandons the stream (RST_STREAM): nothing more is sent or heard on it. */
  reset(code: number = ErrorCode.CANCEL): void {
    if (!this.open) return
    this.dropQueue()
    this.connection.writeFrame(FrameType.RST_STREAM, 0, this.id, uint32(code))
    this.localClosed = true
    this.remoteClosed = true
    this.connection.forget(this)
  }

  /** Sends what the windows allow of the queue; called again on window updates. */
  pump(): void {
    const c = this.connection
    while (this.queue.length > 0) {
      const room = Math.min(this.sendWindow, c.sendWindow, c.peerMaxFrameSize)
      if (room <= 0) {
        c.blocked.add(this)
        return
      }
      const head = this.queue[0]
      const piece = head.length <= room ? head : head.subarray(0, room)
      if (piece === head) this.queue.shift()
      else this.queue[0] = head.subarray(room)
      this.sendWindow -= piece.length
      c.sendWindow -= piece.length
      this.queuedBytes -= piece.length
      c.queuedBytes -= piece.length
      const last = this.queue.length === 0 && this.queueEnds && this.trailers === undefined
      c.writeFrame(FrameType.DATA, last ? END_STREAM : 0, this.id, piece)
      if (last) this.closeLocal()
    }
    c.blocked.delete(this)
    if (this.trailers !== undefined) {
      const trailers = this.trailers
      this.trailers = undefined
      c.writeHeaders(this.id, trailers, true)
      this.closeLocal()
    }
    this.handler?.onDrain?.()
  }

  /** Called as the layer above consumes received data: opens the stream's window again. */
  consume(bytes: number): void {
    if (this.remoteClosed) return
    this.consumed += bytes
    if (this.consumed >= this.connection.settings.initialWindowSize / 2) {
      this.connection.writeFrame(FrameType.WINDOW_UPDATE, 0, this.id, uint32(this.consumed))
      this.receiveWindow += this.consumed
      this.consumed = 0
    }
  }

  closeLocal(): void {
    this.localClosed = true
    if (this.remoteClosed) this.connection.forget(this)
  }

  closeRemote(): void {
    this.remoteClosed = true
    if (this.localClosed) this.connection.forget(this)
  }

  dropQueue(): void {
    this.connection.queuedBytes -= this.queuedBytes
    this.queuedBytes = 0
    this.queue = []
    this.trailers = undefined
    this.connection.blocked.delete(this)
  }
}

export class Http2Connection {
  readonly streams = new Map<number, Http2Stream>()
  readonly blocked = new Set<Http2Stream>()
  /** The connection-level window this side may still send into. */
  sendWindow = DEFAULT_WINDOW
  peerMaxFrameSize = DEFAULT_FRAME_SIZE
  peerInitialWindow = DEFAULT_WINDOW
  peerMaxConcurrentStreams = Infinity
  /** Bytes of stream data waiting for window. */
  queuedBytes = 0
  /** Bytes of partial messages the layer above holds for this connection's streams. */
  heldBytes = 0
  /** The highest stream the peer opened (server) or this side opened (client). */
  lastStreamId = 0
  private nextStreamId = 1
  private readonly decoder: HpackDecoder
  private input: Buffer | undefined
  private prefaceNeeded: boolean
  private ready = false
  private out: Buffer[] = []
  private outBytes = 0
  private flushScheduled = false
  private consumed = 0
  /** Bytes the peer may still send on the connection. */
  private receiveWindow: number
  /** Header block fragments waiting for CONTINUATION. */
  private headerStream = 0
  private headerFlags = 0
  private headerParts: Buffer[] = []
  private headerBytes = 0
  private goawaySent = false
  private goawayReceived = false
  private closed = false
  private paused = false
  private heldByBacklog = false
  private readonly flush = () => this.flushNow()

  constructor(
    readonly socket: Duplex,
    readonly role: 'server' | 'client',
    private readonly events: ConnectionEvents,
    readonly settings: Http2Settings = DEFAULT_SETTINGS,
  ) {
    this.decoder = new HpackDecoder(4096, settings.maxHeaderListSize)
    this.receiveWindow = Math.max(DEFAULT_WINDOW, settings.connectionWindowSize)
    this.prefaceNeeded = role === 'server'
    if (role === 'client') this.queue(PREFACE)
    this.writeFrame(
      FrameType.SETTINGS,
      0,
      0,
      settingsPayload([
        [Setting.ENABLE_PUSH, 0],
        [Setting.MAX_CONCURRENT_STREAMS, settings.maxConcurrentStreams],
        [Setting.INITIAL_WINDOW_SIZE, settings.initialWindowSize],
        [Setting.MAX_HEADER_LIST_SIZE, settings.maxHeaderListSize],
      ]),
    )
    if (settings.connectionWindowSize > DEFAULT_WINDOW) this.writeFrame(FrameType.WINDOW_UPDATE, 0, 0, uint32(settings.connectionWindowSize - DEFAULT_WINDOW))
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('drain', () => {
      this.pumpBlocked()
      this.resumeIfDrained()
    })
    socket.on('error', (error: Error) => this.destroy(error))
    socket.on('close', () => this.destroy())
    socket.on('end', () => this.destroy())
  }

  get isReady(): boolean {
    return this.ready
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Bytes handed to this connection and not yet to the kernel. */
  get pendingBytes(): number {
    return this.queuedBytes + this.outBytes + this.socket.writableLength
  }

  /** Opens a client stream with its request headers. */
  request(block: Buffer, endStream: boolean, handler: StreamHandler): Http2Stream {
    if (this.role !== 'client') throw new Error('only a client opens streams')
    if (this.closed || this.goawayReceived) throw new Http2Error(ErrorCode.REFUSED_STREAM, 'the connection is closing')
    const stream = new Http2Stream(this, this.nextStreamId, this.peerInitialWindow)
    this.nextStreamId += 2
    this.lastStreamId = stream.id
    stream.handler = handler
    this.streams.set(stream.id, stream)
    stream.sendHeaders(block, endStream)
    return stream
  }

  /** Whether a client may open another stream now. */
  get canRequest(): boolean {
    return !this.closed && !this.goawayReceived && this.streams.size < this.peerMaxConcurrentStreams && this.nextStreamId < MAX_WINDOW
  }

  /** Stops reading requests (the layer above is waiting for its answers to drain). */
  pause(): void {
    if (this.paused) return
    this.paused = true
    this.socket.pause()
  }

  resume(): void {
    if (!this.paused || this.closed) return
    this.paused = false
    // Frames read before the pause are served first.
    if (this.input) {
      const input = this.input
      this.input = undefined
      this.receive(input)
      if (this.paused) return
    }
    this.socket.resume()
  }

  /** Ends the connection in order: GOAWAY, then close once the open streams finish. */
  shutdown(code: number = ErrorCode.NO_ERROR, message = ''): void {
    if (!this.goawaySent) this.sendGoaway(code, message)
    if (this.streams.size === 0) this.end()
  }

  /** Ends the connection at once, failing its streams. */
  destroy(error?: Error): void {
    if (this.closed) return
    this.closed = true
    for (const stream of this.streams.values()) {
      stream.localClosed = true
      stream.remoteClosed = true
      stream.handler?.onReset(CONNECTION_LOST)
    }
    this.streams.clear()
    this.blocked.clear()
    this.out = []
    this.outBytes = 0
    this.socket.destroy()
    this.events.onClose?.(error)
  }

  // Writing.

  writeFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    this.queue(frameHeader(payload.length, type, flags, streamId))
    if (payload.length > 0) this.queue(payload)
  }

  /** Writes a frame whose buffer has its first FRAME_HEADER bytes free for the header. */
  writeFramed(buf: Buffer, type: number, flags: number, streamId: number): void {
    writeFrameHeader(buf, 0, buf.length - FRAME_HEADER, type, flags, streamId)
    this.queue(buf)
  }

  /** Writes a header block, split into CONTINUATION frames beyond the peer's frame size. */
  writeHeaders(streamId: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrameSize
    if (block.length <= max) {
      this.writeFrame(FrameType.HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), streamId, block)
      return
    }
    this.writeFrame(FrameType.HEADERS, endStream ? END_STREAM : 0, streamId, block.subarray(0, max))
    for (let pos = max; pos < block.length; pos += max) {
      const end = Math.min(block.length, pos + max)
      this.writeFrame(FrameType.CONTINUATION, end === block.length ? END_HEADERS : 0, streamId, block.subarray(pos, end))
    }
  }

  private queue(buf: Buffer): void {
    if (this.closed) return
    this.out.push(buf)
    this.outBytes += buf.length
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(this.flush)
    }
  }

  private flushNow(): void {
    this.flushScheduled = false
    if (this.closed || this.out.length === 0) return
    const out = this.out
    this.out = []
    this.outBytes = 0
    this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out))
    this.holdIfBacklogged()
  }

  /**
   * Stops reading while the answers not yet sent (queued for window, or unsent in the
   * socket) pass the bound: a peer that does not read, or grants no window, gets no more
   * of its requests served until they drain.
   */
  private holdIfBacklogged(): void {
    if (!this.paused && this.pendingBytes > this.settings.maxUnsentBytes) {
      this.heldByBacklog = true
      this.pause()
    }
  }

  private resumeIfDrained(): void {
    if (this.heldByBacklog && this.pendingBytes <= this.settings.maxUnsentBytes / 2) {
      this.heldByBacklog = false
      this.resume()
    }
  }

  private sendGoaway(code: number, message: string): void {
    this.goawaySent = true
    const payload = Buffer.alloc(8 + Buffer.byteLength(message))
    payload.writeUInt32BE(this.role === 'server' ? this.lastStreamId : 0, 0)
    payload.writeUInt32BE(code, 4)
    payload.write(message, 8)
    this.writeFrame(FrameType.GOAWAY, 0, 0, payload)
  }

  private end(): void {
    if (this.closed) return
    this.flushNow()
    this.closed = true
    this.socket.end()
    // A peer that does not close its side within a while is cut off.
    setTimeout(() => this.socket.destroy(), 1000).unref()
    for (const stream of this.streams.values()) stream.handler?.onReset(CONNECTION_LOST)
    this.streams.clear()
    this.events.onClose?.()
  }

  /** A connection error: GOAWAY with its code, then the end. */
  private fail(error: Http2Error): void {
    if (this.closed) return
    if (!this.goawaySent) this.sendGoaway(error.code, error.message)
    this.flushNow()
    this.closed = true
    for (const stream of this.streams.values()) stream.handler?.onReset(CONNECTION_LOST)
    this.streams.clear()
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 1000).unref()
    this.events.onClose?.(error)
  }

  forget(stream: Http2Stream): void {
    if (this.streams.delete(stream.id)) {
      this.blocked.delete(stream)
      this.events.onStreamsChanged?.(this.streams.size)
      if ((this.goawaySent || this.goawayReceived) && this.streams.size === 0) this.end()
    }
  }

  private pumpBlocked(): void {
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) break
      stream.pump()
    }
    this.resumeIfDrained()
  }

  // Reading.

  private receive(chunk: Buffer): void {
    if (this.closed) return
    let buf = this.input ? Buffer.concat([this.input, chunk]) : chunk
    this.input = undefined
    let pos = 0
    try {
      if (this.prefaceNeeded) {
        const have = Math.min(buf.length, PREFACE.length)
        if (buf.compare(PREFACE, 0, have, 0, have) !== 0)
          throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'the connection does not start with the HTTP/2 preface')
        if (buf.length < PREFACE.length) {
          this.input = buf
          return
        }
        this.prefaceNeeded = false
        pos = PREFACE.length
      }
      while (buf.length - pos >= FRAME_HEADER) {
        if (this.paused) break
        const length = (buf[pos] << 16) | (buf[pos + 1] << 8) | buf[pos + 2]
        // Frames beyond the default size (which this side never raises) are an error.
        if (length > DEFAULT_FRAME_SIZE) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, `a frame of ${length} bytes`)
        if (buf.length - pos < FRAME_HEADER + length) break
        const type = buf[pos + 3]
        const flags = buf[pos + 4]
        const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff
        const start = pos + FRAME_HEADER
        pos = start + length
        this.frame(type, flags, streamId, buf, start, pos)
        if (this.closed) return
        this.holdIfBacklogged()
      }
    } catch (error) {
      this.fail(error instanceof Http2Error ? error : new Http2Error(ErrorCode.INTERNAL_ERROR, (error as Error).message))
      return
    }
    if (pos < buf.length) {
      buf = buf.subarray(pos)
      this.input = buf
    }
  }

  private frame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (!this.ready && type !== FrameType.SETTINGS) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'the first frame is not SETTINGS')
    if (this.headerStream !== 0 && type !== FrameType.CONTINUATION) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'a header block is interrupted')
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, streamId, buf, start, end)
      case FrameType.HEADERS:
        return this.onHeaders(flags, streamId, buf, start, end)
      case FrameType.CONTINUATION:
        if (streamId !== this.headerStream || streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without its HEADERS')
        return this.addHeaderFragment(buf.subarray(start, end), flags)
      case FrameType.PRIORITY:
        if (streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0')
        return
      case FrameType.RST_STREAM: {
        if (streamId === 0 || end - start !== 4) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'a malformed RST_STREAM')
        const stream = this.streams.get(streamId)
        if (!stream) return
        stream.dropQueue()
        stream.localClosed = true
        stream.remoteClosed = true
        this.forget(stream)
        stream.handler?.onReset(buf.readUInt32BE(start))
        return
      }
      case FrameType.SETTINGS:
        return this.onSettings(flags, streamId, buf, start, end)
      case FrameType.PUSH_PROMISE:
        throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE is not enabled')
      case FrameType.PING:
        if (streamId !== 0 || end - start !== 8) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'a malformed PING')
        if (!(flags & ACK)) this.writeFrame(FrameType.PING, ACK, 0, Buffer.from(buf.subarray(start, end)))
        return
      case FrameType.GOAWAY: {
        if (streamId !== 0 || end - start < 8) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'a malformed GOAWAY')
        this.goawayReceived = true
        const last = buf.readUInt32BE(start) & 0x7fffffff
        const code = buf.readUInt32BE(start + 4)
        this.events.onGoaway?.(code, last)
        // A client's streams the server will not serve fail now.
        if (this.role === 'client') {
          for (const stream of [...this.streams.values()]) {
            if (stream.id > last) {
              stream.localClosed = true
              stream.remoteClosed = true
              this.forget(stream)
              stream.handler?.onReset(ErrorCode.REFUSED_STREAM)
            }
          }
        }
        if (this.streams.size === 0) this.end()
        return
      }
      case FrameType.WINDOW_UPDATE: {
        if (end - start !== 4) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, 'a malformed WINDOW_UPDATE')
        const increment = buf.readUInt32BE(start) & 0x7fffffff
        if (streamId === 0) {
          if (increment === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'a window update of 0')
          this.sendWindow += increment
          if (this.sendWindow > MAX_WINDOW) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, 'the connection window overflows')
          this.pumpBlocked()
          return
        }
        const stream = this.streams.get(streamId)
        if (!stream) return
        if (increment === 0) {
          stream.reset(ErrorCode.PROTOCOL_ERROR)
          stream.handler?.onReset(ErrorCode.PROTOCOL_ERROR)
          return
        }
        stream.sendWindow += increment
        if (stream.sendWindow > MAX_WINDOW) {
          stream.reset(ErrorCode.FLOW_CONTROL_ERROR)
          stream.handler?.onReset(ErrorCode.FLOW_CONTROL_ERROR)
          return
        }
        if (stream.queuedBytes > 0 || this.blocked.has(stream)) stream.pump()
        return
      }
      default:
        // Unknown frame types are ignored.
        return
    }
  }

  private onSettings(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId !== 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream')
    if (flags & ACK) {
      if (end !== start) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, 'a SETTINGS acknowledgement with a payload')
      return
    }
    if ((end - start) % 6 !== 0) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, 'a SETTINGS payload not a multiple of 6')
    for (let pos = start; pos < end; pos += 6) {
      const id = buf.readUInt16BE(pos)
      const value = buf.readUInt32BE(pos + 2)
      switch (id) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH beyond 1')
          break
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrentStreams = value
          break
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE beyond 2^31-1')
          const delta = value - this.peerInitialWindow
          this.peerInitialWindow = value
          for (const stream of this.streams.values()) stream.sendWindow += delta
          if (delta > 0) this.pumpBlocked()
          break
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_FRAME_SIZE || value > 16777215) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} out of range`)
          this.peerMaxFrameSize = value
          break
        default:
          // HEADER_TABLE_SIZE needs nothing: this side's encoder keeps no table. Unknown settings are ignored.
          break
      }
    }
    this.writeFrame(FrameType.SETTINGS, ACK, 0, Buffer.alloc(0))
    if (!this.ready) {
      this.ready = true
      this.events.onReady?.()
    }
  }

  private onHeaders(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0')
    if (flags & PADDED) {
      const padding = buf[start]
      start++
      end -= padding
      if (end < start) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'padding beyond the frame')
    }
    if (flags & PRIORITY) start += 5
    if (end < start) throw new Http2Error(ErrorCode.FRAME_SIZE_ERROR, 'a HEADERS frame too short for its fields')
    this.headerStream = streamId
    this.headerFlags = flags
    this.headerParts = []
    this.headerBytes = 0
    this.addHeaderFragment(buf.subarray(start, end), flags)
  }

  private addHeaderFragment(fragment: Buffer, flags: number): void {
    this.headerBytes += fragment.length
    if (this.headerBytes > this.settings.maxHeaderListSize)
      throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, 'a header block larger than the header list may be')
    this.headerParts.push(fragment)
    if (!(flags & END_HEADERS)) return
    const block = this.headerParts.length === 1 ? this.headerParts[0] : Buffer.concat(this.headerParts)
    const streamId = this.headerStream
    const endStream = (this.headerFlags & END_STREAM) !== 0
    this.headerStream = 0
    this.headerParts = []
    // Every block is decoded, even for a stream that is refused: the table must stay in step.
    const headers = this.decoder.decode(block)
    this.headerBlock(streamId, headers, endStream)
  }

  private headerBlock(streamId: number, headers: HeaderList, endStream: boolean): void {
    const existing = this.streams.get(streamId)
    if (existing) {
      if (existing.remoteClosed) throw new Http2Error(ErrorCode.STREAM_CLOSED, `HEADERS on the closed stream ${streamId}`)
      if (endStream) existing.closeRemote()
      existing.handler?.onHeaders(headers, endStream)
      return
    }
    if (this.role === 'client') {
      // A stream this side has already forgotten (reset, or ended): nothing to do.
      if (streamId % 2 === 1 && streamId <= this.lastStreamId) return
      throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${streamId}, which this side never opened`)
    }
    if (streamId % 2 === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `a client opened the even stream ${streamId}`)
    if (streamId <= this.lastStreamId) {
      // A late block on a stream this side reset: nothing to do.
      return
    }
    this.lastStreamId = streamId
    if (this.goawaySent) return
    const stream = new Http2Stream(this, streamId, this.peerInitialWindow)
    if (this.streams.size >= this.settings.maxConcurrentStreams) {
      this.writeFrame(FrameType.RST_STREAM, 0, streamId, uint32(ErrorCode.REFUSED_STREAM))
      return
    }
    this.streams.set(streamId, stream)
    if (endStream) stream.remoteClosed = true
    this.events.onStream?.(stream, headers, endStream)
    this.events.onStreamsChanged?.(this.streams.size)
  }

  private onData(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (streamId === 0) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0')
    const frameLength = end - start
    if (flags & PADDED) {
      const padding = buf[start]
      start++
      end -= padding
      if (end < start) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, 'padding beyond the frame')
    }
    // The whole frame counts against the connection's window, whatever becomes of it; a
    // peer that sends past the windows this side granted breaks the protocol.
    this.receiveWindow -= frameLength
    if (this.receiveWindow < 0) throw new Http2Error(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window')
    this.consumeConnection(frameLength)
    const stream = this.streams.get(streamId)
    const endStream = (flags & END_STREAM) !== 0
    if (!stream || stream.remoteClosed) {
      if (streamId > this.lastStreamId) throw new Http2Error(ErrorCode.PROTOCOL_ERROR, `DATA on the idle stream ${streamId}`)
      return
    }
    stream.receiveWindow -= frameLength
    if (stream.receiveWindow < 0) {
      stream.reset(ErrorCode.FLOW_CONTROL_ERROR)
      stream.handler?.onReset(ErrorCode.FLOW_CONTROL_ERROR)
      return
    }
    if (endStream) stream.closeRemote()
    stream.handler?.onData(buf.subarray(start, end), endStream)
    if (endStream) return
    // Padding is never handed up: its share of the window comes back at once.
    if (!stream.manualFlowControl) stream.consume(frameLength)
    else if (frameLength > end - start) stream.consume(frameLength - (end - start))
  }

  private consumeConnection(bytes: number): void {
    this.consumed += bytes
    if (this.consumed >= this.settings.connectionWindowSize / 2) {
      this.writeFrame(FrameType.WINDOW_UPDATE, 0, 0, uint32(this.consumed))
      this.receiveWindow += this.consumed
      this.consumed = 0
    }
  }
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER)
  writeFrameHeader(header, 0, length, type, flags, streamId)
  return header
}

function writeFrameHeader(buf: Buffer, pos: number, length: number, type: number, flags: number, streamId: number): void {
  buf[pos] = length >>> 16
  buf[pos + 1] = (length >>> 8) & 0xff
  buf[pos + 2] = length & 0xff
  buf[pos + 3] = type
  buf[pos + 4] = flags
  buf.writeUInt32BE(streamId, pos + 5)
}

function uint32(value: number): Buffer {
  const buf = Buffer.allocUnsafe(4)
  buf.writeUInt32BE(value >>> 0, 0)
  return buf
}

function settingsPayload(entries: [number, number][]): Buffer {
  const buf = Buffer.allocUnsafe(entries.length * 6)
  entries.forEach(([id, value], i) => {
    buf.writeUInt16BE(id, i * 6)
    buf.writeUInt32BE(value, i * 6 + 2)
  })
  return buf
}

export const FRAME_HEADER_SIZE = FRAME_HEADER
