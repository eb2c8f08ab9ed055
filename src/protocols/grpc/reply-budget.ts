import type * as grpc from '@grpc/grpc-js'

/** Bytes of replies a connection may have waiting to be sent before the server stops reading its requests. */
export const DEFAULT_REPLY_BOUND = 16 << 20

interface Connection {
  /** Bytes of replies handed to the transport and not yet sent. */
  pending: number
  /** Reads put off until the connection's replies drain. */
  waiting: (() => void)[]
}

/**
 * Honors flow control end to end: every reply a connection's calls send is counted until
 * the transport has sent it, and while a connection has more than `bound` bytes waiting
 * (its client is not reading), the server neither reads nor serves further requests from
 * it, unary or streamed: requests already read wait, in order, until the replies drain.
 * HTTP/2 flow control then holds the client back, and the server's memory stays bounded
 * however many requests a client pushes without reading the answers.
 */
export class ReplyBudget {
  private readonly connections = new Map<ConnectionKey, Connection>()

  constructor(private readonly bound = DEFAULT_REPLY_BOUND) {}

  /** The server interceptor that does the counting and the holding back. */
  interceptor(): grpc.ServerInterceptor {
    // grpc-js types an interceptor as returning its own class; any implementation of the interface works.
    return (_method, call) => new BudgetedCall(this, connectionKey(call), call) as unknown as grpc.ServerInterceptingCall
  }

  /** Bytes waiting on a connection (for tests and metrics). */
  pendingOf(key: ConnectionKey): number {
    return this.connections.get(key)?.pending ?? 0
  }

  charge(key: ConnectionKey, bytes: number): void {
    let connection = this.connections.get(key)
    if (!connection) {
      connection = {pending: 0, waiting: []}
      this.connections.set(key, connection)
    }
    connection.pending += bytes
  }

  release(key: ConnectionKey, bytes: number): void {
    const connection = this.connections.get(key)
    if (!connection) return
    connection.pending -= bytes
    // Resume below half the bound, so that reading does not flap on every reply, and
    // only while the requests served meanwhile keep the connection within it.
    if (connection.pending <= this.bound / 2) {
      while (connection.waiting.length > 0 && connection.pending <= this.bound) connection.waiting.shift()!()
    }
    if (connection.pending <= 0 && connection.waiting.length === 0) this.connections.delete(key)
  }

  /** Runs `read` now, or once the connection's waiting replies drain; in order either way. */
  whenReadable(key: ConnectionKey, read: () => void): void {
    const connection = this.connections.get(key)
    if (!connection || (connection.pending <= this.bound && connection.waiting.length === 0)) return read()
    connection.waiting.push(read)
  }
}

/** What identifies a connection: its HTTP/2 session, or failing that its addresses. */
type ConnectionKey = object | string

/**
 * The call's HTTP/2 session, which grpc-js keeps in a private field of its own call: the
 * only identity that tells apart clients on a unix socket, which have no port. Where a
 * later grpc-js hides it, the addresses serve (unix-socket clients then share a budget).
 */
function connectionKey(call: grpc.ServerInterceptingCallInterface): ConnectionKey {
  const session = (call as unknown as {stream?: {session?: object}}).stream?.session
  if (session) return session
  try {
    const info = call.getConnectionInfo()
    return `${info.remoteAddress ?? ''}:${info.remotePort ?? ''}:${info.localPort ?? ''}`
  } catch {
    return call.getPeer()
  }
}

/** Bytes a reply will take on the wire, near enough: its buffers and strings. */
export function replySize(message: unknown, depth = 0): number {
  if (message === null || message === undefined) return 0
  if (Buffer.isBuffer(message)) return message.length
  if (typeof message === 'string') return message.length
  if (typeof message !== 'object' || depth > 4) return 8
  let total = 8
  if (Array.isArray(message)) for (const item of message) total += replySize(item, depth + 1)
  else for (const value of Object.values(message)) total += replySize(value, depth + 1)
  return total
}

/** One call, with its replies counted against its connection and its reads held back when that is over budget. */
class BudgetedCall implements grpc.ServerInterceptingCallInterface {
  /** Bytes this call has charged and not yet released: released at once if the call is cancelled. */
  private charged = 0

  constructor(
    private readonly budget: ReplyBudget,
    private readonly key: ConnectionKey,
    private readonly next: grpc.ServerInterceptingCallInterface,
  ) {}

  start(listener: grpc.ServerListener | Parameters<grpc.ServerInterceptingCallInterface['start']>[0]): void {
    const inner = listener as Parameters<grpc.ServerInterceptingCallInterface['start']>[0]
    // A request is served when it is delivered: hold deliveries back too, since requests
    // read before the connection went over budget may still be on their way.
    this.next.start({
      onReceiveMetadata: (metadata) => inner.onReceiveMetadata(metadata),
      onReceiveMessage: (message) => this.budget.whenReadable(this.key, () => inner.onReceiveMessage(message)),
      onReceiveHalfClose: () => this.budget.whenReadable(this.key, () => inner.onReceiveHalfClose()),
      onCancel: () => {
        // A cancelled call's unsent replies are dropped with it, and their callbacks never come.
        this.budget.release(this.key, this.charged)
        this.charged = 0
        inner.onCancel()
      },
    })
  }

  sendMessage(message: unknown, callback: () => void): void {
    const bytes = replySize(message)
    this.charged += bytes
    this.budget.charge(this.key, bytes)
    this.next.sendMessage(message, () => {
      // The transport takes a reply before it is on the wire; count it until the event
      // loop has had a turn at the sockets, so that a burst of requests that arrived
      // together is served a budget at a time, with writing in between.
      setImmediate(() => {
        if (this.charged < bytes) return
        this.charged -= bytes
        this.budget.release(this.key, bytes)
      })
      callback()
    })
  }

  startRead(): void {
    this.budget.whenReadable(this.key, () => this.next.startRead())
  }

  sendMetadata(metadata: grpc.Metadata): void {
    this.next.sendMetadata(metadata)
  }

  sendStatus(status: Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0]): void {
    this.next.sendStatus(status)
  }

  getPeer(): string {
    return this.next.getPeer()
  }

  getDeadline(): grpc.Deadline {
    return this.next.getDeadline()
  }

  getHost(): string {
    return this.next.getHost()
  }

  getAuthContext(): ReturnType<grpc.ServerInterceptingCallInterface['getAuthContext']> {
    return this.next.getAuthContext()
  }

  getConnectionInfo(): ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']> {
    return this.next.getConnectionInfo()
  }

  getMetricsRecorder(): ReturnType<grpc.ServerInterceptingCallInterface['getMetricsRecorder']> {
    return this.next.getMetricsRecorder()
  }
}
