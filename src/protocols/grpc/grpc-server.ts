import * as fs from 'node:fs'
import type * as grpc from '@grpc/grpc-js'
import {ReflectionService} from '@grpc/reflection'
import {HealthImplementation} from 'grpc-health-check'
import {Code, StatusError} from '../../engine/status.js'
import {parseAuth} from './auth.js'
import {dbmServiceDefinition, packageDefinition, SERVICE_NAME} from './protocol.js'
import type {FrontEndFactory} from '../../server/core.js'
import {DBMServiceImpl} from './service.js'
import {defaultMaxConnections, GrpcWireServer} from './wire-server.js'

export interface GrpcOptions {
  /** host:port, [v6]:port or unix:/path. Port 0 picks a free port. */
  address: string
  /** ssl:key=FILE,cert=FILE,root=FILE for mutual TLS; undefined for plain connections. */
  auth?: string
  /** Connections held at once (default: what the open-file limit allows, less a reserve). */
  maxConnections?: number
  /** Seconds a new connection may take to start speaking HTTP/2; 0 for no limit. */
  handshakeTimeout?: number
  /** Seconds an established connection may stay without calls before it is closed; 0 for no limit. */
  idleTimeout?: number
}

export const DEFAULT_HANDSHAKE_TIMEOUT = 10
export const DEFAULT_IDLE_TIMEOUT = 3600

/**
 * The gRPC front end: the DBMService on the core's databases, plus the gRPC health
 * service and server reflection, with TLS, connection limits and reply budgets.
 */
export function grpcFrontEnd(options: GrpcOptions): FrontEndFactory {
  return async (core) => {
    const {logger} = core
    const tlsFiles = options.auth ? readTls(options.auth) : undefined
    const service = new DBMServiceImpl(core)
    const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
    const maxConnections = options.maxConnections ?? defaultMaxConnections()
    const server = new GrpcWireServer({
      maxConnections,
      handshakeMs: (options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT) * 1000,
      idleMs: idleTimeout * 1000,
      tls: tlsFiles,
      onRefused: (count) => logger.warn(`refused ${count} connection${count === 1 ? '' : 's'}: ${maxConnections} are open (--max_connections)`),
    })
    server.addService(dbmServiceDefinition(), service.handlers() as unknown as grpc.UntypedServiceImplementation)
    // The health and reflection services add themselves to a grpc-js server; this one takes the same calls.
    const asGrpcServer = server as unknown as grpc.Server
    const health = new HealthImplementation({'': 'SERVING', [SERVICE_NAME]: 'SERVING'})
    health.addToServer(asGrpcServer)
    new ReflectionService(packageDefinition()).addToServer(asGrpcServer)
    const address = normalizeAddress(options.address)
    if (address.startsWith('unix:')) fs.rmSync(address.slice(5), {force: true})
    let port: number
    try {
      port = await server.listen(address)
    } catch (error) {
      throw new StatusError(Code.NETWORK_ERROR, `cannot listen on ${options.address}: ${(error as Error).message}`)
    }
    const bound = address.startsWith('unix:') ? address : `${address.slice(0, address.lastIndexOf(':'))}:${port}`
    logger.info(`listening on ${bound}${options.auth ? ' with TLS' : ''}`)
    return {
      name: 'gRPC',
      boundAddress: bound,
      stopAccepting: () => {
        health.setStatus('', 'NOT_SERVING')
        health.setStatus(SERVICE_NAME, 'NOT_SERVING')
        return server.stopAccepting()
      },
      forceClose: () => {
        server.forceClose()
        if (bound.startsWith('unix:')) fs.rmSync(bound.slice(5), {force: true})
      },
    }
  }
}

/** Accepts host:port, [v6]:port and unix:/path; a bare port means 127.0.0.1. */
export function normalizeAddress(address: string): string {
  if (address.startsWith('unix:')) {
    if (address.length <= 5) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `no socket path in "${address}"`)
    return address
  }
  if (/^\d+$/.test(address)) return `127.0.0.1:${address}`
  const colon = address.lastIndexOf(':')
  if (colon < 0 || !/^\d+$/.test(address.slice(colon + 1))) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the address must be host:port, [v6]:port or unix:/path: "${address}"`)
  }
  const port = Number(address.slice(colon + 1))
  if (port > 65535) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `no such port: ${port}`)
  return address
}

/** The files of ssl:key=FILE,cert=FILE,root=FILE; clients must present a certificate the root signed (mutual TLS). */
function readTls(auth: string): {key: Buffer; cert: Buffer; ca: Buffer} {
  const files = parseAuth(auth)
  return {key: files.key, cert: files.cert, ca: files.root}
}
