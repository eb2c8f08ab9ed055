import * as fs from 'node:fs'
import * as net from 'node:net'
import * as tls from 'node:tls'
import type * as grpc from '@grpc/grpc-js'
import {Http2Connection, type Http2Stream} from '../../net/http2/connection.js'
import type {HeaderList} from '../../net/http2/hpack.js'
import {encodeHeaders} from '../../net/http2/hpack.js'
import {ErrorCode} from '../../net/http2/errors.js'
import {GrpcStatus, parseTimeout, statusTrailers} from './grpc-status.js'
import {StreamCall, UnaryCall, type CallContext, type MethodCodec} from './server-call.js'

/** A method as a service definition describes it (grpc-js's MethodDefinition), optionally with an encoder that frames in place. */
interface MethodDefinition {
  path: string
  requestStream: boolean
  responseStream: boolean
  requestDeserialize(buf: Buffer): unknown
  responseSerialize(value: unknown): Buffer
  originalName?: string
  /** The answer encoded with `prefix` free bytes in front: saves a copy per answer. */
  responseEncode?(value: unknown, prefix: number): Buffer
}

type Handler = (call: unknown, callback?: unknown) => void

interface Method {
  kind: 'unary' | 'serverStream' | 'bidi'
  handler: Handler
  codec: MethodCodec
}

export interface WireServerOptions {
  /** Connections held at once; at the limit the oldest still in its handshake makes room, or the new one is refused. */
  maxConnections: number
  /** Milliseconds a connection may take to start speaking HTTP/2 (and TLS); 0 for no limit. */
  handshakeMs: number
  /** Milliseconds a connection may stay without calls before it is closed; 0 for no limit. */
  idleMs: number
  /** The largest request message (grpc's default is 4 MiB). */
  maxMessageLength?: number
  /** Mutual TLS: the server's key and certificate, and the root its clients' certificates must chain to. */
  tls?: {key: Buffer; cert: Buffer; ca: Buffer}
  /** Told of connections refused at the limit, at most every ten seconds. */
  onRefused?(count: number): void
}

const DEFAULT_MAX_MESSAGE = 4 << 20

/** File descriptors kept free for the databases, the log and backups when connections are many. */
const DESCRIPTOR_RESERVE = 64

/**
 * The default connection limit: what the process's open-file limit leaves after a reserve
 * for files, so that clients can never take the descriptors the databases need.
 */
export function defaultMaxConnections(): number {
  try {
    const limits = fs.readFileSync('/proc/self/limits', 'utf8')
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]
    if (soft !== undefined && soft !== 'unlimited') return Math.max(16, Math.min(65536, Number(soft) - DESCRIPTOR_RESERVE))
  } catch {
    // Not Linux: the fixed default below.
  }
  return 4096
}

/**
 * A gRPC server on kv's own HTTP/2: the services of grpc-js's definitions (so the health
 * and reflection services run unchanged), with TLS, unix sockets, deadlines, connection
 * limits, handshake and idle timeouts, and flow control end to end.
 */
export class GrpcWireServer {
  private readonly methods = new Map<string, Method>()
  private readonly connections = new Set<Http2Connection>()
  /** Sockets still in their handshake, oldest first, with their timers. */
  private readonly handshaking = new Map<net.Socket, NodeJS.Timeout | undefined>()
  private readonly sockets = new Set<net.Socket>()
  private readonly idleSince = new Map<Http2Connection, number>()
  private server: net.Server | undefined
  private sweeper: NodeJS.Timeout | undefined
  private refusals = 0
  private lastRefusalReport = 0
  private accepting = true
  private readonly maxMessageLength: number

  constructor(private readonly options: WireServerOptions) {
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE
  }

  /** Adds a service as grpc-js's Server.addService does: handlers by method name or original name. */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    for (const [name, definition] of Object.entries(service as unknown as {[name: string]: MethodDefinition})) {
      const handler = (implementation[name] ?? (definition.originalName ? implementation[definition.originalName] : undefined)) as Handler | undefined
      if (!handler) continue
      if (definition.requestStream && !definition.responseStream) throw new Error(`${definition.path}: client-streaming calls are not supported`)
      const encode = definition.responseEncode
      this.methods.set(definition.path, {
        kind: !definition.requestStream && !definition.responseStream ? 'unary' : definition.requestStream ? 'bidi' : 'serverStream',
        handler,
        codec: {
          decodeRequest: (buf) => definition.requestDeserialize(buf),
          encodeResponse: encode
            ? (value, prefix) => encode(value, prefix)
            : (value, prefix) => {
                const body = definition.responseSerialize(value)
                const framed = Buffer.allocUnsafe(prefix + body.length)
                body.copy(framed, prefix)
                return framed
              },
        },
      })
    }
  }

  /** Listens on host:port ([v6]:port) or unix:/path; resolves with the port (0 for a socket). */
  listen(address: string): Promise<number> {
    const tlsOptions = this.options.tls
    const server = tlsOptions
      ? tls.createServer({key: tlsOptions.key, cert: tlsOptions.cert, ca: tlsOptions.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2']})
      : net.createServer()
    this.server = server
    // Every raw connection is counted and timed from its first moment, TLS or not.
    server.on('connection', (socket: net.Socket) => this.admit(socket))
    if (tlsOptions) {
      server.on('secureConnection', (socket: tls.TLSSocket) => this.serve(socket, socket))
      server.on('tlsClientError', () => {})
    } else {
      server.on('connection', (socket: net.Socket) => {
        if (!socket.destroyed) this.serve(socket, socket)
      })
    }
    const idleMs = this.options.idleMs
    if (idleMs > 0) {
      this.sweeper = setInterval(() => this.closeIdle(), Math.min(1000, Math.max(50, idleMs / 4)))
      this.sweeper.unref()
    }
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      const done = () => {
        server.off('error', reject)
        server.on('error', () => {})
        const bound = server.address()
        resolve(typeof bound === 'object' && bound ? bound.port : 0)
      }
      if (address.startsWith('unix:')) {
        server.listen(address.slice(5), done)
      } else {
        const colon = address.lastIndexOf(':')
        const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
        server.listen(Number(address.slice(colon + 1)), host, done)
      }
    })
  }

  /** Stops taking connections and calls: GOAWAY on each connection, which closes once its calls end. */
  stopAccepting(): Promise<void> {
    this.accepting = false
    const closed = new Promise<void>((resolve) => {
      if (!this.server) return resolve()
      this.server.close(() => resolve())
    })
    for (const connection of this.connections) connection.shutdown()
    for (const socket of this.handshaking.keys()) socket.destroy()
    return closed
  }

  /** Ends every connection at once. */
  forceClose(): void {
    this.accepting = false
    clearInterval(this.sweeper)
    this.server?.close()
    for (const connection of [...this.connections]) connection.destroy()
    for (const socket of this.sockets) socket.destroy()
  }

  private admit(socket: net.Socket): void {
    if (!this.accepting) {
      socket.destroy()
      return
    }
    if (this.sockets.size >= this.options.maxConnections) {
      const oldest = this.handshaking.keys().next().value as net.Socket | undefined
      if (oldest) {
        this.settle(oldest)
        oldest.destroy()
      } else {
        socket.destroy()
        this.refused()
        return
      }
    }
    this.sockets.add(socket)
    socket.once('close', () => {
      this.sockets.delete(socket)
      this.settle(socket)
    })
    socket.on('error', () => {})
    const timer = this.options.handshakeMs > 0 ? setTimeout(() => socket.destroy(), this.options.handshakeMs) : undefined
    timer?.unref()
    this.handshaking.set(socket, timer)
  }

  private settle(socket: net.Socket): void {
    if (!this.handshaking.has(socket)) return
    clearTimeout(this.handshaking.get(socket))
    this.handshaking.delete(socket)
  }

  private refused(): void {
    this.refusals++
    const now = Date.now()
    if (now - this.lastRefusalReport > 10_000) {
      this.options.onRefused?.(this.refusals)
      this.refusals = 0
      this.lastRefusalReport = now
    }
  }

  private serve(raw: net.Socket, socket: net.Socket): void {
    if (!this.accepting) {
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    const peer = raw.remoteAddress ? `${raw.remoteAddress.includes(':') ? `[${raw.remoteAddress}]` : raw.remoteAddress}:${raw.remotePort}` : 'unix'
    // The TLS socket's raw socket is what the handshake timer was set on.
    const rawSocket = (socket as net.Socket & {_parent?: net.Socket})._parent ?? raw
    const connection: Http2Connection = new Http2Connection(socket, 'server', {
      onReady: () => this.settle(rawSocket),
      onStream: (stream, headers, endStream) => this.route(stream, headers, endStream, peer),
      onStreamsChanged: (open) => {
        if (open === 0) this.idleSince.set(connection, Date.now())
        else this.idleSince.delete(connection)
      },
      onClose: () => {
        this.connections.delete(connection)
        this.idleSince.delete(connection)
      },
    })
    this.connections.add(connection)
    this.idleSince.set(connection, Date.now())
  }

  private closeIdle(): void {
    const limit = Date.now() - this.options.idleMs
    for (const [connection, since] of this.idleSince) {
      if (since <= limit) {
        this.idleSince.delete(connection)
        connection.shutdown()
      }
    }
  }

  private route(stream: Http2Stream, headers: HeaderList, endStream: boolean, peer: string): void {
    let path = ''
    let method = ''
    let contentType = ''
    let timeout: string | undefined
    let encoding: string | undefined
    for (let i = 0; i < headers.length; i += 2) {
      switch (headers[i]) {
        case ':path':
          path = headers[i + 1]
          break
        case ':method':
          method = headers[i + 1]
          break
        case 'content-type':
          contentType = headers[i + 1]
          break
        case 'grpc-timeout':
          timeout = headers[i + 1]
          break
        case 'grpc-encoding':
          encoding = headers[i + 1]
          break
      }
    }
    if (method !== 'POST') return refuse(stream, 405, `the method ${method} is not POST`)
    if (!contentType.startsWith('application/grpc')) return refuse(stream, 415, `the content type ${contentType} is not gRPC's`)
    const entry = this.methods.get(path)
    if (!entry) return finishAt(stream, GrpcStatus.UNIMPLEMENTED, `The server does not implement the method ${path}`)
    const millis = parseTimeout(timeout)
    const context: CallContext = {
      stream,
      headers,
      peer,
      deadline: millis === undefined ? Infinity : Date.now() + millis,
      encoding,
      maxMessageLength: this.maxMessageLength,
    }
    if (entry.kind === 'unary') {
      const call = new UnaryCall(context, entry.codec, (ready) => {
        try {
          entry.handler(ready, ready.callback)
        } catch (error) {
          ready.finish(GrpcStatus.INTERNAL, (error as Error).message)
        }
      })
      stream.handler = call
      if (endStream) call.onHeaders(headers, true)
      return
    }
    const start = (call: StreamCall) => {
      stream.handler = call
      try {
        entry.handler(call)
      } catch (error) {
        call.finish(GrpcStatus.INTERNAL, (error as Error).message)
      }
    }
    if (entry.kind === 'bidi') {
      const call = new StreamCall(context, entry.codec)
      start(call)
      if (endStream) call.onHeaders(headers, true)
      return
    }
    // Server streaming: the call (and its deadline) starts once its one request is read.
    const gather = new UnaryCall(context, entry.codec, (ready) => {
      ready.handOff()
      const call = new StreamCall(context, entry.codec)
      call.request = ready.request
      start(call)
    })
    stream.handler = gather
    if (endStream) gather.onHeaders(headers, true)
  }
}

function finishAt(stream: Http2Stream, code: number, message: string): void {
  stream.sendHeaders(statusTrailers(code, message, true), true)
  if (!stream.remoteClosed) stream.reset(ErrorCode.NO_ERROR)
}

function refuse(stream: Http2Stream, httpStatus: number, message: string): void {
  stream.sendHeaders(encodeHeaders([':status', String(httpStatus), 'grpc-status', String(GrpcStatus.UNKNOWN), 'grpc-message', message]), true)
  if (!stream.remoteClosed) stream.reset(ErrorCode.NO_ERROR)
}
