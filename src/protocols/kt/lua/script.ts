import * as fs from 'node:fs'
import * as zlib from 'node:zlib'
import type {DBMIterator} from '../../../engine/dbm.js'
import {XT_NEVER, readWithExpiry} from '../../../engine/expiry/expiring-dbm.js'
import {hashFnv, hashMurmur} from '../../../engine/io/hashing.js'
import {encodeVarint, readVarint} from '../../../engine/io/varint.js'
import type {ServerCore} from '../../../server/core.js'
import {databaseName, failureOf, type Output} from '../procedures.js'
import {CONFLICT, DUPLICATE, INCOMPATIBLE, NO_RECORD, levenshtein, withXt, type KtRecords, type StoreMode} from '../records.js'
import {RV, RpcFailure} from '../rpc-failure.js'
import type {ByteMap} from '../tsv.js'
import {PRELUDE} from './prelude.js'
import {LuaRuntime, LuaTable, ScriptError, type LuaValue} from './runtime.js'

export interface ScriptOptions {
  /** Milliseconds one call may run (default 10 s). */
  timeoutMs?: number
  /** Bytes the script's state may hold (default 256 MiB). */
  memoryBytes?: number
}

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MEMORY = 256 << 20

/** What a DB or cursor native answers the prelude: true and the results, or false, an error code and a message. */
function answered(work: () => LuaValue[]): LuaValue[] {
  try {
    return [true, ...work()]
  } catch (error) {
    return [false, ...errorCodeOf(error)]
  }
}

/** Kyoto Cabinet's error codes, by the failure messages of the record operations. */
function errorCodeOf(error: unknown): [number, string] {
  const failure = failureOf(error)
  if (failure.message === NO_RECORD) return [7, 'no record']
  if (failure.message === DUPLICATE) return [6, 'record duplication']
  if (failure.message === INCOMPATIBLE || failure.message === CONFLICT) return [8, 'logical inconsistency']
  if (failure.rv === RV.INVALID) return [2, failure.message]
  if (failure.rv === RV.NOIMPL) return [1, failure.message]
  return [9, failure.message]
}

const bytes = (value: LuaValue): Buffer => (Buffer.isBuffer(value) ? value : Buffer.from(value === undefined || value === null ? '' : String(value), 'latin1'))
const numberOf = (value: LuaValue, fallback = 0): number => {
  if (typeof value === 'number') return value
  const parsed = Number(Buffer.isBuffer(value) ? value.toString('latin1') : value)
  return Number.isFinite(parsed) ? parsed : fallback
}
const xtOf = (value: LuaValue): number | undefined => (value === undefined || value === null ? undefined : Math.trunc(numberOf(value)))
const keysOf = (value: LuaValue): Buffer[] =>
  value instanceof LuaTable ? value.entries.map(([key, item]) => (typeof key === 'number' ? bytes(item) : key)) : []

/**
 * A Kyoto Tycoon script: a Lua file whose global functions are called by play_script, with
 * the `kt` environment mapped onto the server's databases. One state serves every call, in
 * turn (kv has one event loop: the reference's one state per worker thread is one state here).
 */
export class KtScript {
  private runtime: LuaRuntime | undefined
  /** The cursors the running call opened, by ID; they end with the call. */
  private readonly cursors = new Map<number, {index: number; iterator: DBMIterator}>()
  private nextCursor = 1

  private constructor(
    readonly path: string,
    private readonly core: ServerCore,
    private readonly records: KtRecords,
    private readonly options: ScriptOptions,
  ) {}

  static async load(path: string, core: ServerCore, records: KtRecords, options: ScriptOptions = {}): Promise<KtScript> {
    const script = new KtScript(path, core, records, options)
    script.runtime = await script.start()
    return script
  }

  /** A fresh state with the environment and the script loaded; the old one stays until this succeeds. */
  private async start(): Promise<LuaRuntime> {
    let source: Buffer
    try {
      source = fs.readFileSync(this.path)
    } catch (error) {
      throw new ScriptError(`cannot read the script ${this.path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    const runtime = await LuaRuntime.create({timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, memoryBytes: this.options.memoryBytes ?? DEFAULT_MEMORY})
    try {
      this.defineNatives(runtime)
      runtime.run(Buffer.from(PRELUDE), 'kt')
      runtime.run(source, this.path)
    } catch (error) {
      runtime.close()
      throw new ScriptError(`the script does not load: ${(error as Error).message}`)
    }
    return runtime
  }

  /** Loads the file again (SIGUSR1); on failure the old script goes on serving, and the error is returned. */
  async reload(): Promise<void> {
    const fresh = await this.start()
    this.runtime?.close()
    this.runtime = fresh
  }

  close(): void {
    this.runtime?.close()
    this.runtime = undefined
  }

  /** play_script: the function's return value and output map; NOIMPL when there is no such function. */
  run = (name: string, input: ByteMap): Promise<{rv: RV; output: Output}> => {
    const runtime = this.runtime
    if (!runtime) return Promise.reject(new RpcFailure(RV.INTERNAL, 'the script is not loaded'))
    const inmap = new LuaTable([...input].map(([key, value]): [Buffer, LuaValue] => [Buffer.from(key, 'latin1'), value]))
    let results: LuaValue[]
    try {
      results = runtime.call('__kv_play', [Buffer.from(name, 'latin1'), inmap])
    } catch (error) {
      this.core.logger.error(`script ${name}: ${(error as Error).message}`)
      return Promise.reject(new RpcFailure(RV.INTERNAL, error instanceof ScriptError ? error.message : 'the script failed'))
    } finally {
      this.cursors.clear()
    }
    const [rv, outmap] = results
    if (rv === undefined && outmap === undefined) return Promise.resolve({rv: RV.NOIMPL, output: []})
    const output: Output = outmap instanceof LuaTable ? outmap.entries.map(([key, value]) => [bytes(key), bytes(value as LuaValue)]) : []
    const code = typeof rv === 'number' ? rv : 0
    // The script's return codes: 0 success, 1 not implemented, 2 invalid, 3 logic, 4 internal.
    const mapped = [RV.SUCCESS, RV.NOIMPL, RV.INVALID, RV.LOGIC, RV.INTERNAL][code] ?? RV.INTERNAL
    return Promise.resolve({rv: mapped, output})
  }

  private defineNatives(runtime: LuaRuntime): void {
    const core = this.core
    runtime.setGlobal('__kv_version', `${core.serverAttributes().find(([name]) => name === 'version')?.[1] ?? ''} (kv)`)
    runtime.setGlobal(
      '__kv_databases',
      Array.from({length: core.registry.size}, (_, i) => databaseName(core, i)),
    )
    runtime.defineFunction('__kv_log', (kind, message) => {
      const text = `script: ${bytes(message).toString()}`
      const level = bytes(kind).toString()
      if (level === 'error') core.logger.error(text)
      else if (level === 'system' || level === 'info') core.logger.info(text)
      else core.logger.debug(text)
      return undefined
    })
    runtime.defineFunction('__kv_db', (op, index, ...args) => answered(() => this.database(bytes(op).toString(), Number(index), args)))
    runtime.defineFunction('__kv_util', (op, ...args) => [utility(bytes(op).toString(), args)])
    runtime.defineFunction('__kv_cursor', (op, id, ...args) => answered(() => this.cursor(bytes(op).toString(), Number(id), args)))
  }

  /**
   * One method of a script's cursor (`open` makes one on a database and returns its ID).
   * Moves and reads answer false (no record) at the end, as the reference's do.
   */
  private cursor(op: string, id: number, args: LuaValue[]): LuaValue[] {
    if (op === 'open') {
      const cursorId = this.nextCursor++
      this.cursors.set(cursorId, {index: id, iterator: this.core.database(id).makeIterator()})
      return [cursorId]
    }
    const cursor = this.cursors.get(id)
    if (!cursor) throw new RpcFailure(RV.INVALID, 'the cursor is closed')
    const {index, iterator} = cursor
    const [a, b, c] = args
    const record = (): [Buffer, Buffer] => {
      const found = iterator.get()
      if (!found) throw new RpcFailure(RV.LOGIC, NO_RECORD)
      return found
    }
    const xtOfKey = (key: Buffer): number | undefined => {
      const xt = readWithExpiry(this.core.database(index), key)?.xt ?? 0
      return xt > 0 ? xt : XT_NEVER
    }
    switch (op) {
      case 'close':
        this.cursors.delete(id)
        return [true]
      case 'jump':
        if (a === undefined || a === null) iterator.first()
        else iterator.jump(bytes(a))
        record()
        return [true]
      case 'jump_back':
        if (!this.core.database(index).isOrdered()) throw new RpcFailure(RV.NOIMPL, 'not implemented')
        if (a === undefined || a === null) iterator.last()
        else iterator.jumpLower(bytes(a), true)
        record()
        return [true]
      case 'step':
        record()
        iterator.next()
        record()
        return [true]
      case 'step_back':
        record()
        iterator.previous()
        record()
        return [true]
      case 'get_key':
      case 'get_value':
      case 'get':
      case 'seize': {
        const [key, value] = record()
        const xt = op === 'get' || op === 'seize' ? xtOfKey(key) : undefined
        if (op === 'seize') iterator.remove()
        else if (a === true) iterator.next()
        if (op === 'get_key') return [key]
        if (op === 'get_value') return [value]
        return [key, value, xt]
      }
      case 'set_value': {
        record()
        withXt(this.core.database(index), index, xtOf(b), () => iterator.set(bytes(a)))
        if (c === true) iterator.next()
        return [true]
      }
      case 'remove':
        record()
        iterator.remove()
        return [true]
      default:
        throw new RpcFailure(RV.NOIMPL, `no such cursor method: ${op}`)
    }
  }

  /** One DB method of the script's `kt.db`: its results, or a failure the prelude notes as the database's error. */
  private database(op: string, index: number, args: LuaValue[]): LuaValue[] {
    const records = this.records
    const [a, b, c, d] = args
    switch (op) {
      case 'set':
      case 'add':
      case 'replace':
      case 'append':
        records.store(index, op as StoreMode, bytes(a), bytes(b), xtOf(c))
        return [true]
      case 'increment':
        // math.mininteger as the origin is Kyoto Tycoon's "try", math.maxinteger its "set".
        return [records.increment(index, bytes(a), BigInt(Math.trunc(numberOf(b))), BigInt(Math.trunc(numberOf(c))), xtOf(d))]
      case 'increment_double':
        return [records.incrementDouble(index, bytes(a), numberOf(b), numberOf(c), xtOf(d))]
      case 'cas':
        records.cas(index, bytes(a), b === undefined || b === null ? undefined : bytes(b), c === undefined || c === null ? undefined : bytes(c), xtOf(d))
        return [true]
      case 'remove':
        records.remove(index, bytes(a))
        return [true]
      case 'get':
      case 'seize': {
        const found = op === 'get' ? records.get(index, bytes(a)) : records.seize(index, bytes(a))
        // A record that never expires reports the largest time, as the reference's scripts see it.
        return [found.value, found.xt > 0 ? found.xt : XT_NEVER]
      }
      case 'check':
        return [records.get(index, bytes(a)).value.length]
      case 'set_bulk': {
        const entries = a instanceof LuaTable ? a.entries : []
        const keys = entries.map(([key]) => bytes(key as LuaValue))
        const values = entries.map(([, value]) => bytes(value))
        return [records.setBulk(index, keys, values, xtOf(b))]
      }
      case 'remove_bulk':
        return [records.removeBulk(index, keysOf(a))]
      case 'get_bulk':
        return [new LuaTable(records.getBulk(index, keysOf(a)).map(({key, value}): [Buffer, LuaValue] => [key, value]))]
      case 'clear':
        this.core.database(index).clear()
        return [true]
      case 'synchronize':
        this.core.database(index).synchronize(false)
        return [true]
      case 'count':
        return [this.core.database(index).count()]
      case 'size':
        return [this.core.database(index).getFileSize()]
      case 'path':
        return [databaseName(this.core, index)]
      case 'status':
        return [
          new LuaTable(
            this.core
              .database(index)
              .inspect()
              .map(([name, value]): [Buffer, LuaValue] => [Buffer.from(name), value]),
          ),
        ]
      case 'match_prefix':
      case 'match_regex':
        return [records.match(index, op === 'match_prefix' ? 'prefix' : 'regex', bytes(a), Math.trunc(numberOf(b, -1)))]
      case 'match_similar':
        return [records.matchSimilar(index, bytes(a), Math.trunc(numberOf(b, 1)), c === true, Math.trunc(numberOf(d, -1)))]
      default:
        throw new RpcFailure(RV.NOIMPL, `no such database method: ${op}`)
    }
  }
}

/** Kyoto Tycoon's utility functions that are not plain Lua. */
function utility(op: string, args: LuaValue[]): LuaValue {
  const [a, b, c] = args
  switch (op) {
    case 'time':
      return Date.now() / 1000
    case 'sleep':
      // Yielding (no time, or 0) is a no-op; sleeping would stop the server's one event loop.
      if (a === undefined || a === null || numberOf(a) <= 0) return undefined
      throw new Error('kt.sleep is not available: the server has one event loop (a script that must wait answers, and is called again)')
    // The low 48 bits, as the reference gives them (a Lua 5.1 number holds them exactly).
    case 'hash_fnv': {
      // Kyoto Cabinet's FNV (its own multiplier, as the engine's hash has it).
      const [high, low] = hashFnv(bytes(a))
      return Number(((BigInt(high) << 32n) | BigInt(low)) & LOW_48)
    }
    case 'hash_murmur':
      // MurmurHash64A with Kyoto Cabinet's seed, the engine's default.
      return Number(hashMurmur(bytes(a)) & LOW_48)
    case 'levdist':
      return levenshtein(bytes(a), bytes(b), c === true)
    case 'codec':
      return codec(bytes(a).toString(), bytes(b))
    case 'regex': {
      const text = bytes(a).toString('latin1')
      let pattern: RegExp
      try {
        pattern = new RegExp(bytes(b).toString('latin1'), 'g')
      } catch {
        return c === undefined ? false : text
      }
      if (c === undefined) return pattern.test(text)
      return Buffer.from(text.replace(pattern, bytes(c).toString('latin1')), 'latin1')
    }
    case 'arraydump': {
      const items = a instanceof LuaTable ? a.array() : []
      return Buffer.concat(items.flatMap((item) => [encodeVarint(bytes(item).length), bytes(item)]))
    }
    case 'mapdump': {
      const entries = a instanceof LuaTable ? a.entries : []
      return Buffer.concat(
        entries.flatMap(([key, value]) => [
          encodeVarint(bytes(key as LuaValue).length),
          encodeVarint(bytes(value).length),
          bytes(key as LuaValue),
          bytes(value),
        ]),
      )
    }
    case 'arrayload': {
      const data = bytes(a)
      const items: LuaValue[] = []
      let offset = 0
      while (offset < data.length) {
        const size = readVarint(data, offset)
        if (!size) break
        items.push(data.subarray(size[1], size[1] + size[0]))
        offset = size[1] + size[0]
      }
      return items
    }
    case 'mapload': {
      const data = bytes(a)
      const entries: [Buffer, LuaValue][] = []
      let offset = 0
      while (offset < data.length) {
        const keySize = readVarint(data, offset)
        const valueSize = keySize && readVarint(data, keySize[1])
        if (!keySize || !valueSize) break
        offset = valueSize[1]
        entries.push([data.subarray(offset, offset + keySize[0]), data.subarray(offset + keySize[0], offset + keySize[0] + valueSize[0])])
        offset += keySize[0] + valueSize[0]
      }
      return new LuaTable(entries)
    }
    default:
      throw new Error(`no such utility: ${op}`)
  }
}

const LOW_48 = (1n << 48n) - 1n

/** kt.codec: url, base (Base64), hex, zlib, deflate, gzip; a leading ~ decodes. */
function codec(mode: string, data: Buffer): Buffer | undefined {
  const decode = mode.startsWith('~')
  const name = decode ? mode.slice(1) : mode
  try {
    switch (name) {
      case 'url':
        return decode
          ? Buffer.from(decodeURIComponent(data.toString('latin1').replace(/\+/g, ' ')), 'latin1')
          : Buffer.from(encodeURIComponent(data.toString('latin1')))
      case 'base':
        return decode ? Buffer.from(data.toString('latin1'), 'base64') : Buffer.from(data.toString('base64'))
      case 'hex':
        return decode ? Buffer.from(data.toString('latin1'), 'hex') : Buffer.from(data.toString('hex'))
      case 'zlib':
        return decode ? zlib.inflateSync(data) : zlib.deflateSync(data)
      case 'deflate':
        return decode ? zlib.inflateRawSync(data) : zlib.deflateRawSync(data)
      case 'gzip':
        return decode ? zlib.gunzipSync(data) : zlib.gzipSync(data)
      default:
        return undefined
    }
  } catch {
    return undefined
  }
}
