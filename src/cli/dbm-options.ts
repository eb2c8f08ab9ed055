import * as fs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import {Flags} from '@oclif/core'
import type {DBM} from '../engine/dbm.js'
import {metricIntFlag} from './args.js'
import {UsageError} from './base-command.js'
import {availableClasses, classesTaking, selectClass} from '../engine/classes.js'
import {parseConfig, parseParams, type Params} from '../engine/params.js'
import {waitForLocks} from '../engine/io/file-lock.js'
import {openDBM} from '../engine/poly.js'
import {Code, StatusError} from '../engine/status.js'

/** The classes this build opens, as --dbm takes them. */
const CLASS_NAMES = availableClasses()
  .map((info) => info.name)
  .join(', ')

/** Which classes a tuning flag applies to, for its description. */
const takes = (param: string): string =>
  classesTaking(param)
    .filter((name) => CLASS_NAMES.split(', ').includes(name))
    .join(', ')

/**
 * Options of Tkrzw's tools that choose how their C++ file classes do I/O. kv's files are
 * always memory-mapped and grow as kv decides, so these change nothing; they are accepted
 * so that scripts port by changing the program's name.
 */
const compatibleFileFlags = {
  file: Flags.string({description: 'file implementation (accepted for compatibility: files are always memory-mapped)'}),
  alloc_init: Flags.string({description: 'initial allocation size (accepted for compatibility; no effect)', hidden: true}),
  alloc_inc: Flags.string({description: 'allocation growth factor (accepted for compatibility; no effect)', hidden: true}),
  block_size: Flags.string({description: 'block size of direct I/O (accepted for compatibility; no effect)', hidden: true}),
  direct_io: Flags.boolean({description: 'direct I/O (accepted for compatibility; no effect)', hidden: true}),
  sync_io: Flags.boolean({description: 'synchronous I/O (accepted for compatibility; no effect)', hidden: true}),
  padding: Flags.boolean({description: 'padding at the end of the file (accepted for compatibility; no effect)', hidden: true}),
  pagecache: Flags.boolean({description: 'page cache in the process (accepted for compatibility; no effect)', hidden: true}),
}

/** Flags every `kv dbm` command takes, named as in tkrzw_dbm_util. */
export const commonDbmFlags = {
  dbm: Flags.string({
    description: 'database class (auto: by the extension)',
    options: ['auto', ...CLASS_NAMES.split(', ')],
    default: 'auto',
  }),
  params: Flags.string({description: 'tuning parameters as "name=value,name=value"'}),
  ...compatibleFileFlags,
  no_wait: Flags.boolean({description: 'fail at once if another process holds the file (the default is to wait for it)'}),
  no_lock: Flags.boolean({description: 'take no lock on the file (only when nothing else can be using it)'}),
  sync_hard: Flags.boolean({description: 'synchronize to the device when closing'}),
}

/** The reducer flag of set and merge, with tkrzw_dbm_util's names. */
export const reducerFlag = Flags.string({
  description: 'skip: what a synchronize makes of the values of one key (default none: all are kept)',
  options: ['none', 'first', 'second', 'last', 'concat', 'concatnull', 'concattab', 'concatline', 'total', 'totalbe', 'remove'],
})

/** The reducer to synchronize with, if one was asked for; a usage error for a database that takes none. */
export function checkReducer(dbm: DBM, reducer: string | undefined): string | undefined {
  if (reducer === undefined || reducer === 'none') return undefined
  if (!dbm.syncParams().includes('reducer')) throw new UsageError(`--reducer applies to skip databases, not to ${dbm.className}`)
  return reducer
}

/** Tuning flags for creating and rebuilding. */
export const tuningFlags = {
  buckets: metricIntFlag({description: `number of hash buckets (${takes('num_buckets')}): num_buckets`}),
  comparator: Flags.string({description: `key comparator (${takes('key_comparator')}): lex, lexcase, dec, hex, real, float, signed`}),
  in_place: Flags.boolean({description: 'hash: update records in place (the default)', exclusive: ['append']}),
  append: Flags.boolean({description: 'hash: append every update at the end of the file', exclusive: ['in_place']}),
  record_crc: Flags.string({description: 'hash: CRC width of each record (-1: the default)', options: ['-1', '0', '8', '16', '32']}),
  record_comp: Flags.string({description: 'hash: record compression', options: ['default', 'none', 'zlib', 'zstd', 'lz4', 'lzma']}),
  offset_width: Flags.string({
    description: 'hash: bytes of a record offset (the file can grow to 2^(8*width+align_pow))',
    options: ['3', '4', '5', '6'],
  }),
  align_pow: metricIntFlag({description: 'hash: records start at multiples of 2^align_pow bytes (0 to 16)', min: 0}),
  max_page_size: metricIntFlag({description: 'tree: bytes of a leaf page before it splits (default 8130)', min: 1}),
  max_branches: metricIntFlag({description: 'tree: links of an inner page before it splits (default 256)', min: 2}),
  max_cached_pages: metricIntFlag({description: 'tree: pages held in the cache (default 10000)', min: 1}),
  page_update_write: Flags.boolean({description: 'tree: write every page change at once instead of at eviction and synchronize'}),
  step_unit: metricIntFlag({description: 'skip: a record links forward to the one step_unit^level records on (default 4)', min: 2}),
  max_level: metricIntFlag({description: 'skip: levels of forward links (default 14)', min: 1}),
  sort_mem_size: metricIntFlag({description: 'skip: bytes of updates sorted in memory before they spill to a temporary file (default 256Mi)', min: 1}),
  insert_in_order: Flags.boolean({description: 'skip: records arrive in key order, so they are written without sorting'}),
}

export interface DbmFlagValues {
  dbm: string
  no_wait?: boolean
  no_lock?: boolean
  params?: string
  sync_hard?: boolean
  buckets?: string
  comparator?: string
  in_place?: boolean
  append?: boolean
  record_crc?: string
  record_comp?: string
  offset_width?: string
  align_pow?: string
  max_page_size?: string
  max_branches?: string
  max_cached_pages?: string
  page_update_write?: boolean
  step_unit?: string
  max_level?: string
  sort_mem_size?: string
  insert_in_order?: boolean
}

/** The parameters the tuning flags stand for. */
export function tuningParams(flags: DbmFlagValues): Params {
  const params: Params = new Map()
  if (flags.buckets !== undefined) params.set('num_buckets', flags.buckets)
  if (flags.comparator !== undefined) params.set('key_comparator', flags.comparator)
  if (flags.in_place) params.set('update_mode', 'in_place')
  if (flags.append) params.set('update_mode', 'appending')
  if (flags.record_crc !== undefined && flags.record_crc !== '-1') params.set('record_crc_mode', flags.record_crc === '0' ? 'none' : flags.record_crc)
  if (flags.record_comp !== undefined && flags.record_comp !== 'default') params.set('record_comp_mode', flags.record_comp)
  if (flags.offset_width !== undefined) params.set('offset_width', flags.offset_width)
  if (flags.align_pow !== undefined) params.set('align_pow', flags.align_pow)
  if (flags.max_page_size !== undefined) params.set('max_page_size', flags.max_page_size)
  if (flags.max_branches !== undefined) params.set('max_branches', flags.max_branches)
  if (flags.max_cached_pages !== undefined) params.set('max_cached_pages', flags.max_cached_pages)
  if (flags.page_update_write) params.set('page_update_mode', 'write')
  if (flags.step_unit !== undefined) params.set('step_unit', flags.step_unit)
  if (flags.max_level !== undefined) params.set('max_level', flags.max_level)
  if (flags.sort_mem_size !== undefined) params.set('sort_mem_size', flags.sort_mem_size)
  if (flags.insert_in_order) params.set('insert_in_order', 'true')
  return params
}

/**
 * The path and parameters a command means: the file argument may itself be a
 * configuration string, and --params and the tuning flags add to it.
 */
export function dbmTarget(file: string, flags: DbmFlagValues): {path: string; params: Params} {
  const target = configTarget(file, flags)
  // A database without a file would vanish when the command ends: nothing to work on.
  if (target.path === '') throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `no database file in "${file}"`)
  return target
}

/** The same, where an on-memory database without a file is allowed (benchmarks). */
function configTarget(file: string, flags: DbmFlagValues): {path: string; params: Params} {
  const {path, params} = parseConfig(file)
  if (flags.params) for (const [name, value] of parseParams(flags.params)) params.set(name, value)
  if (flags.dbm && flags.dbm !== 'auto') params.set('dbm', flags.dbm)
  for (const [name, value] of tuningParams(flags)) params.set(name, value)
  return {path, params}
}

export interface OpenTargetOptions {
  /** Start empty. */
  truncate?: boolean
  /** Make the database when it does not exist; otherwise a missing one is NOT_FOUND_ERROR. */
  create?: boolean
}

/** What a command made, by database: if the command fails, those files go again (see withDbm). */
const madeByCommand = new WeakMap<DBM, () => void>()

/**
 * Opens the database a command names. Only commands that make databases (create, set,
 * import, merge) make one that is not there; the others answer NOT_FOUND_ERROR and leave
 * nothing behind. If the open or the command fails, the files it made are removed, and
 * only those: whatever was there before stays.
 */
export function openTarget(file: string, flags: DbmFlagValues, writable: boolean, options: OpenTargetOptions = {}): DBM {
  const {path, params} = dbmTarget(file, flags)
  // A path no class answers to is the first thing wrong with it, whether it exists or not.
  selectClass(path, params.get('dbm'))
  const before = databaseFiles(path)
  if (before.size === 0 && !(writable && (options.create || options.truncate))) throw new StatusError(Code.NOT_FOUND_ERROR, `no such database: ${path}`)
  // Like Tkrzw's tools, a command waits for a file another process holds, unless --no_wait.
  if (!flags.no_wait) waitForLocks((message) => process.stderr.write(`kv: ${message}\n`))
  const removeMade = () => {
    for (const name of databaseFiles(path)) if (!before.has(name)) fs.rmSync(name, {force: true})
  }
  let dbm: DBM
  try {
    dbm = openDBM(path, params, {writable, truncate: options.truncate, noLock: flags.no_lock})
  } catch (error) {
    removeMade()
    throw error
  }
  madeByCommand.set(dbm, removeMade)
  return dbm
}

/** The files of the database at a path: the file itself (a link counts as there) and any shard files. */
function databaseFiles(path: string): Set<string> {
  const found = new Set<string>()
  try {
    fs.lstatSync(path)
    found.add(path)
  } catch {
    // not there
  }
  const dir = nodePath.dirname(path)
  const prefix = `${nodePath.basename(path)}-`
  let names: string[] = []
  try {
    names = fs.readdirSync(dir)
  } catch {
    // a directory that is not there holds nothing
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d{5}-of-\d{5}$/.test(name.slice(prefix.length))) found.add(nodePath.join(dir, name))
  }
  return found
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
    // A command that failed leaves nothing it made behind.
    madeByCommand.get(dbm)?.()
    throw error
  }
  if (hard && dbm.isWritable()) dbm.synchronize(true)
  dbm.close()
  return result
}

/** Flags shared by the `kv dbm perf` scenarios, named as in tkrzw_dbm_perf. */
export const dbmPerfFlags = {
  ...tuningFlags,
  dbm: Flags.string({description: 'database class', options: CLASS_NAMES.split(', '), default: 'tiny'}),
  iter: Flags.integer({description: 'number of iterations', default: 10000, min: 1}),
  size: Flags.integer({description: 'size of each value in bytes', default: 8, min: 0}),
  path: Flags.string({description: 'file to write the database to (on-memory classes save at the end)'}),
  params: Flags.string({description: 'tuning parameters as "name=value,..."'}),
  random_seed: Flags.integer({description: 'random seed', default: 0}),
  ...compatibleFileFlags,
  no_wait: Flags.boolean({description: 'fail at once if another process holds --path (the default is to wait for it)'}),
  no_lock: Flags.boolean({description: 'take no lock on --path'}),
}

/**
 * Opens the database a benchmark runs on. File classes need a file: without --path they
 * get one in a temporary directory, removed by `cleanup`.
 */
export function openPerfTarget(flags: DbmFlagValues & {path?: string}, truncate = true): {dbm: DBM; cleanup: () => void} {
  let file = flags.path ?? ''
  let cleanup = (): void => {}
  if (file === '' && selectClass('', flags.dbm === 'auto' ? undefined : flags.dbm).storage === 'file') {
    const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'kv-perf-'))
    file = nodePath.join(dir, 'casket')
    cleanup = () => fs.rmSync(dir, {recursive: true, force: true})
  }
  try {
    const {path, params} = configTarget(file, flags)
    if (!flags.no_wait) waitForLocks((message) => process.stderr.write(`kv: ${message}\n`))
    return {dbm: openDBM(path, params, {writable: true, truncate, noLock: flags.no_lock}), cleanup}
  } catch (error) {
    cleanup()
    throw error
  }
}
