import {RemoteDBM} from '../client/remote-dbm.js'
import {changeOf, type ReplicationSession} from '../client/remote-replication.js'
import type {Change} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'
import {applyChange} from '../engine/ulog/update-log.js'
import type {ReplicationControl, ServerComponent, ServerCore} from '../server/core.js'
import type {Logger} from '../server/logger.js'
import {writeTimestampFile} from './timestamp-file.js'

export interface ReplicaOptions {
  /** host:port of the master; '' for none (until ChangeMaster names one). */
  master: string
  /** Where the first session starts, in the master's milliseconds (inclusive). */
  minTimestamp: number
  /** Milliseconds added to the newest applied timestamp when a session starts again (a negative skew replays a little). */
  skew: number
  /** Where the newest applied timestamp is kept across restarts. */
  tsFile?: string
  /** Seconds the master waits without a change before it sends a heartbeat. */
  waitSeconds: number
}

/** Seconds between a broken session and the next attempt. */
const RETRY_MS = 1000
/** The timestamp file is written after this many messages, this long after a change at the latest, and at the end of each session. */
const TS_SAVE_INTERVAL = 1000
const TS_SAVE_DELAY_MS = 100

/**
 * The replica's side of replication: pulls its master's changes (the master's Replicate
 * stream) and applies each to the database of the same index, logging it to this server's
 * own update log as coming from the master, so that chains and dual masters work. A broken
 * session is tried again every second, resuming from the newest timestamp applied (plus the
 * skew) rather than from the start. ChangeMaster switches masters at run time.
 */
export class Replica implements ServerComponent, ReplicationControl {
  private master: string
  private minTimestamp: number
  private newest = 0
  private state = 'idle'
  private lastError = ''
  private stopped = false
  private stream: ReplicationSession | undefined
  private client: RemoteDBM | undefined
  private wakeUp: (() => void) | undefined
  private sinceSave = 0
  private saveTimer: NodeJS.Timeout | undefined
  private readonly done: Promise<void>

  constructor(
    private readonly core: ServerCore,
    private readonly options: ReplicaOptions,
  ) {
    this.master = options.master
    this.minTimestamp = Math.max(0, options.minTimestamp)
    this.newest = this.minTimestamp
    core.replication = this
    this.done = this.run()
  }

  private get logger(): Logger {
    return this.core.logger
  }

  maxTimestamp(): number {
    return this.newest
  }

  attributes(): [string, string][] {
    return [
      ['repl_master', this.master],
      ['repl_state', this.state],
      ['repl_min_timestamp', String(this.minTimestamp)],
      ['repl_last_error', this.lastError],
    ]
  }

  changeMaster(master: string, skew: number): void {
    const start = Math.max(0, this.newest + (Number.isFinite(skew) ? skew : 0))
    this.logger.info(`replication: the master is now ${master === '' ? 'none' : master}, from timestamp ${start}`)
    this.master = master
    this.minTimestamp = start
    this.newest = start
    this.saveTimestamp()
    this.interrupt()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.interrupt()
    await this.done
    this.saveTimestamp()
  }

  /** Ends the session under way and any wait, so that the loop looks at its settings again. */
  private interrupt(): void {
    this.stream?.cancel()
    this.client?.close()
    this.wakeUp?.()
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms >= 0 ? setTimeout(resolve, ms) : undefined
      this.wakeUp = () => {
        if (timer) clearTimeout(timer)
        this.wakeUp = undefined
        resolve()
      }
    })
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const master = this.master
      if (master === '') {
        this.state = 'idle'
        await this.sleep(-1)
        continue
      }
      try {
        await this.session(master)
      } catch (error) {
        if (!this.stopped && master === this.master) {
          this.lastError = (error as Error).message
          this.logger.warn(`replication from ${master}: ${this.lastError}; trying again`)
        }
      } finally {
        this.stream = undefined
        this.client?.close()
        this.client = undefined
        this.saveTimestamp()
      }
      // The next session starts from what was applied (a negative skew replays a little: changes are idempotent).
      if (this.master === master) this.minTimestamp = Math.max(0, this.newest + Math.min(0, this.options.skew))
      if (!this.stopped && this.master === master) {
        this.state = 'waiting'
        await this.sleep(RETRY_MS)
      }
    }
    this.state = 'stopped'
  }

  private async session(master: string): Promise<void> {
    this.state = 'connecting'
    this.client = await RemoteDBM.connect(master, {timeout: -1, connectTimeout: 10})
    if (this.stopped || master !== this.master) return
    const stream = this.client.replicate(this.minTimestamp, this.core.serverId, this.options.waitSeconds)
    this.stream = stream
    let masterId = -1
    let firstOfSession = true
    for await (const message of stream) {
      if (this.stopped || master !== this.master) return
      if (message.kind === 'greeting') {
        masterId = message.serverId
        if (masterId === this.core.serverId) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the master ${master} has this server's own ID ${masterId}`)
        this.state = 'replicating'
        this.lastError = ''
        this.logger.info(`replication: following ${master} (server ID ${masterId}) from timestamp ${this.minTimestamp}`)
        continue
      }
      const change = changeOf(message)
      if (change) this.apply(message.dbmIndex, masterId, change)
      this.newest = Math.max(this.newest, message.timestamp)
      // A killed replica replays what came after its file's timestamp: the file stays close behind.
      if (firstOfSession || ++this.sinceSave >= TS_SAVE_INTERVAL) this.saveTimestamp()
      else this.saveTimer ??= setTimeout(() => this.saveTimestamp(), TS_SAVE_DELAY_MS)
      firstOfSession = false
    }
    throw new StatusError(Code.NETWORK_ERROR, 'the master ended the stream')
  }

  /** Applies one change to its database, logged as the master's. */
  private apply(index: number, masterId: number, change: Change): void {
    if (index < 0 || index >= this.core.registry.size)
      throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the master sent a change of database ${index}, which this server does not have`)
    const dbm = this.core.database(index)
    const logger = this.core.updateLog?.loggers[index]
    if (logger) logger.origin = masterId
    try {
      applyChange(dbm, change)
    } finally {
      if (logger) logger.origin = undefined
    }
  }

  private saveTimestamp(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    this.sinceSave = 0
    if (!this.options.tsFile) return
    try {
      writeTimestampFile(this.options.tsFile, this.newest)
    } catch (error) {
      this.logger.error(`replication: cannot write the timestamp file: ${(error as Error).message}`)
    }
  }
}
