import {ExpiringDBM} from '../engine/expiry/expiring-dbm.js'
import type {DatabaseRegistry} from './registry.js'
import type {Logger} from './logger.js'

/**
 * Removes expired records from the databases that keep expiry times, every `intervalSeconds`,
 * one database after another, each sweep in slices that let the server answer meanwhile.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private stopped = false

  /** The databases that keep expiry times, by index (the registry does not change). */
  private readonly expiring: [number, ExpiringDBM][] = []

  constructor(
    registry: DatabaseRegistry,
    private readonly logger: Logger,
    private readonly intervalSeconds: number,
  ) {
    registry.entries.forEach((entry, index) => {
      if (entry.dbm instanceof ExpiringDBM) this.expiring.push([index, entry.dbm])
    })
    if (this.expiring.length > 0) this.schedule()
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.sweepAll().finally(() => {
        this.running = undefined
        this.schedule()
      })
    }, this.intervalSeconds * 1000)
    this.timer.unref()
  }

  /** One pass over every expiring database; returns the records removed. */
  async sweepAll(): Promise<number> {
    let total = 0
    for (const [index, dbm] of this.expiring) {
      if (this.stopped || !dbm.isOpen() || !dbm.isWritable()) continue
      try {
        const removed = await dbm.sweep()
        total += removed
        if (removed > 0) this.logger.debug(`expiry sweep: ${removed} records removed from database ${index}`)
      } catch (error) {
        this.logger.error(`expiry sweep of database ${index}: ${(error as Error).message}`)
      }
    }
    return total
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }
}
