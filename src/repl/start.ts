import {databaseTimestampMillis} from '../engine/ulog/update-log.js'
import type {ComponentFactory, ServerCore} from '../server/core.js'
import {Replica} from './replica.js'
import {readTimestampFile} from './timestamp-file.js'

export interface ReplicationSettings {
  /** host:port of the master ('' or undefined: none until ChangeMaster names one). */
  master?: string
  /** The replica's timestamp file: where it starts, and what it keeps up to date. */
  tsFile?: string
  /** Without a timestamp file, start from the oldest database's own timestamp. */
  tsFromDbm?: boolean
  /** Milliseconds added to the starting timestamp (negative: replay a little, for clocks that differ). */
  tsSkew?: number
  /** Seconds the master waits without a change before a heartbeat. */
  waitSeconds?: number
}

/**
 * Where a replica starts, as the reference decides it: the timestamp file's value when it
 * has one; else, with tsFromDbm, the oldest of the databases' own timestamps (not past
 * now); else 0; then the skew is added.
 */
export function startingTimestamp(core: ServerCore, settings: ReplicationSettings): number {
  let start = settings.tsFile ? readTimestampFile(settings.tsFile, (message) => core.logger.error(`replication: ${message}`)) : undefined
  if (start === undefined && settings.tsFromDbm) {
    const stamps = core.registry.entries.filter((entry) => entry.dbm).map((entry) => databaseTimestampMillis(entry.dbm!))
    start = Math.min(Date.now(), ...stamps)
  }
  return Math.max(0, (start ?? 0) + (settings.tsSkew ?? 0))
}

/** The replication component of a server: every server has one, so that ChangeMaster can make it a replica at run time. */
export function replicationComponent(settings: ReplicationSettings): ComponentFactory {
  return (core) =>
    new Replica(core, {
      master: settings.master ?? '',
      minTimestamp: startingTimestamp(core, settings),
      skew: settings.tsSkew ?? 0,
      tsFile: settings.tsFile,
      waitSeconds: settings.waitSeconds ?? 1,
    })
}
