import * as fs from 'node:fs'
import * as grpc from '@grpc/grpc-js'
import {ReflectionService} from '@grpc/reflection'
import {HealthImplementation} from 'grpc-health-check'
import {Code, StatusError} from '../../engine/status.js'
import {parseAuth, type AuthFiles} from './auth.js'
import {packageDefinition, protocol, SERVICE_NAME} from './protocol.js'
import {defaultMaxConnections, guardConnections} from './connection-guard.js'
import {applyGrpcFixes} from './grpc-fixes.js'
import type {FrontEndFactory} from '../../server/core.js'
import {ReplyBudget} from './reply-budget.js'
import {DBMServiceImpl} from './service.js'

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
    applyGrpcFixes()
    const {logger} = core
    const credentials = serverCredentials(options.auth)
    const service = new DBMServiceImpl(core)
    const idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT
    const server = new grpc.Server({
      interceptors: [new ReplyBudget().interceptor()],
      ...(idleTimeout > 0 ? {'grpc.max_connection_idle_ms': idleTimeout * 1000} : {}),
    })
    server.addService(protocol().tkrzw_rpc.DBMService.service, service.handlers())
    const health = new HealthImplementation({'': 'SERVING', [SERVICE_NAME]: 'SERVING'})
    health.addToServer(server)
    new ReflectionService(packageDefinition()).addToServer(server)
    const address = normalizeAddress(options.address)
    if (address.startsWith('unix:')) fs.rmSync(address.slice(5), {force: true})
    let port: number
    try {
      port = await new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))))
    } catch (error) {
      throw new StatusError(Code.NETWORK_ERROR, `cannot listen on ${options.address}: ${(error as Error).message}`)
    }
    guardConnections(
      server,
      {
        maxConnections: options.maxConnections ?? defaultMaxConnections(),
        handshakeMs: (options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT) * 1000,
      },
      logger,
    )
    const bound = address.startsWith('unix:') ? address : `${address.slice(0, address.lastIndexOf(':'))}:${port}`
    logger.info(`listening on ${bound}${options.auth ? ' with TLS' : ''}`)
    return {
      name: 'gRPC',
      boundAddress: bound,
      stopAccepting: () => {
        health.setStatus('', 'NOT_SERVING')
        health.setStatus(SERVICE_NAME, 'NOT_SERVING')
        return new Promise<void>((resolve) => server.tryShutdown(() => resolve()))
      },
      forceClose: () => {
        server.forceShutdown()
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

function serverCredentials(auth: string | undefined): grpc.ServerCredentials {
  if (auth === undefined || auth === '') return grpc.ServerCredentials.createInsecure()
  const files: AuthFiles = parseAuth(auth)
  // Clients must present a certificate signed by the root: mutual TLS.
  return grpc.ServerCredentials.createSsl(files.root, [{private_key: files.key, cert_chain: files.cert}], true)
}
