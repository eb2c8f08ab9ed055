import * as fs from 'node:fs'
import * as grpc from '@grpc/grpc-js'
import {ReflectionService} from '@grpc/reflection'
import {HealthImplementation} from 'grpc-health-check'
import {Code, StatusError} from '../../engine/status.js'
import {parseAuth, type AuthFiles} from './auth.js'
import {packageDefinition, protocol, SERVICE_NAME} from './protocol.js'
import {defaultMaxConnections, guardConnections} from './connection-guard.js'
import {applyGrpcFixes} from './grpc-fixes.js'
import type {Logger} from '../../server/logger.js'
import {DatabaseRegistry} from '../../server/registry.js'
import {ReplyBudget} from './reply-budget.js'
import {DBMServiceImpl} from './service.js'

export interface ServeOptions {
  /** Database configurations, `path#name=value,...`; none means one on-memory TinyDBM. */
  configs: string[]
  /** host:port, [v6]:port or unix:/path. Port 0 picks a free port. */
  address: string
  /** ssl:key=FILE,cert=FILE,root=FILE for mutual TLS; undefined for plain connections. */
  auth?: string
  readOnly: boolean
  logger: Logger
  version: string
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
 * A running database server: the DBMService on the databases of the command line, plus
 * the gRPC health service and server reflection.
 */
export class KvServer {
  private stopping: Promise<string[]> | undefined

  private constructor(
    private readonly server: grpc.Server,
    readonly registry: DatabaseRegistry,
    private readonly service: DBMServiceImpl,
    private readonly health: HealthImplementation,
    private readonly logger: Logger,
    /** Where clients connect: host:port with the real port, or unix:/path. */
    readonly boundAddress: string,
  ) {}

  static async start(options: ServeOptions): Promise<KvServer> {
    applyGrpcFixes()
    const {logger} = options
    const credentials = serverCredentials(options.auth)
    const registry = DatabaseRegistry.open(options.configs, options.readOnly)
    registry.entries.forEach((entry, i) => {
      if (entry.error) logger.error(`cannot open database ${i} (${entry.config}): ${entry.error}`)
      else logger.info(`opened database ${i}: ${entry.config || '(on-memory)'} class=${entry.dbm!.className}${options.readOnly ? ' read-only' : ''}`)
    })
    const service = new DBMServiceImpl(registry, logger, {version: options.version, startedAt: Date.now() / 1000, replMaxTimestamp: () => 0})
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
      registry.closeAll()
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
    return new KvServer(server, registry, service, health, logger, bound)
  }

  /** Calls in flight, including blocked ones. */
  get numActiveCalls(): number {
    return this.service.numActiveCalls
  }

  /**
   * Stops taking calls, lets the ones in flight finish (waking blocked calls, which answer
   * at once), waits up to `waitSeconds`, then cuts what is left and closes the databases
   * cleanly. Returns the errors met while closing.
   */
  shutdown(waitSeconds: number): Promise<string[]> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down')
      this.health.setStatus('', 'NOT_SERVING')
      this.health.setStatus(SERVICE_NAME, 'NOT_SERVING')
      this.service.board.close()
      const graceful = new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()))
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, waitSeconds) * 1000).unref())
      await Promise.race([Promise.all([graceful, this.service.drained()]), deadline])
      if (this.service.numActiveCalls > 0) this.logger.warn(`cutting ${this.service.numActiveCalls} calls still running after ${waitSeconds} s`)
      this.server.forceShutdown()
      const errors = this.registry.closeAll()
      for (const error of errors) this.logger.error(`cannot close ${error}`)
      const failures = this.service.failures.summary()
      if (failures !== undefined) {
        this.logger.error(failures)
        errors.push(failures)
      }
      if (this.boundAddress.startsWith('unix:')) fs.rmSync(this.boundAddress.slice(5), {force: true})
      this.logger.info('the server has stopped')
      return errors
    })()
    return this.stopping
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
