import * as fs from 'node:fs'
import type {DBM} from './dbm.js'
import {FileLock} from './io/file-lock.js'
import {selectClass, type ClassInfo} from './classes.js'
import {HashDBM} from './hash/hash-dbm.js'
import {ExpiringDBM} from './expiry/expiring-dbm.js'
import {ParamReader, parseBool, parseConfig, parseMetricInt, type Params} from './params.js'
import {ShardDBM, detectShards} from './shard.js'
import {SkipDBM} from './skip/skip-dbm.js'
import {TreeDBM} from './tree/tree-dbm.js'
import {Code, StatusError} from './status.js'
import {MessageQueue} from './ulog/message-queue.js'
import {UpdateLogger} from './ulog/update-log.js'

// Names that choose how the file is accessed in the reference; they change nothing here.
const FILE_PARAMS = ['file', 'block_size', 'access_options']

export interface OpenDBMOptions {
  writable?: boolean
  truncate?: boolean
  /** Take no lock on the file. */
  noLock?: boolean
}

function makeOne(cls: ClassInfo, params: Params): DBM {
  const factory = cls.factory
  if (!factory) throw new StatusError(Code.NOT_IMPLEMENTED_ERROR, `the ${cls.name} database class is not available yet`)
  const reader = new ParamReader(params)
  reader.ignore(...FILE_PARAMS)
  const dbm = factory(reader)
  reader.finish()
  return dbm
}

/**
 * Opens a database of any class: the class comes from `dbm=` or the extension, and
 * `num_shards` (0 to detect the count from existing files) makes it sharded.
 */
export function openDBM(path: string, params: Params = new Map(), options: OpenDBMOptions = {}): DBM {
  const rest = new Map(params)
  const dbmName = rest.get('dbm')
  rest.delete('dbm')
  const shardText = rest.get('num_shards')
  rest.delete('num_shards')
  const ulog = takeUlogParams(rest)
  const expiration = takeExpiration(rest)
  const cls = selectClass(path, dbmName)
  const writable = options.writable ?? true
  const shards = shardCount(path, shardText)
  let dbm: DBM
  if (shards > 0) {
    const parts: DBM[] = []
    for (let i = 0; i < shards; i++) parts.push(makeOne(cls, rest))
    dbm = new ShardDBM(parts)
  } else {
    dbm = makeOne(cls, rest)
  }
  if (expiration) dbm = new ExpiringDBM(dbm)
  dbm.open(path, writable, {truncate: options.truncate, noLock: options.noLock})
  if (ulog && writable) {
    try {
      attachUpdateLog(dbm, ulog)
    } catch (error) {
      dbm.close()
      throw error
    }
  }
  return dbm
}

/**
 * `expiration=true`: records carry an absolute expiry time (see ExpiringDBM). Off by
 * default: a database's values are then exactly what was stored, as Tkrzw reads them.
 */
function takeExpiration(params: Params): boolean {
  const text = params.get('expiration')
  params.delete('expiration')
  return text === undefined ? false : parseBool(text, 'expiration')
}

interface UlogParams {
  prefix: string
  maxFileSize: number
  serverId: number
  dbmIndex: number
}

/**
 * Takes the update-log parameters off a configuration: `ulog_prefix` (logging on),
 * `ulog_max_file_size` (1Gi; 0 or less turns logging off), `ulog_server_id` and
 * `ulog_dbm_index` (what each record is tagged with). Another `ulog_` name is an error.
 */
function takeUlogParams(params: Params): UlogParams | undefined {
  const text = (name: string): string | undefined => {
    const value = params.get(name)
    params.delete(name)
    return value
  }
  const prefix = text('ulog_prefix') ?? ''
  const maxFileSize = parseMetricInt(text('ulog_max_file_size') ?? '1Gi', 'ulog_max_file_size')
  const serverId = Math.max(0, parseMetricInt(text('ulog_server_id') ?? '0', 'ulog_server_id'))
  const dbmIndex = Math.max(0, parseMetricInt(text('ulog_dbm_index') ?? '0', 'ulog_dbm_index'))
  const unknown = [...params.keys()].filter((name) => name.startsWith('ulog_')).sort()
  if (unknown.length > 0) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unsupported parameter: ${unknown[0]}`)
  return prefix === '' || maxFileSize <= 0 ? undefined : {prefix, maxFileSize, serverId, dbmIndex}
}

/** Logs every change of an open database to the update log at the prefix, which closes with it. */
function attachUpdateLog(dbm: DBM, ulog: UlogParams): void {
  const queue = MessageQueue.open(ulog.prefix, {maxFileSize: ulog.maxFileSize})
  dbm.addWriteObserver(new UpdateLogger(queue, ulog.serverId, ulog.dbmIndex))
  dbm.addLifecycleListener({synchronized: (hard) => queue.synchronize(hard), closed: () => queue.close()})
}

/**
 * How many shards a database has: `num_shards` (0: as many as the files on disk, at least
 * one); without it, the shard files found at the path, so that a sharded database opens by
 * its plain name. 0 means not sharded.
 */
function shardCount(path: string, shardText: string | undefined): number {
  if (shardText === undefined) return path !== '' && !fs.existsSync(path) ? detectShards(path) : 0
  const count = parseMetricInt(shardText, 'num_shards')
  if (count < 0) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `num_shards: must not be negative: "${shardText}"`)
  return count > 0 ? count : (path === '' ? 0 : detectShards(path)) || 1
}

/** Opens from a configuration string `path#name=value,...`. */
export function openConfig(config: string, options: OpenDBMOptions = {}): DBM {
  const {path, params} = parseConfig(config)
  return openDBM(path, params, options)
}

export interface RestoreDatabaseOptions {
  /** The class, when the path does not tell it. */
  dbm?: string
  /** -1: every record that can be read; 0: the state of the last synchronize; else an offset to stop at. */
  endOffset?: number
  /** The caller holds the old file's lock: read it without taking one. */
  sourceLocked?: boolean
}

/**
 * Recovers what can be read from a damaged database file into a new one. An existing new
 * file keeps its tuning; otherwise it takes the old file's. Returns the records recovered
 * and the damaged regions skipped.
 */
export function restoreDatabase(oldPath: string, newPath: string, options: RestoreDatabaseOptions = {}): {records: number; broken: number} {
  const cls = selectClass(oldPath, options.dbm)
  if (cls.name === 'tree') return TreeDBM.restoreFile(oldPath, newPath, options.endOffset ?? -1, {sourceLocked: options.sourceLocked})
  if (cls.name === 'skip') return SkipDBM.restoreFile(oldPath, newPath)
  if (cls.name !== 'hash') throw new StatusError(Code.NOT_IMPLEMENTED_ERROR, `restoring ${cls.name} databases is not supported`)
  return HashDBM.restoreFile(oldPath, newPath, options.endOffset ?? -1, {sourceLocked: options.sourceLocked})
}

/**
 * Restores a file the way a writer's open does after a crash, with the restore mode given
 * (default or sync), and closes it. Returns whether it needed restoring. NOT_FOUND_ERROR for
 * a missing file: nothing is created.
 */
export function restoreByOpening(path: string, restoreMode: string, dbmName?: string): boolean {
  if (!fs.existsSync(path) && detectShards(path) === 0) throw new StatusError(Code.NOT_FOUND_ERROR, `no such database: ${path}`)
  const dbm = openDBM(path, new Map([['restore_mode', restoreMode], ...(dbmName ? ([['dbm', dbmName]] as [string, string][]) : [])]), {writable: true})
  try {
    return new Map(dbm.inspect()).get('auto_restored') === 'true'
  } finally {
    dbm.close()
  }
}

/**
 * Restores a damaged file where it is: the recovered database takes the old path and the
 * damaged file is kept beside it as `<path>.old`, so nothing is lost if the recovery missed
 * something. The file must not be open for writing elsewhere.
 */
export function restoreDatabaseInPlace(path: string, options: RestoreDatabaseOptions = {}): {records: number; broken: number; keptAs: string} {
  const lock = FileLock.acquire(path, 'exclusive')
  const temp = `${path}.tmp.restore`
  const keptAs = `${path}.old`
  let restoredLock: FileLock | undefined
  try {
    fs.rmSync(temp, {force: true})
    const result = restoreDatabase(path, temp, {...options, sourceLocked: true})
    // The restored file is locked before it takes the name, so the path is never unguarded.
    restoredLock = FileLock.acquire(temp, 'exclusive')
    fs.renameSync(path, keptAs)
    fs.renameSync(temp, path)
    return {...result, keptAs}
  } catch (error) {
    fs.rmSync(temp, {force: true})
    throw error
  } finally {
    restoredLock?.release()
    lock.release()
  }
}
