import * as os from 'node:os'
import * as grpc from '@grpc/grpc-js'
import {ANY_VALUE, type DBM, type DBMIterator, type Expected} from '../../engine/dbm.js'
import {searchDBM} from '../../engine/search.js'
import {Code, StatusError} from '../../engine/status.js'
import type {DBMServiceHandlers} from './generated/tkrzw_rpc/DBMService.js'
import type {CompareExchangeRequest__Output} from './generated/tkrzw_rpc/CompareExchangeRequest.js'
import type {CompareExchangeResponse} from './generated/tkrzw_rpc/CompareExchangeResponse.js'
import type {IterateRequest__Output} from './generated/tkrzw_rpc/IterateRequest.js'
import type {IterateResponse} from './generated/tkrzw_rpc/IterateResponse.js'
import type {StatusProto} from './generated/tkrzw_rpc/StatusProto.js'
import type {StreamRequest__Output} from './generated/tkrzw_rpc/StreamRequest.js'
import type {StreamResponse} from './generated/tkrzw_rpc/StreamResponse.js'
import type {Logger} from '../../server/logger.js'
import type {DatabaseRegistry} from '../../server/registry.js'
import {SignalBoard} from '../../server/board.js'
import {SystemFailures} from '../../server/system-failures.js'

/** What Inspect with a negative index reports about the server. */
export interface ServerFacts {
  version: string
  startedAt: number
  /** The newest master timestamp applied, for replicas; 0 otherwise. */
  replMaxTimestamp: () => number
}

/** The longest file name most file systems take. */
const MAX_FILE_NAME_BYTES = 255

/** A blocked call re-checks at least this often, even without a notification. */
const MAX_WAIT_SLICE_MS = 5000

/** A gRPC-level failure: only for protocol misuse, never for an application result. */
class RpcError extends Error {
  constructor(
    readonly grpcCode: grpc.status,
    message: string,
  ) {
    super(message)
  }
}

const outOfRange = (): RpcError => new RpcError(grpc.status.INVALID_ARGUMENT, 'dbm_index is out of range')

function statusOf(error: unknown): StatusProto {
  if (error instanceof StatusError) return {code: error.code, message: error.detail}
  return {code: Code.UNKNOWN_ERROR, message: (error as Error)?.message ?? String(error)}
}

const OK: StatusProto = {code: Code.SUCCESS, message: ''}

/**
 * The DBMService: each call maps onto engine operations on the database its index names.
 * Application results travel as a StatusProto in an OK response; gRPC errors are kept for
 * a bad index, an unknown stream request and the replication calls without update logs.
 */
export class DBMServiceImpl {
  readonly board = new SignalBoard()
  readonly failures: SystemFailures
  private activeCalls = 0
  private readonly idle: (() => void)[] = []

  constructor(
    private readonly registry: DatabaseRegistry,
    private readonly logger: Logger,
    private readonly facts: ServerFacts,
  ) {
    this.failures = new SystemFailures(logger)
  }

  get numActiveCalls(): number {
    return this.activeCalls
  }

  /** Resolves when no call is in flight. */
  drained(): Promise<void> {
    if (this.activeCalls === 0) return Promise.resolve()
    return new Promise((resolve) => this.idle.push(resolve))
  }

  private begin(): void {
    this.activeCalls++
  }

  private end(): void {
    this.activeCalls--
    if (this.activeCalls === 0) for (const resolve of this.idle.splice(0)) resolve()
  }

  private database(index: number): DBM {
    if (!Number.isInteger(index) || index < 0 || index >= this.registry.size) throw outOfRange()
    return this.registry.get(index)
  }

  /** A unary handler: runs the body, turns StatusErrors into statuses and RpcErrors into gRPC errors. */
  private unary<Req, Res>(name: string, body: (request: Req) => Res | Promise<Res>, partial?: (request: Req) => Partial<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      this.begin()
      if (this.logger.enabled('debug')) this.logger.debug(`${name} from ${call.getPeer()}: ${describe(call.request)}`)
      const succeed = (response: Res) => {
        callback(null, {status: OK, ...response} as Res)
        this.end()
      }
      const fail = (error: unknown) => {
        if (error instanceof RpcError) {
          callback({code: error.grpcCode, details: error.message})
        } else {
          if (!(error instanceof StatusError)) this.logger.error(`${name}: ${(error as Error)?.stack ?? String(error)}`)
          this.failures.note(name, (call.request as {dbm_index?: number}).dbm_index ?? 0, error)
          callback(null, {...(partial?.(call.request) ?? {}), status: statusOf(error)} as Res)
        }
        this.end()
      }
      // Answer synchronously when the body is: the reply is then counted against the
      // connection's budget before the next request is served.
      let result: Res | Promise<Res>
      try {
        result = body(call.request)
      } catch (error) {
        return fail(error)
      }
      if (result instanceof Promise) result.then(succeed, fail)
      else succeed(result)
    }
  }

  handlers(): DBMServiceHandlers {
    return {
      Echo: this.unary('Echo', (request) => ({echo: request.message})),

      Inspect: this.unary('Inspect', (request) => {
        if (request.dbm_index < 0) return {records: this.serverAttributes()}
        const dbm = this.database(request.dbm_index)
        return {records: dbm.inspect().map(([first, second]) => ({first, second}))}
      }),

      Get: this.unary('Get', (request) => {
        const value = this.database(request.dbm_index).get(request.key)
        if (value === undefined) throw new StatusError(Code.NOT_FOUND_ERROR)
        return {value: request.omit_value ? Buffer.alloc(0) : value}
      }),

      GetMulti: (call, callback) => {
        // Found records come back even when some key is missing.
        const found: {first: Buffer; second: Buffer}[] = []
        this.unary<typeof call.request, {status?: StatusProto; records?: {first: Buffer; second: Buffer}[]}>(
          'GetMulti',
          (request) => {
            const dbm = this.database(request.dbm_index)
            const seen = new Set<string>()
            let missing = false
            for (const key of request.keys) {
              const name = key.toString('latin1')
              if (seen.has(name)) continue
              seen.add(name)
              const value = dbm.get(key)
              if (value === undefined) missing = true
              else found.push({first: key, second: value})
            }
            found.sort((a, b) => Buffer.compare(a.first, b.first))
            if (missing) throw new StatusError(Code.NOT_FOUND_ERROR)
            return {records: found}
          },
          () => ({records: found}),
        )(call, callback)
      },

      Set: this.unary('Set', (request) => {
        this.database(request.dbm_index).set(request.key, request.value, request.overwrite)
        return {}
      }),

      SetMulti: this.unary('SetMulti', (request) => {
        const dbm = this.database(request.dbm_index)
        // A repeated key counts once: its first occurrence.
        const records = new Map<string, [Buffer, Buffer]>()
        for (const {first, second} of request.records) {
          const name = first.toString('latin1')
          if (!records.has(name)) records.set(name, [first, second])
        }
        dbm.setMulti(records.values(), request.overwrite)
        return {}
      }),

      Remove: this.unary('Remove', (request) => {
        this.database(request.dbm_index).remove(request.key)
        return {}
      }),

      RemoveMulti: this.unary('RemoveMulti', (request) => {
        this.database(request.dbm_index).removeMulti(request.keys)
        return {}
      }),

      Append: this.unary('Append', (request) => {
        this.database(request.dbm_index).append(request.key, request.value, request.delim)
        return {}
      }),

      AppendMulti: this.unary('AppendMulti', (request) => {
        this.database(request.dbm_index).appendMulti(
          request.records.map(({first, second}) => [first, second] as [Buffer, Buffer]),
          request.delim,
        )
        return {}
      }),

      CompareExchange: (call, callback) => {
        let last: CompareExchangeResponse = {}
        this.unary<CompareExchangeRequest__Output, CompareExchangeResponse>(
          'CompareExchange',
          async (request) => {
            const dbm = this.database(request.dbm_index)
            const deadline = performance.now() + Math.max(0, request.retry_wait) * 1000
            for (;;) {
              const outcome = this.compareExchangeOnce(dbm, request)
              last = outcome.response
              if (outcome.done) {
                if (request.notify) this.board.notify(keyChannel(request.dbm_index, request.key))
                return outcome.response
              }
              const remaining = deadline - performance.now()
              if (remaining <= 0 || this.board.isClosed) throw new StatusError(Code.INFEASIBLE_ERROR)
              await this.board.wait(keyChannel(request.dbm_index, request.key), Math.min(remaining, MAX_WAIT_SLICE_MS))
              if (call.cancelled) throw new StatusError(Code.CANCELED_ERROR, 'the call was cancelled')
            }
          },
          () => last,
        )(call, callback)
      },

      Increment: this.unary('Increment', (request) => {
        const current = this.database(request.dbm_index).increment(request.key, parseInt64(request.increment), parseInt64(request.initial))
        return {current: current.toString()}
      }),

      CompareExchangeMulti: this.unary('CompareExchangeMulti', (request) => {
        const dbm = this.database(request.dbm_index)
        const expected: [Buffer, Expected][] = request.expected.map((state) => [state.key, !state.existence ? null : state.any_value ? ANY_VALUE : state.value])
        const desired: [Buffer, Buffer | null][] = request.desired.map((state) => [state.key, state.existence ? state.value : null])
        dbm.compareExchangeMulti(expected, desired)
        return {}
      }),

      Rekey: this.unary('Rekey', (request) => {
        this.database(request.dbm_index).rekey(request.old_key, request.new_key, request.overwrite, request.copying)
        return {}
      }),

      PopFirst: (call, callback) => {
        this.unary<typeof call.request, {status?: StatusProto; key?: Buffer; value?: Buffer}>('PopFirst', async (request) => {
          const dbm = this.database(request.dbm_index)
          const deadline = performance.now() + Math.max(0, request.retry_wait) * 1000
          for (;;) {
            const record = dbm.popFirst()
            if (record) {
              return {key: request.omit_key ? Buffer.alloc(0) : record[0], value: request.omit_value ? Buffer.alloc(0) : record[1]}
            }
            const remaining = deadline - performance.now()
            if (remaining <= 0 || this.board.isClosed) throw new StatusError(Code.NOT_FOUND_ERROR)
            await this.board.wait(firstChannel(request.dbm_index), Math.min(remaining, MAX_WAIT_SLICE_MS))
            if (call.cancelled) throw new StatusError(Code.CANCELED_ERROR, 'the call was cancelled')
          }
        })(call, callback)
      },

      PushLast: this.unary('PushLast', (request) => {
        // An absent wtime arrives as 0; it means "now", like a negative one (see kv-serve(1)).
        this.database(request.dbm_index).pushLast(request.value, request.wtime > 0 ? request.wtime : -1)
        if (request.notify) this.board.notify(firstChannel(request.dbm_index))
        return {}
      }),

      Count: this.unary('Count', (request) => ({count: String(this.database(request.dbm_index).count())})),

      GetFileSize: this.unary('GetFileSize', (request) => ({file_size: String(this.database(request.dbm_index).getFileSize())})),

      Clear: this.unary('Clear', (request) => {
        this.database(request.dbm_index).clear()
        return {}
      }),

      Rebuild: this.unary('Rebuild', async (request) => {
        const dbm = this.database(request.dbm_index)
        const params: {[name: string]: string} = {}
        for (const {first, second} of request.params) params[first] = second
        await dbm.rebuildInSlices(params)
        return {}
      }),

      ShouldBeRebuilt: this.unary('ShouldBeRebuilt', (request) => ({tobe: this.database(request.dbm_index).shouldBeRebuilt()})),

      Synchronize: this.unary('Synchronize', (request) => {
        const dbm = this.database(request.dbm_index)
        const params = new Map(request.params.map(({first, second}) => [first, second]))
        const backup = params.get('make_backup')
        if (backup !== undefined) {
          const path = dbm.getFilePath()
          if (path === '') throw new StatusError(Code.INFEASIBLE_ERROR, 'no file is associated')
          const dest = `${path}.backup.${backupSuffix(backup)}`
          const nameBytes = Buffer.byteLength(dest.slice(dest.lastIndexOf('/') + 1))
          if (nameBytes > MAX_FILE_NAME_BYTES) {
            throw new StatusError(
              Code.INVALID_ARGUMENT_ERROR,
              `make_backup: the backup's file name would be ${nameBytes} bytes long, more than ${MAX_FILE_NAME_BYTES}`,
            )
          }
          dbm.copyFileData(dest, request.hard)
          return {}
        }
        if (params.has('reducer')) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'unsupported parameter: reducer')
        dbm.synchronize(request.hard)
        return {}
      }),

      Search: this.unary('Search', (request) => ({
        matched: searchDBM(this.database(request.dbm_index), request.mode, request.pattern, Math.max(0, request.capacity)),
      })),

      Stream: (call) => this.serveStream(call),
      Iterate: (call) => this.serveIterate(call),

      Replicate: (call) => {
        call.emit('error', {code: grpc.status.FAILED_PRECONDITION, details: 'disabled update logging'})
      },

      ChangeMaster: (_call, callback) => {
        callback({code: grpc.status.FAILED_PRECONDITION, details: 'disabled update logging'})
      },
    }
  }

  /** One attempt at a compare-exchange: done, or the expectation failed. */
  private compareExchangeOnce(dbm: DBM, request: CompareExchangeRequest__Output): {done: boolean; response: CompareExchangeResponse} {
    const expected: Expected = !request.expected_existence ? null : request.expect_any_value ? ANY_VALUE : request.expected_value
    const desired = request.desire_no_update ? ANY_VALUE : !request.desired_existence ? null : request.desired_value
    try {
      const {actual} = dbm.compareExchange(request.key, expected, desired)
      return {done: true, response: {actual: request.get_actual && actual ? actual : Buffer.alloc(0), found: actual !== undefined}}
    } catch (error) {
      if (!(error instanceof StatusError && error.code === Code.INFEASIBLE_ERROR)) throw error
      // Nothing ran in between: record operations never yield.
      const actual = dbm.get(request.key)
      return {done: false, response: {actual: request.get_actual && actual ? actual : Buffer.alloc(0), found: actual !== undefined}}
    }
  }

  private serverAttributes(): {first: string; second: string}[] {
    const attributes: [string, string][] = [
      ['version', this.facts.version],
      ['process_id', String(process.pid)],
      ['num_dbms', String(this.registry.size)],
    ]
    this.registry.entries.forEach((entry, i) => {
      const dbm = entry.dbm
      const open = dbm?.isOpen() === true
      attributes.push([`dbm_${i}_path`, dbm?.getFilePath() ?? entry.config])
      attributes.push([`dbm_${i}_count`, open ? String(dbm.count()) : '-1'])
      attributes.push([`dbm_${i}_class`, open ? (new Map(dbm.inspect()).get('class') ?? dbm.className) : 'none'])
    })
    const now = Date.now() / 1000
    attributes.push(
      ['memory_usage', String(process.memoryUsage().rss)],
      ['memory_capacity', String(os.totalmem())],
      ['repl_max_timestamp', String(this.facts.replMaxTimestamp())],
      ['num_active_calls', String(this.activeCalls)],
      ['current_time', now.toFixed(3)],
      ['running_time', (now - this.facts.startedAt).toFixed(3)],
    )
    return attributes.map(([first, second]) => ({first, second}))
  }

  /**
   * Serves a bidirectional call: each request gets the response the handler gives (none
   * for undefined), in order. A thrown RpcError ends the call with its gRPC status.
   */
  private serveDuplex<Req, Res>(call: grpc.ServerDuplexStream<Req, Res>, handle: (request: Req) => Res | undefined): void {
    this.begin()
    let ended = false
    const finish = () => {
      if (ended) return
      ended = true
      this.end()
    }
    call.on('data', (request: Req) => {
      if (ended) return
      try {
        const response = handle(request)
        // A client that does not read its answers gets no more of its requests read
        // until it does; the connection's reply budget bounds what is waiting meanwhile.
        if (response !== undefined && !call.write(response)) {
          call.pause()
          call.once('drain', () => call.resume())
        }
      } catch (error) {
        const rpc = error instanceof RpcError ? error : new RpcError(grpc.status.INTERNAL, (error as Error).message)
        call.emit('error', {code: rpc.grpcCode, details: rpc.message})
        finish()
      }
    })
    call.on('end', () => {
      if (!ended) call.end()
      finish()
    })
    call.on('cancelled', finish)
    call.on('error', finish)
  }

  private serveStream(call: grpc.ServerDuplexStream<StreamRequest__Output, StreamResponse>): void {
    this.serveDuplex(call, (request) => {
      const response = this.streamItem(request)
      return request.omit_response ? undefined : response
    })
  }

  /** One request inside a Stream. Retries and notifications do not apply here. */
  private streamItem(request: StreamRequest__Output): StreamResponse {
    const guard = <T>(body: () => T, partial: Partial<T> = {}): T => {
      try {
        return {status: OK, ...body()}
      } catch (error) {
        if (error instanceof RpcError) throw error
        const inner = request.request_oneof ? (request[request.request_oneof] as {dbm_index?: number} | undefined) : undefined
        this.failures.note(`Stream ${request.request_oneof}`, inner?.dbm_index ?? 0, error)
        return {...partial, status: statusOf(error)} as T
      }
    }
    switch (request.request_oneof) {
      case 'echo_request':
        return {echo_response: {status: OK, echo: request.echo_request!.message}}
      case 'get_request': {
        const r = request.get_request!
        return {
          get_response: guard(() => {
            const value = this.database(r.dbm_index).get(r.key)
            if (value === undefined) throw new StatusError(Code.NOT_FOUND_ERROR)
            return {value: r.omit_value ? Buffer.alloc(0) : value}
          }),
        }
      }
      case 'set_request': {
        const r = request.set_request!
        return {set_response: guard(() => (this.database(r.dbm_index).set(r.key, r.value, r.overwrite), {}))}
      }
      case 'remove_request': {
        const r = request.remove_request!
        return {remove_response: guard(() => (this.database(r.dbm_index).remove(r.key), {}))}
      }
      case 'append_request': {
        const r = request.append_request!
        return {append_response: guard(() => (this.database(r.dbm_index).append(r.key, r.value, r.delim), {}))}
      }
      case 'compare_exchange_request': {
        const r = request.compare_exchange_request!
        let partial: CompareExchangeResponse = {}
        return {
          compare_exchange_response: guard(() => {
            const outcome = this.compareExchangeOnce(this.database(r.dbm_index), r)
            partial = outcome.response
            if (!outcome.done) throw new StatusError(Code.INFEASIBLE_ERROR)
            return outcome.response
          }, partial),
        }
      }
      case 'increment_request': {
        const r = request.increment_request!
        return {
          increment_response: guard(() => ({
            current: this.database(r.dbm_index).increment(r.key, parseInt64(r.increment), parseInt64(r.initial)).toString(),
          })),
        }
      }
      default:
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'unknown request in the stream')
    }
  }

  private serveIterate(call: grpc.ServerDuplexStream<IterateRequest__Output, IterateResponse>): void {
    // One cursor per call, made again when the call turns to another database.
    let iterator: DBMIterator | undefined
    let iteratorIndex = -1
    this.serveDuplex(call, (request) => {
      const dbm = this.database(request.dbm_index)
      if (!iterator || iteratorIndex !== request.dbm_index) {
        iterator = dbm.makeIterator()
        iteratorIndex = request.dbm_index
      }
      try {
        return {status: OK, ...iterateStep(iterator, request)}
      } catch (error) {
        if (error instanceof RpcError) throw error
        this.failures.note(`Iterate ${request.operation}`, request.dbm_index, error)
        return {status: statusOf(error)}
      }
    })
  }
}

/** One Iterate operation on the call's cursor. */
function iterateStep(iter: DBMIterator, request: IterateRequest__Output): IterateResponse {
  const record = (found: [Buffer, Buffer] | undefined): IterateResponse => {
    if (!found) throw new StatusError(Code.NOT_FOUND_ERROR)
    return {key: request.omit_key ? Buffer.alloc(0) : found[0], value: request.omit_value ? Buffer.alloc(0) : found[1]}
  }
  switch (request.operation) {
    case 'OP_NONE':
      return {}
    case 'OP_FIRST':
      iter.first()
      return {}
    case 'OP_LAST':
      iter.last()
      return {}
    case 'OP_JUMP':
      iter.jump(request.key)
      return {}
    case 'OP_JUMP_LOWER':
      iter.jumpLower(request.key, request.jump_inclusive)
      return {}
    case 'OP_JUMP_UPPER':
      iter.jumpUpper(request.key, request.jump_inclusive)
      return {}
    case 'OP_NEXT':
      iter.next()
      return {}
    case 'OP_PREVIOUS':
      iter.previous()
      return {}
    case 'OP_GET':
      return record(iter.get())
    case 'OP_SET':
      iter.set(request.value)
      return {}
    case 'OP_REMOVE':
      iter.remove()
      return {}
    case 'OP_STEP':
      return record(iter.step())
    default:
      throw new RpcError(grpc.status.INVALID_ARGUMENT, `unknown iterator operation: ${String(request.operation)}`)
  }
}

function firstChannel(index: number): string {
  return `first:${index}`
}

function keyChannel(index: number, key: Buffer): string {
  return `key:${index}:${key.toString('latin1')}`
}

/** int64 as the wire carries it (a decimal string) to a BigInt. */
function parseInt64(text: string): bigint {
  try {
    return BigInt.asIntN(64, BigInt(text || '0'))
  } catch {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `not an integer: ${text}`)
  }
}

/** The backup file suffix: only [-_.0-9a-zA-Z]; empty means the UTC time, zero-padded. */
export function backupSuffix(requested: string, now = new Date()): string {
  const cleaned = requested.replace(/[^-_.0-9a-zA-Z]/g, '')
  if (cleaned !== '') return cleaned
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`
}

/** A short rendering of a request for the debug log: bytes as text when printable. */
function describe(request: unknown): string {
  return JSON.stringify(request, (_key, value: unknown) => {
    if (value && typeof value === 'object' && (value as {type?: string}).type === 'Buffer' && Array.isArray((value as {data?: unknown}).data)) {
      const buffer = Buffer.from((value as {data: number[]}).data)
      return /^[\x20-\x7e]*$/.test(buffer.toString('latin1')) ? buffer.toString('latin1') : `0x${buffer.toString('hex')}`
    }
    return value
  })
}
