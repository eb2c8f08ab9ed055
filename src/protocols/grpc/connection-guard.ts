import * as fs from 'node:fs'
import type * as http2 from 'node:http2'
import type * as net from 'node:net'
import type * as grpc from '@grpc/grpc-js'
import type {Logger} from '../../server/logger.js'

export interface ConnectionLimits {
  /** Connections held at once; at the limit, the oldest one still in its handshake makes room, or the new one is refused. */
  maxConnections: number
  /** Milliseconds a connection may take to start speaking HTTP/2 (and TLS) before it is dropped. */
  handshakeMs: number
}

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

const HANDSHAKE = Symbol('kv.handshake')
// The connection's own socket: a session hands out a proxy of it, or a TLS socket over it.
const CONNECTION = Symbol('kv.connection')

interface Guarded {
  [HANDSHAKE]?: NodeJS.Timeout
  [CONNECTION]?: net.Socket & Guarded
}

/**
 * Keeps connections from exhausting the server: a connection that has not begun HTTP/2
 * within the handshake time is dropped, and beyond the connection limit the oldest
 * connection still in its handshake is dropped to make room (a flood of silent
 * connections cannot lock real clients out), or, when every connection is established,
 * the new one is refused. Established connections that stay idle are closed by gRPC's own
 * max_connection_idle setting.
 *
 * grpc-js keeps its HTTP/2 servers private; this reaches them through its `http2Servers`
 * map, and does nothing (with a warning) if a later version has changed that.
 */
export function guardConnections(server: grpc.Server, limits: ConnectionLimits, logger: Logger): void {
  const servers = (server as unknown as {http2Servers?: Map<http2.Http2Server, unknown>}).http2Servers
  if (!(servers instanceof Map)) {
    logger.warn('cannot apply the connection limits: this version of grpc-js hides its HTTP/2 servers')
    return
  }
  for (const http2Server of servers.keys()) guardServer(http2Server, limits, logger)
}

function guardServer(http2Server: http2.Http2Server, limits: ConnectionLimits, logger: Logger): void {
  const open = new Set<net.Socket>()
  // Sockets still in their handshake, oldest first.
  const handshaking = new Set<net.Socket>()
  let refusals = 0
  let lastRefusalLog = 0
  const settle = (socket: net.Socket & Guarded) => {
    clearTimeout(socket[HANDSHAKE])
    socket[HANDSHAKE] = undefined
    handshaking.delete(socket)
  }
  // Ahead of the HTTP/2 server's own listener, which makes the session at once.
  http2Server.prependListener('connection', (socket: net.Socket & Guarded) => {
    if (open.size >= limits.maxConnections) {
      const oldest = handshaking.values().next().value as net.Socket | undefined
      if (oldest) {
        settle(oldest)
        oldest.destroy()
      } else {
        socket.destroy()
        refusals++
        const now = Date.now()
        if (now - lastRefusalLog > 10_000) {
          logger.warn(`refused ${refusals} connection${refusals === 1 ? '' : 's'}: ${limits.maxConnections} are open (--max_connections)`)
          refusals = 0
          lastRefusalLog = now
        }
        return
      }
    }
    socket[CONNECTION] = socket
    open.add(socket)
    socket.once('close', () => {
      open.delete(socket)
      settle(socket)
    })
    if (limits.handshakeMs > 0) {
      handshaking.add(socket)
      socket[HANDSHAKE] = setTimeout(() => {
        handshaking.delete(socket)
        socket.destroy()
      }, limits.handshakeMs)
      socket[HANDSHAKE].unref()
    }
  })
  http2Server.on('session', (session: http2.ServerHttp2Session) => {
    const socket = session.socket as net.Socket & Guarded & {_parent?: net.Socket & Guarded}
    const connection = socket[CONNECTION] ?? socket._parent?.[CONNECTION]
    if (connection) session.once('remoteSettings', () => settle(connection))
  })
}
