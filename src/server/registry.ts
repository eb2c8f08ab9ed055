import type {DBM} from '../engine/dbm.js'
import {openConfig} from '../engine/poly.js'
import {Code, StatusError} from '../engine/status.js'

/** One database the server holds, by its place on the command line. */
export interface DatabaseEntry {
  config: string
  dbm?: DBM
  /** Why it did not open; calls on it answer PRECONDITION_ERROR with this. */
  error?: string
}

export const MAX_DATABASES = 200

/** The databases of a server, indexed as on the command line. */
export class DatabaseRegistry {
  private constructor(readonly entries: DatabaseEntry[]) {}

  /**
   * Opens every configuration. One that fails stays in its slot with the error, so that
   * the indexes of the others do not shift.
   */
  static open(configs: string[], readOnly: boolean): DatabaseRegistry {
    if (configs.length > MAX_DATABASES) {
      throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `at most ${MAX_DATABASES} databases can be served, not ${configs.length}`)
    }
    const entries = (configs.length > 0 ? configs : ['#dbm=tiny']).map((config): DatabaseEntry => {
      try {
        return {config, dbm: openConfig(config, {writable: !readOnly})}
      } catch (error) {
        return {config, error: (error as Error).message}
      }
    })
    return new DatabaseRegistry(entries)
  }

  get size(): number {
    return this.entries.length
  }

  failures(): DatabaseEntry[] {
    return this.entries.filter((entry) => entry.error !== undefined)
  }

  /** The open database at an index (the caller has checked the range). */
  get(index: number): DBM {
    const entry = this.entries[index]
    if (!entry.dbm) throw new StatusError(Code.PRECONDITION_ERROR, `the database did not open: ${entry.error}`)
    return entry.dbm
  }

  /** Closes every database; returns the errors met. */
  closeAll(): string[] {
    const errors: string[] = []
    for (const entry of this.entries) {
      if (!entry.dbm?.isOpen()) continue
      try {
        entry.dbm.close()
      } catch (error) {
        errors.push(`${entry.config}: ${(error as Error).message}`)
      }
    }
    return errors
  }
}
