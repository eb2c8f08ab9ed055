import {Flags} from '@oclif/core'
import type {DBM} from '../engine/dbm.js'
import {parseConfig, parseParams, type Params} from '../engine/params.js'
import {openDBM} from '../engine/poly.js'

/** Flags every `kv dbm` command takes, named as in tkrzw_dbm_util. */
export const commonDbmFlags = {
  dbm: Flags.string({
    description: 'database class: auto (by extension), tiny, baby, cache, hash, tree, skip',
    default: 'auto',
  }),
  params: Flags.string({description: 'tuning parameters as "name=value,name=value"'}),
  file: Flags.string({description: 'file implementation (accepted for compatibility; positional I/O is used)'}),
  no_wait: Flags.boolean({description: 'fail at once if the file is locked'}),
  no_lock: Flags.boolean({description: 'do not lock the file'}),
  sync_hard: Flags.boolean({description: 'synchronize to the device when closing'}),
}

/** Tuning flags for creating and rebuilding. */
export const tuningFlags = {
  buckets: Flags.string({description: 'number of hash buckets (tiny, hash): num_buckets'}),
  comparator: Flags.string({description: 'key comparator of ordered classes: lex, lexcase, dec, hex, real, float, signed'}),
}

export interface DbmFlagValues {
  dbm: string
  params?: string
  sync_hard?: boolean
  buckets?: string
  comparator?: string
}

/**
 * The path and parameters a command means: the file argument may itself be a
 * configuration string, and --params and the tuning flags add to it.
 */
export function dbmTarget(file: string, flags: DbmFlagValues): {path: string; params: Params} {
  const {path, params} = parseConfig(file)
  if (flags.params) for (const [name, value] of parseParams(flags.params)) params.set(name, value)
  if (flags.dbm && flags.dbm !== 'auto') params.set('dbm', flags.dbm)
  if (flags.buckets !== undefined) params.set('num_buckets', flags.buckets)
  if (flags.comparator !== undefined) params.set('key_comparator', flags.comparator)
  return {path, params}
}

/** Opens the database a command names. */
export function openTarget(file: string, flags: DbmFlagValues, writable: boolean, truncate = false): DBM {
  const {path, params} = dbmTarget(file, flags)
  return openDBM(path, params, {writable, truncate})
}

/** Runs work on an open database and closes it, also when the work fails. */
export async function withDbm<T>(dbm: DBM, hard: boolean | undefined, work: (dbm: DBM) => T | Promise<T>): Promise<T> {
  let result: T
  try {
    result = await work(dbm)
  } catch (error) {
    try {
      dbm.close()
    } catch {
      // the first failure is the one worth reporting
    }
    throw error
  }
  if (hard && dbm.isWritable()) dbm.synchronize(true)
  dbm.close()
  return result
}

/** Flags shared by the `kv dbm perf` scenarios, named as in tkrzw_dbm_perf. */
export const dbmPerfFlags = {
  dbm: Flags.string({description: 'database class: tiny, baby, cache (hash, tree, skip when available)', default: 'tiny'}),
  iter: Flags.integer({description: 'number of iterations', default: 10000, min: 1}),
  size: Flags.integer({description: 'size of each value in bytes', default: 8, min: 0}),
  path: Flags.string({description: 'file to write the database to (on-memory classes save at the end)'}),
  params: Flags.string({description: 'tuning parameters as "name=value,..."'}),
  random_seed: Flags.integer({description: 'random seed', default: 0}),
  json: Flags.boolean({description: 'print a JSON object instead of the text report'}),
}
