import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {NOOP, type DBM, type DBMIterator} from '../../engine/dbm.js'
import {ExpiringDBM, XT_NEVER, readWithExpiry} from '../../engine/expiry/expiring-dbm.js'
import {Code, StatusError} from '../../engine/status.js'
import {logFileInfos, removeOldLogFiles} from '../../engine/ulog/files.js'
import type {ServerCore} from '../../server/core.js'
import {NoSuchDatabaseError} from '../../server/operations.js'
import {kyotoSpecialOf} from './db-spec.js'
import {INT64_MAX, INT64_MIN, formatReal} from './numbers.js'
import {DUPLICATE, KtRecords, NO_RECORD, withXt, type StoreMode} from './records.js'
import {RV, RpcFailure, type KtCounters} from './rpc-failure.js'
import type {ByteMap} from './tsv.js'

export type Output = [Buffer, Buffer][]

/** What a connection keeps between calls: its cursors, by ID. */
export class RpcSession {
  readonly cursors = new Map<string, {index: number; iterator: DBMIterator}>()
}

export const KT_VERSION = '0.9.56'
const KC_VERSION = '1.2.76'

/** Runs a script procedure: the hook the scripting component fills in. */
export type ScriptRunner = (name: string, input: ByteMap) => Promise<{rv: RV; output: Output}>

export interface ProcedureContext {
  core: ServerCore
  session: RpcSession
  counters: KtCounters
  records: KtRecords
  script?: ScriptRunner
}

const text = (value: string | number | bigint): Buffer => Buffer.from(String(value), 'latin1')

/** The failure a storage error stands for: a missing or duplicate record is a logical failure (450). */
export function failureOf(error: unknown): RpcFailure {
  if (error instanceof RpcFailure) return error
  if (error instanceof NoSuchDatabaseError) return new RpcFailure(RV.INVALID, 'no such database')
  if (error instanceof StatusError) {
    switch (error.code) {
      case Code.NOT_FOUND_ERROR:
        return new RpcFailure(RV.LOGIC, NO_RECORD)
      case Code.DUPLICATION_ERROR:
        return new RpcFailure(RV.LOGIC, DUPLICATE)
      case Code.INFEASIBLE_ERROR:
        return new RpcFailure(RV.LOGIC, `DB: 8: logical inconsistency: ${error.detail || error.message}`)
      case Code.INVALID_ARGUMENT_ERROR:
        return new RpcFailure(RV.INVALID, error.detail || error.message)
      case Code.NOT_IMPLEMENTED_ERROR:
        return new RpcFailure(RV.NOIMPL, error.detail || error.message)
      default:
        return new RpcFailure(RV.INTERNAL, error.detail || error.message)
    }
  }
  return new RpcFailure(RV.INTERNAL, (error as Error).message)
}

/** A database's name for `DB=name`: its file name (the part of the path after the last `/`). */
export function databaseName(core: ServerCore, index: number): string {
  const entry = core.registry.entries[index]
  const filePath = entry.dbm?.getFilePath() || entry.config.split('#')[0]
  if (filePath !== '') return path.basename(filePath)
  // An on-memory database is named as Kyoto Tycoon names its kind (':', '*', '%', '-', '+'),
  // or else by its configuration.
  return kyotoSpecialOf(entry.config) ?? entry.config
}

/** The database a call names with `DB`: an index when it starts with a digit, otherwise a name; 0 by default. */
export function resolveDatabase(core: ServerCore, spec: string | undefined): number {
  if (spec === undefined || spec === '') return 0
  if (/^\d/.test(spec)) {
    const index = Number.parseInt(spec, 10)
    if (index < core.registry.size) return index
  } else {
    for (let i = 0; i < core.registry.size; i++) if (databaseName(core, i) === spec) return i
  }
  throw new RpcFailure(RV.INVALID, 'no such database')
}

function parseXt(value: Buffer | undefined): number | undefined {
  if (value === undefined) return undefined
  const xt = Number.parseInt(value.toString('latin1').trim(), 10)
  if (!Number.isFinite(xt)) throw new RpcFailure(RV.INVALID, 'invalid parameters')
  return xt
}

/** The `xt` output of a record that expires (none for one that does not). */
function xtOutput(xt: number): Output {
  return xt > 0 && xt < XT_NEVER ? [[text('xt'), text(xt)]] : []
}

class Call {
  readonly input: ByteMap

  constructor(
    readonly context: ProcedureContext,
    input: ByteMap,
  ) {
    this.input = input
  }

  get core(): ServerCore {
    return this.context.core
  }

  string(name: string): string | undefined {
    return this.input.get(name)?.toString('latin1')
  }

  required(name: string): Buffer {
    const value = this.input.get(name)
    if (value === undefined) throw new RpcFailure(RV.INVALID, 'invalid parameters')
    return value
  }

  get index(): number {
    return resolveDatabase(this.core, this.string('DB'))
  }

  get dbm(): DBM {
    return this.core.database(this.index)
  }

  get xt(): number | undefined {
    return parseXt(this.input.get('xt'))
  }

  /** The records of a bulk call: every input whose name starts with `_`, without it. */
  underscored(): {keys: Buffer[]; values: Buffer[]} {
    const keys: Buffer[] = []
    const values: Buffer[] = []
    for (const [name, value] of this.input) {
      if (!name.startsWith('_')) continue
      keys.push(Buffer.from(name.slice(1), 'latin1'))
      values.push(value)
    }
    return {keys, values}
  }

  count(name: keyof KtCounters['counts']): void {
    this.context.counters.counts[name]++
  }

  get records(): KtRecords {
    return this.context.records
  }
}

type Procedure = (call: Call) => Output | Promise<Output>

function store(mode: StoreMode): Procedure {
  return (call) => {
    call.records.store(call.index, mode, call.required('key'), call.required('value'), call.xt)
    return []
  }
}

function increment(call: Call): Output {
  const key = call.required('key')
  const numText = call.required('num').toString('latin1').trim()
  if (!/^[-+]?\d+$/.test(numText)) throw new RpcFailure(RV.INVALID, 'invalid parameters')
  const origText = call.string('orig')
  const orig = origText === 'try' ? INT64_MIN : origText === 'set' ? INT64_MAX : BigInt(/^[-+]?\d+$/.test(origText ?? '') ? origText! : '0')
  return [[text('num'), text(call.records.increment(call.index, key, BigInt(numText), orig, call.xt))]]
}

function incrementDouble(call: Call): Output {
  const key = call.required('key')
  const num = Number(call.required('num').toString('latin1').trim())
  if (Number.isNaN(num)) throw new RpcFailure(RV.INVALID, 'invalid parameters')
  const origText = call.string('orig')
  const orig = origText === 'try' ? Number.NEGATIVE_INFINITY : origText === 'set' ? Number.POSITIVE_INFINITY : Number(origText ?? 0) || 0
  return [[text('num'), text(formatReal(call.records.incrementDouble(call.index, key, num, orig, call.xt)))]]
}

function getBulk(call: Call): Output {
  const found = call.records.getBulk(call.index, call.underscored().keys)
  const output: Output = [[text('num'), text(found.length)]]
  for (const {key, value} of found) {
    // The name as it came: an underscore, then the key.
    const name = Buffer.allocUnsafe(key.length + 1)
    name[0] = 0x5f
    key.copy(name, 1)
    output.push([name, value])
  }
  return output
}

function matching(call: Call, mode: 'prefix' | 'regex' | 'similar', patternName: string): Output {
  const pattern = call.required(patternName)
  const maxText = call.string('max')
  const max = maxText === undefined ? -1 : Number.parseInt(maxText, 10)
  let keys: Buffer[]
  if (mode === 'similar') {
    const range = Math.max(0, Number.parseInt(call.string('range') ?? '1', 10) || 0)
    const utf = /^(true|1|yes)$/i.test(call.string('utf') ?? '')
    keys = call.records.matchSimilar(call.index, pattern, range, utf, Number.isNaN(max) ? -1 : max)
  } else keys = call.records.match(call.index, mode, pattern, Number.isNaN(max) ? -1 : max)
  return [[text('num'), text(keys.length)], ...keys.map((key, i): [Buffer, Buffer] => [Buffer.concat([Buffer.from('_'), key]), text(i)])]
}

// ---- cursors ----

function cursorOf(call: Call, create: boolean): {index: number; iterator: DBMIterator} {
  const id = call.string('CUR')
  if (id === undefined) throw new RpcFailure(RV.INVALID, 'invalid parameters')
  let cursor = call.context.session.cursors.get(id)
  if (!cursor) {
    // An unknown ID makes a cursor, which is on no record yet.
    if (!create) throw new RpcFailure(RV.LOGIC, NO_RECORD)
    const index = call.index
    cursor = {index, iterator: call.core.database(index).makeIterator()}
    call.context.session.cursors.set(id, cursor)
  }
  return cursor
}

function onRecord(iterator: DBMIterator): void {
  if (iterator.get() === undefined) throw new RpcFailure(RV.LOGIC, NO_RECORD)
}

function jump(backward: boolean): Procedure {
  return (call) => {
    const id = call.string('CUR')
    const index = call.index
    const dbm = call.core.database(index)
    if (backward && !dbm.isOrdered()) throw new RpcFailure(RV.NOIMPL, 'DB: 1: not implemented: this database is not ordered')
    if (id === undefined) throw new RpcFailure(RV.INVALID, 'invalid parameters')
    // A jump binds the cursor to the database it names.
    const cursor = {index, iterator: dbm.makeIterator()}
    call.context.session.cursors.set(id, cursor)
    const key = call.input.get('key')
    call.count('cnt_misc')
    if (key === undefined) {
      if (backward) cursor.iterator.last()
      else cursor.iterator.first()
    } else if (backward) cursor.iterator.jumpLower(key, true)
    else cursor.iterator.jump(key)
    onRecord(cursor.iterator)
    return []
  }
}

function step(backward: boolean): Procedure {
  return (call) => {
    const {index, iterator} = cursorOf(call, false)
    if (backward && !call.core.database(index).isOrdered()) throw new RpcFailure(RV.NOIMPL, 'DB: 1: not implemented: this database is not ordered')
    call.count('cnt_misc')
    onRecord(iterator)
    if (backward) iterator.previous()
    else iterator.next()
    onRecord(iterator)
    return []
  }
}

function wantsStep(call: Call): boolean {
  return call.input.has('step')
}

function cursorRead(parts: 'key' | 'value' | 'both', seizing = false): Procedure {
  return (call) => {
    const {index, iterator} = cursorOf(call, false)
    call.count('cnt_get')
    const record = iterator.get()
    if (!record) {
      call.count('cnt_get_misses')
      throw new RpcFailure(RV.LOGIC, NO_RECORD)
    }
    const [key, value] = record
    const output: Output = []
    if (parts !== 'value') output.push([text('key'), key])
    if (parts !== 'key') output.push([text('value'), value])
    if (parts === 'both') output.push(...xtOutput(readWithExpiry(call.core.database(index), key)?.xt ?? 0))
    if (seizing) iterator.remove()
    else if (wantsStep(call)) iterator.next()
    return output
  }
}

function cursorSetValue(call: Call): Output {
  const {index, iterator} = cursorOf(call, false)
  const value = call.required('value')
  call.count('cnt_set')
  const done = withXt(call.core.database(index), index, call.xt, () =>
    iterator.process({ignoresValue: true, processFull: () => value, processEmpty: () => NOOP}, true),
  )
  if (!done) {
    call.count('cnt_set_misses')
    throw new RpcFailure(RV.LOGIC, NO_RECORD)
  }
  if (wantsStep(call)) iterator.next()
  return []
}

function cursorRemove(call: Call): Output {
  const {iterator} = cursorOf(call, false)
  call.count('cnt_remove')
  if (iterator.get() === undefined) {
    call.count('cnt_remove_misses')
    throw new RpcFailure(RV.LOGIC, NO_RECORD)
  }
  iterator.remove()
  return []
}

function cursorDelete(call: Call): Output {
  const id = call.string('CUR')
  // As ktserver: deleting a cursor the connection does not hold is not implemented.
  if (id === undefined || !call.context.session.cursors.delete(id)) throw new RpcFailure(RV.NOIMPL, 'not implemented: cur_delete')
  return []
}

// ---- the server ----

function report(call: Call): Output {
  const core = call.core
  const output: Output = []
  let totalCount = 0
  let totalSize = 0
  for (let i = 0; i < core.registry.size; i++) {
    const dbm = core.registry.entries[i].dbm
    const open = dbm?.isOpen() === true
    const count = open ? dbm.count() : 0
    const size = open ? dbm.getFileSize() : 0
    totalCount += count
    totalSize += size
    output.push([text(`db_${i}`), text(`count=${count} size=${size} path=${databaseName(core, i)}`)])
  }
  const now = Date.now() / 1000
  const memory = process.memoryUsage()
  const usage = process.cpuUsage()
  output.push(
    [text('db_total_count'), text(totalCount)],
    [text('db_total_size'), text(totalSize)],
    [text('serv_conn_count'), text(call.context.counters.connections)],
    [text('serv_task_count'), text(Math.max(0, core.numActiveCalls - 1))],
    [text('serv_thread_count'), text(1)],
    [text('serv_current_time'), text(now.toFixed(6))],
    [text('serv_running_term'), text((now - core.startedAt).toFixed(6))],
    [text('serv_proc_id'), text(process.pid)],
    [text('sys_mem_total'), text(os.totalmem())],
    [text('sys_mem_free'), text(os.freemem())],
    [text('sys_mem_cached'), text(cachedMemory())],
    [text('sys_mem_rss'), text(memory.rss)],
    [text('sys_mem_size'), text(memory.rss)],
    [text('sys_mem_peak'), text(process.resourceUsage().maxRSS * 1024)],
    [text('sys_ru_utime'), text((usage.user / 1e6).toFixed(6))],
    [text('sys_ru_stime'), text((usage.system / 1e6).toFixed(6))],
    [text('conf_kt_version'), text(`${KT_VERSION} (kv)`)],
    [text('conf_kt_features'), text('(kv)')],
    [text('conf_kc_version'), text(`${KC_VERSION} (kv)`)],
    [text('conf_kc_features'), text('(kv)')],
    [text('conf_os_name'), text(os.type())],
  )
  for (const [name, value] of Object.entries(call.context.counters.counts)) output.push([text(name), text(value)])
  const replication = core.replication
  if (replication) {
    const attributes = new Map(replication.attributes())
    const master = attributes.get('repl_master') ?? ''
    if (master !== '') {
      const split = master.lastIndexOf(':')
      output.push(
        [text('repl_master_host'), text(split < 0 ? master : master.slice(0, split))],
        [text('repl_master_port'), text(split < 0 ? '' : master.slice(split + 1))],
        [text('repl_timestamp'), text(replication.maxTimestamp())],
      )
    }
  }
  return output
}

/** The page cache's size (Linux), as the reference reports it; 0 where it is not known. */
function cachedMemory(): number {
  try {
    const match = /^Cached:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'latin1'))
    return match ? Number(match[1]) * 1024 : 0
  } catch {
    return 0
  }
}

function status(call: Call): Output {
  const index = call.index
  const dbm = call.core.database(index)
  const output: Output = [
    [text('count'), text(dbm.count())],
    [text('size'), text(dbm.getFileSize())],
    [text('path'), text(databaseName(call.core, index))],
  ]
  const seen = new Set(['count', 'size', 'path'])
  for (const [name, value] of dbm.inspect()) {
    if (seen.has(name)) continue
    seen.add(name)
    output.push([text(name), text(value)])
  }
  call.count('cnt_misc')
  return output
}

async function synchronize(call: Call): Promise<Output> {
  if (call.input.has('command'))
    throw new RpcFailure(RV.NOIMPL, 'the command hook of synchronize is not supported: run backups with kv remote sync make_backup=SUFFIX')
  const hard = /^(true|1|yes)$/i.test(call.string('hard') ?? '')
  call.count('cnt_misc')
  await call.core.operations.synchronize(call.index, hard, new Map())
  return []
}

async function vacuum(call: Call): Promise<Output> {
  const dbm = call.dbm
  call.count('cnt_misc')
  if (dbm instanceof ExpiringDBM) await dbm.sweep()
  return []
}

async function playScript(call: Call): Promise<Output> {
  if (!call.context.script) throw new RpcFailure(RV.NOIMPL, 'the scripting extention is disabled (serve with --script FILE.lua)')
  const name = call.string('name')
  if (name === undefined || !/^[A-Za-z0-9_]+$/.test(name)) throw new RpcFailure(RV.INVALID, 'invalid parameters')
  call.count('cnt_script')
  const input: ByteMap = new Map()
  for (const [key, value] of call.input) if (key.startsWith('_')) input.set(key.slice(1), value)
  const {rv, output} = await call.context.script(name, input)
  const prefixed: Output = output.map(([key, value]) => [Buffer.concat([Buffer.from('_'), key]), value])
  if (rv !== RV.SUCCESS) throw new RpcFailure(rv, rv === RV.NOIMPL ? 'no such scripting procedure' : 'the scripting procedure failed')
  return prefixed
}

function tuneReplication(call: Call): Output {
  const replication = call.core.replication
  if (!replication) throw new RpcFailure(RV.NOIMPL, 'this server does not replicate (serve it with --replication)')
  const host = call.string('host') ?? ''
  const port = call.string('port') ?? '1978'
  const ts = call.string('ts')
  // ts=now follows the master from now on; a number follows it from that timestamp.
  const skew = ts === undefined ? 0 : (ts === 'now' ? Date.now() : Number(ts)) - replication.maxTimestamp()
  replication.changeMaster(host === '' ? '' : `${host}:${port}`, Number.isFinite(skew) ? skew : 0)
  return []
}

function ulogList(call: Call): Output {
  const log = call.core.updateLog
  if (!log) throw new RpcFailure(RV.INVALID, 'no update log is kept (serve with --ulog_prefix)')
  return logFileInfos(log.queue.prefix).map((file): [Buffer, Buffer] => [text(file.path), text(`${fs.statSync(file.path).size}:${file.header.timestamp}`)])
}

function ulogRemove(call: Call): Output {
  const log = call.core.updateLog
  if (!log) throw new RpcFailure(RV.INVALID, 'no update log is kept (serve with --ulog_prefix)')
  const ts = call.string('ts')
  const limit = ts === undefined || ts === 'now' ? Number.MAX_SAFE_INTEGER : Number(ts)
  if (!Number.isFinite(limit)) throw new RpcFailure(RV.INVALID, 'invalid parameters')
  // The newest file is always kept: the server writes to it.
  removeOldLogFiles(log.queue.prefix, limit, true)
  return []
}

const PROCEDURES: {[name: string]: Procedure} = {
  void: () => [],
  echo: (call) => [...call.input].map(([name, value]): [Buffer, Buffer] => [Buffer.from(name, 'latin1'), value]),
  report,
  play_script: playScript,
  tune_replication: tuneReplication,
  ulog_list: ulogList,
  ulog_remove: ulogRemove,
  status,
  clear: (call) => (call.count('cnt_misc'), call.dbm.clear(), []),
  synchronize,
  set: store('set'),
  add: store('add'),
  replace: store('replace'),
  append: store('append'),
  increment,
  increment_double: incrementDouble,
  cas: (call) => (call.records.cas(call.index, call.required('key'), call.input.get('oval'), call.input.get('nval'), call.xt), []),
  remove: (call) => (call.records.remove(call.index, call.required('key')), []),
  get: (call) => {
    const found = call.records.get(call.index, call.required('key'))
    return [[text('value'), found.value], ...xtOutput(found.xt)]
  },
  check: (call) => {
    const found = call.records.get(call.index, call.required('key'))
    return [[text('vsiz'), text(found.value.length)], ...xtOutput(found.xt)]
  },
  seize: (call) => {
    const found = call.records.seize(call.index, call.required('key'))
    return [[text('value'), found.value], ...xtOutput(found.xt)]
  },
  set_bulk: (call) => {
    const {keys, values} = call.underscored()
    return [[text('num'), text(call.records.setBulk(call.index, keys, values, call.xt))]]
  },
  remove_bulk: (call) => [[text('num'), text(call.records.removeBulk(call.index, call.underscored().keys))]],
  get_bulk: getBulk,
  vacuum,
  match_prefix: (call) => matching(call, 'prefix', 'prefix'),
  match_regex: (call) => matching(call, 'regex', 'regex'),
  match_similar: (call) => matching(call, 'similar', 'origin'),
  cur_jump: jump(false),
  cur_jump_back: jump(true),
  cur_step: step(false),
  cur_step_back: step(true),
  cur_set_value: cursorSetValue,
  cur_remove: cursorRemove,
  cur_get_key: cursorRead('key'),
  cur_get_value: cursorRead('value'),
  cur_get: cursorRead('both'),
  cur_seize: cursorRead('both', true),
  cur_delete: cursorDelete,
}

export function isProcedure(name: string): boolean {
  return Object.hasOwn(PROCEDURES, name)
}

/**
 * Runs a TSV-RPC procedure: its output, or the failure that answers it (an RpcFailure).
 * Most procedures answer at once; those that wait (synchronize, vacuum, scripts) return a promise.
 */
export function callProcedure(context: ProcedureContext, name: string, input: ByteMap): Output | Promise<Output> {
  const procedure = Object.hasOwn(PROCEDURES, name) ? PROCEDURES[name] : undefined
  if (!procedure) throw new RpcFailure(RV.NOIMPL, `not implemented: ${name}`)
  try {
    const output = procedure(new Call(context, input))
    return output instanceof Promise ? output.catch((error: unknown) => Promise.reject(failureOf(error))) : output
  } catch (error) {
    throw failureOf(error)
  }
}
