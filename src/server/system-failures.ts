import {Code, StatusError} from '../engine/status.js'
import type {Logger} from './logger.js'

/** The same failure is logged at most once in this many milliseconds; the rest are counted. */
const REPEAT_MS = 10_000

/**
 * Operations that failed for reasons of the system rather than of the request (a full
 * disk, an I/O error): each kind is logged when it happens, repeats are counted rather
 * than logged, and the shutdown reports them all and ends with a failing exit status, so
 * that an operator learns of writes the server had to refuse.
 */
export class SystemFailures {
  private total = 0
  private last = ''
  private readonly lastLogged = new Map<string, {at: number; suppressed: number}>()

  constructor(private readonly logger: Logger) {}

  /** Notes an operation's failure if it is a system failure. */
  note(operation: string, index: number, error: unknown): void {
    if (!(error instanceof StatusError) || error.code !== Code.SYSTEM_ERROR) return
    this.total++
    const message = `${operation} on database ${index}: ${error.message}`
    this.last = message
    const now = Date.now()
    const seen = this.lastLogged.get(error.message)
    if (seen && now - seen.at < REPEAT_MS) {
      seen.suppressed++
      return
    }
    const repeats = seen && seen.suppressed > 0 ? ` (and ${seen.suppressed} more like it)` : ''
    this.lastLogged.set(error.message, {at: now, suppressed: 0})
    this.logger.error(`${message}${repeats}`)
  }

  get count(): number {
    return this.total
  }

  /** What the shutdown reports, if anything failed. */
  summary(): string | undefined {
    if (this.total === 0) return undefined
    return `${this.total} operation${this.total === 1 ? '' : 's'} failed for system reasons while serving; the last: ${this.last}`
  }
}
