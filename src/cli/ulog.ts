import {Flags} from '@oclif/core'
import type {Change} from '../engine/dbm.js'
import {parseMetricInt} from '../engine/params.js'
import {Code, StatusError} from '../engine/status.js'
import {logFileInfos} from '../engine/ulog/files.js'
import {listLogFiles} from '../engine/ulog/format.js'
import {MessageQueue} from '../engine/ulog/message-queue.js'
import {LogReader} from '../engine/ulog/reader.js'
import {decodeChange, encodeChange} from '../engine/ulog/update-log.js'
import {UsageError} from './base-command.js'
import {escapeC, trimForTsv} from './escape.js'
import {parseTimestampExpr} from './timestamp.js'

/**
 * A flag holding a timestamp expression (see parseTimestampExpr), as milliseconds. Its
 * default is an expression too, applied by `timestampOf` when the command runs (a default
 * computed here would be the time the help was made).
 */
export function timestampFlag(description: string, defaultExpr: string) {
  return Flags.custom<number>({
    description: `${description} (milliseconds, or with s, m, h or d; + or - for relative to now; default ${defaultExpr})`,
    parse: async (input) => {
      try {
        return parseTimestampExpr(input)
      } catch (error) {
        throw new UsageError(error instanceof StatusError ? error.detail : (error as Error).message)
      }
    },
  })()
}

/** A timestamp flag's value, or its default expression's now. */
export function timestampOf(value: number | undefined, defaultExpr: string): number {
  return value ?? parseTimestampExpr(defaultExpr)
}

/** The parse of a flag holding a non-negative integer (k, m, ki, mi ... suffixes taken). */
async function parseCount(input: string): Promise<number> {
  let value: number
  try {
    value = parseMetricInt(input)
  } catch {
    throw new UsageError(`not an integer: "${input}"`)
  }
  if (value < 0) throw new UsageError(`must not be negative: "${input}"`)
  return value
}

const integerFlag = (description: string, defaultValue: number) => Flags.custom<number>({description, parse: parseCount, default: defaultValue})()
const optionalIntegerFlag = (description: string) => Flags.custom<number>({description, parse: parseCount})()

export const ulogWriteFlags = {
  timestamp: timestampFlag('the timestamp to record', '+0'),
  max_file_size: integerFlag('the size at which a new file is started', 2 ** 30),
  server_id: integerFlag('the server ID to record', 0),
  dbm_index: integerFlag('the database index to record', 0),
}

export const ulogReadFlags = {
  timestamp: timestampFlag('read records from this timestamp on', '0'),
  server_id: optionalIntegerFlag('only the records of this server ID'),
  dbm_index: optionalIntegerFlag('only the records of this database index'),
  items: integerFlag('the most records to print', 10),
  escape: Flags.boolean({description: 'C-style escapes in keys and values (otherwise control bytes print as spaces)'}),
}

/** An integer flag that may be negative (k, m, ki ... suffixes taken); a bad one is a usage error naming the flag. */
export function parseSignedMetric(input: string, flag: string): number {
  const negative = input.trim().startsWith('-')
  try {
    const value = parseMetricInt(negative ? input.trim().slice(1) : input)
    return negative ? -value : value
  } catch {
    throw new UsageError(`${flag}: not an integer: "${input}"`)
  }
}

/** An empty prefix is a usage error (it would name every file of the directory). */
export function checkPrefix(prefix: string): void {
  if (prefix === '') throw new UsageError('the prefix must not be empty')
}

/** Writes one change to the log at the prefix, as its own writer: open, write, close. */
export function writeLoggedChange(
  prefix: string,
  change: Change,
  flags: {timestamp?: number; max_file_size: number; server_id: number; dbm_index: number},
): void {
  checkPrefix(prefix)
  const queue = MessageQueue.open(prefix, {maxFileSize: flags.max_file_size})
  try {
    queue.write(timestampOf(flags.timestamp, '+0'), encodeChange(change, flags.server_id, flags.dbm_index))
  } finally {
    queue.close()
  }
}

/**
 * The records of the log as TSV lines (timestamp, server ID, database index, SET key value
 * | REMOVE key | CLEAR), through `emit`. Never waits for a writer and never locks: safe
 * while a server writes the log.
 */
export async function readLoggedChanges(
  prefix: string,
  flags: {timestamp?: number; server_id?: number; dbm_index?: number; items: number; escape: boolean},
  emit: (line: string) => Promise<void>,
): Promise<void> {
  checkPrefix(prefix)
  const reader = new LogReader(prefix, timestampOf(flags.timestamp, '0'))
  try {
    if (listLogFiles(prefix).length === 0) throw new StatusError(Code.NOT_FOUND_ERROR, `no update-log files: ${prefix}.NNNNNNNNNN`)
    for (let count = 0; count < flags.items;) {
      const message = reader.next()
      if (!message) break
      const change = decodeChange(message.payload)
      if (flags.server_id !== undefined && change.serverId !== flags.server_id) continue
      if (flags.dbm_index !== undefined && change.dbmIndex !== flags.dbm_index) continue
      await emit(changeLine(message.timestamp, change.serverId, change.dbmIndex, change, flags.escape))
      count++
    }
  } finally {
    reader.close()
  }
}

/**
 * A change as a TSV line, as the reference tools print them: timestamp, server ID, database
 * index, then SET key value, REMOVE key or CLEAR; keys and values escaped, or with control
 * bytes made spaces (tabs kept in a value, its last field).
 */
export function changeLine(timestamp: number, serverId: number, dbmIndex: number, change: Change, escape: boolean): string {
  const head = `${timestamp}\t${serverId}\t${dbmIndex}`
  if (change.op === 'clear') return `${head}\tCLEAR\n`
  const key = escape ? escapeC(change.key) : trimForTsv(change.key)
  if (change.op === 'remove') return `${head}\tREMOVE\t${key}\n`
  return `${head}\tSET\t${key}\t${escape ? escapeC(change.value) : trimForTsv(change.value, true)}\n`
}

/** How long ago a time in seconds was, as the reference tools say it: "5.8 days", "-1.5 minutes". */
export function relativeTime(seconds: number): string {
  const size = Math.abs(seconds)
  if (size >= 86400) return `${(seconds / 86400).toFixed(1)} days`
  if (size >= 3600) return `${(seconds / 3600).toFixed(1)} hours`
  if (size >= 60) return `${(seconds / 60).toFixed(1)} minutes`
  return `${seconds.toFixed(1)} seconds`
}

/** The files of the log as TSV lines: path, file ID, newest timestamp, its age, size. */
export function listLogLines(prefix: string, since: number, now = Date.now()): string[] {
  checkPrefix(prefix)
  return logFileInfos(prefix, since).map(({path, header}) => {
    const age = relativeTime(now / 1000 - Math.trunc(header.timestamp / 1000))
    return `${path}\t${header.fileId}\t${header.timestamp}\t${age}\t${header.size}\n`
  })
}
