import type {RemoteDBM} from '../client/remote-dbm.js'
import type {DBM} from '../engine/dbm.js'
import {openConfig} from '../engine/poly.js'
import {Code, StatusError} from '../engine/status.js'
import {applyChange, databaseTimestampMillis} from '../engine/ulog/update-log.js'
import {writeTimestampFile} from '../repl/timestamp-file.js'
import {changeOf} from '../client/remote-replication.js'
import {changeLine} from './ulog.js'

export interface ReplicateOptions {
  /** Only the changes of this database index; -1: all. */
  index: number
  serverId: number
  waitSeconds: number
  /** Stop after this many changes; 0: at the first heartbeat (all caught up); undefined: never. */
  items?: number
  escape: boolean
  tsFile?: string
  tsFromDbm: boolean
  tsSkew: number
  /** The newest timestamp applied before, from the timestamp file (read by the caller). */
  tsFromFile?: number
}

/**
 * Pulls a server's changes as a replica does. Without database configurations it prints
 * them as TSV (timestamp, origin server ID, database index, SET key value | REMOVE key |
 * CLEAR); with them it applies each change to the database of its index (with --index, to
 * the only one given): a differential backup, which a timestamp file resumes next time.
 */
export async function replicateFromServer(db: RemoteDBM, configs: string[], options: ReplicateOptions, emit: (line: string) => Promise<void>): Promise<number> {
  const dbms: DBM[] = []
  let applied = 0
  let newest = 0
  try {
    for (const config of configs) dbms.push(openConfig(config, {writable: true}))
    let start = options.tsFromFile
    if (start === undefined && options.tsFromDbm && dbms.length > 0) start = Math.min(Date.now(), ...dbms.map((dbm) => databaseTimestampMillis(dbm)))
    start = Math.max(0, (start ?? 0) + options.tsSkew)
    newest = start
    const session = db.replicate(start, options.serverId, options.waitSeconds)
    const save = (): void => {
      if (options.tsFile) writeTimestampFile(options.tsFile, newest)
    }
    let count = 0
    try {
      for await (const message of session) {
        if (message.kind === 'greeting') {
          if (message.serverId === options.serverId)
            throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the server has the same ID as this client: ${options.serverId}`)
          continue
        }
        if (message.kind === 'heartbeat') {
          newest = Math.max(newest, message.timestamp)
          if (options.items === 0) break
          continue
        }
        newest = Math.max(newest, message.timestamp)
        if (options.index >= 0 && message.dbmIndex !== options.index) continue
        const change = changeOf(message)
        if (!change) continue
        if (dbms.length === 0) {
          await emit(changeLine(message.timestamp, message.serverId, message.dbmIndex, change, options.escape))
        } else {
          const target = options.index >= 0 ? dbms[0] : dbms[message.dbmIndex]
          if (target) {
            applyChange(target, change)
            applied++
          }
        }
        if (++count % 1000 === 0) save()
        if (options.items !== undefined && options.items > 0 && count >= options.items) break
      }
    } finally {
      session.cancel()
      save()
    }
  } finally {
    for (const dbm of dbms) if (dbm.isOpen()) dbm.close()
  }
  return applied
}
