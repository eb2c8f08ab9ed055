import * as os from 'node:os'
import type {DBM} from '../engine/dbm.js'
import {MessageQueue} from '../engine/ulog/message-queue.js'
import {UpdateLogger} from '../engine/ulog/update-log.js'
import {SignalBoard} from './board.js'
import type {Logger} from './logger.js'
import {NoSuchDatabaseError, Operations, type OperationContext} from './operations.js'
import {ExpirySweeper} from './expiry-sweeper.js'
import {CallMetrics} from './metrics.js'
import {DatabaseRegistry} from './registry.js'
import {SystemFailures} from './system-failures.js'

/**
 * A network front end on the server core: it accepts connections in its own protocol and
 * maps requests onto the core's operations. The core decides when it starts and stops.
 */
export interface FrontEnd {
  /** The protocol's name, for the log. */
  readonly name: string
  /** Where clients connect: host:port with the real port, or unix:/path. */
  readonly boundAddress: string
  /** Stops taking connections and calls; resolves when the calls in flight have ended. */
  stopAccepting(): Promise<void>
  /** Cuts whatever is still open. */
  forceClose(): void
}

/** Starts a front end on a core; rejects when it cannot listen. */
export type FrontEndFactory = (core: ServerCore) => Promise<FrontEnd>

export interface CoreOptions {
  /** Database configurations, `path#name=value,...`; none means one on-memory TinyDBM. */
  configs: string[]
  readOnly: boolean
  logger: Logger
  version: string
  /** This server's ID, which its update log tags its own changes with (1 when not given). */
  serverId?: number
  /** Log every change of every database here (`--ulog_prefix`, `--ulog_max_file_size`). */
  ulog?: {prefix: string; maxFileSize: number}
  /** Seconds between sweeps of expired records (databases with expiration=true); default 10. */
  sweepSeconds?: number
}

/** The server's update log: one queue for every database, one logger per database (tagged with its index). */
export interface ServerUpdateLog {
  readonly queue: MessageQueue
  /** By database index; undefined where the database did not open. */
  readonly loggers: (UpdateLogger | undefined)[]
}

/**
 * What a replica keeps of its replication, for ChangeMaster and Inspect: the replication
 * component registers it on the core (the core does not know how replication is done).
 */
export interface ReplicationControl {
  /** Follows another master ('' stops replicating), from the newest applied timestamp plus `skew` (ms). */
  changeMaster(master: string, skew: number): void
  /** The newest master timestamp applied, in milliseconds. */
  maxTimestamp(): number
  /** Inspect attributes telling the state: master, state, last error. */
  attributes(): [string, string][]
}

/**
 * A part of a server that runs beside the front ends (a replica's pull of its master's
 * changes): started once the core is up, stopped before the databases close.
 */
export interface ServerComponent {
  stop(): Promise<void>
}

export type ComponentFactory = (core: ServerCore) => ServerComponent

/**
 * What a server is, whatever protocols it speaks: its databases, the operation bodies on
 * them, the board where blocked calls wait, the failures it must report, and the count of
 * calls in flight that a graceful shutdown waits for.
 */
export class ServerCore implements OperationContext {
  readonly board = new SignalBoard()
  readonly failures: SystemFailures
  readonly operations: Operations
  /** The calls answered, by protocol and operation; every front end records its calls here. */
  readonly metrics = new CallMetrics()
  readonly startedAt = Date.now() / 1000
  private activeCalls = 0
  private readonly idle: (() => void)[] = []
  private readonly frontEnds: FrontEnd[] = []
  private readonly components: ServerComponent[] = []
  private stopping: Promise<string[]> | undefined
  /** The update log, when the server keeps one. */
  updateLog: ServerUpdateLog | undefined
  /** Set by the replication component of a replica (or of a server that may become one). */
  replication: ReplicationControl | undefined

  private constructor(
    readonly registry: DatabaseRegistry,
    readonly logger: Logger,
    private readonly options: CoreOptions,
  ) {
    this.failures = new SystemFailures(logger)
    this.operations = new Operations(this)
  }

  /** Opens the databases (logging each) and starts the front ends; nothing is left open on failure. */
  static async start(options: CoreOptions, frontEnds: FrontEndFactory[], components: ComponentFactory[] = []): Promise<ServerCore> {
    const {logger} = options
    const registry = DatabaseRegistry.open(options.configs, options.readOnly)
    registry.entries.forEach((entry, i) => {
      if (entry.error) logger.error(`cannot open database ${i} (${entry.config}): ${entry.error}`)
      else logger.info(`opened database ${i}: ${entry.config || '(on-memory)'} class=${entry.dbm!.className}${options.readOnly ? ' read-only' : ''}`)
    })
    const core = new ServerCore(registry, logger, options)
    try {
      if (options.ulog) core.updateLog = openServerUpdateLog(registry, options.ulog, core.serverId, logger)
      for (const start of frontEnds) core.frontEnds.push(await start(core))
      core.components.push(new ExpirySweeper(registry, logger, options.sweepSeconds ?? 10))
      for (const start of components) core.components.push(start(core))
    } catch (error) {
      for (const frontEnd of core.frontEnds) frontEnd.forceClose()
      await Promise.all(core.components.map((component) => component.stop()))
      registry.closeAll()
      core.updateLog?.queue.close()
      throw error
    }
    return core
  }

  /** This server's ID. */
  get serverId(): number {
    return this.options.serverId ?? 1
  }

  /** The address of the first front end, which the daemon's parent reports. */
  get boundAddress(): string {
    return this.frontEnds[0]?.boundAddress ?? ''
  }

  database(index: number): DBM {
    if (!Number.isInteger(index) || index < 0 || index >= this.registry.size) throw new NoSuchDatabaseError(index)
    return this.registry.get(index)
  }

  /** Calls in flight, including blocked ones. */
  get numActiveCalls(): number {
    return this.activeCalls
  }

  /** A front end calls this when a call starts, and `endCall` once when it ends. */
  beginCall(): void {
    this.activeCalls++
  }

  endCall(): void {
    this.activeCalls--
    if (this.activeCalls === 0) for (const resolve of this.idle.splice(0)) resolve()
  }

  /** Resolves when no call is in flight. */
  drained(): Promise<void> {
    if (this.activeCalls === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  /** What an inspection of the server itself (rather than of a database) reports. */
  serverAttributes(): [string, string][] {
    const attributes: [string, string][] = [
      ['version', this.options.version],
      ['process_id', String(process.pid)],
      ['num_dbms', String(this.registry.size)],
    ]
    this.registry.entries.forEach((entry, i) => {
      const dbm = entry.dbm
      const open = dbm?.isOpen() === true
      attributes.push([`dbm_${i}_path`, dbm?.getFilePath() ?? entry.config])
      attributes.push([`dbm_${i}_count`, open ? String(dbm.count()) : '-1'])
      attributes.push([`dbm_${i}_class`, open ? (new Map(dbm.inspect()).get('class') ?? dbm.className) : 'none'])
    })
    const now = Date.now() / 1000
    attributes.push(
      ['memory_usage', String(process.memoryUsage().rss)],
      ['memory_capacity', String(os.totalmem())],
      ['repl_max_timestamp', String(this.replication?.maxTimestamp() ?? 0)],
      ['num_active_calls', String(this.activeCalls)],
      ['current_time', now.toFixed(3)],
      ['running_time', (now - this.startedAt).toFixed(3)],
      // After the reference's keys, in their order: kv's own.
      ['server_id', String(this.serverId)],
      ['ulog_prefix', this.updateLog?.queue.prefix ?? ''],
      ['ulog_timestamp', String(this.updateLog?.queue.timestamp ?? 0)],
      ...(this.replication?.attributes() ?? []),
      ...this.metrics.attributes(),
    )
    return attributes
  }

  /**
   * Stops taking calls on every front end, lets the ones in flight finish (waking blocked
   * calls, which answer at once), waits up to `waitSeconds`, then cuts what is left and
   * closes the databases cleanly. Returns the errors met while closing.
   */
  shutdown(waitSeconds: number): Promise<string[]> {
    this.stopping ??= (async () => {
      this.logger.info('shutting down')
      this.board.close()
      // Replication streams end (their readers are told the log is closing) and the pull of a replica stops.
      this.updateLog?.queue.cancelWaits()
      await Promise.all(this.components.map((component) => component.stop()))
      const graceful = Promise.all(this.frontEnds.map((frontEnd) => frontEnd.stopAccepting()))
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, waitSeconds) * 1000).unref())
      await Promise.race([Promise.all([graceful, this.drained()]), deadline])
      if (this.activeCalls > 0) this.logger.warn(`cutting ${this.activeCalls} calls still running after ${waitSeconds} s`)
      for (const frontEnd of this.frontEnds) frontEnd.forceClose()
      const errors = this.registry.closeAll()
      if (this.updateLog?.queue.isOpen) {
        try {
          this.updateLog.queue.close()
        } catch (error) {
          errors.push(`the update log ${this.updateLog.queue.prefix}: ${(error as Error).message}`)
        }
      }
      for (const error of errors) this.logger.error(`cannot close ${error}`)
      const failures = this.failures.summary()
      if (failures !== undefined) {
        this.logger.error(failures)
        errors.push(failures)
      }
      this.logger.info('the server has stopped')
      return errors
    })()
    return this.stopping
  }
}

/**
 * Opens the server's update log and hangs a logger on every open database. A log whose
 * last file ends in damage is not a reason to stop serving: the damaged file is left for
 * the operator, logged, and writing goes on in a new file.
 */
function openServerUpdateLog(registry: DatabaseRegistry, ulog: {prefix: string; maxFileSize: number}, serverId: number, logger: Logger): ServerUpdateLog {
  const queue = MessageQueue.open(ulog.prefix, {maxFileSize: ulog.maxFileSize, startAfterDamage: true})
  if (queue.damagedTail) logger.error(`update log: ${queue.damagedTail}; it is left as it is, and logging goes on in a new file`)
  const loggers = registry.entries.map((entry, index) => {
    if (!entry.dbm) return undefined
    const updateLogger = new UpdateLogger(queue, serverId, index)
    entry.dbm.addWriteObserver(updateLogger)
    return updateLogger
  })
  logger.info(`update log: ${ulog.prefix} (file ${queue.fileId}, newest timestamp ${queue.timestamp})`)
  return {queue, loggers}
}
