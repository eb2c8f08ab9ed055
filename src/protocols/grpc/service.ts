import * as grpc from '@grpc/grpc-js'
import {ANY_VALUE, type DBMIterator, type Desired, type Expected} from '../../engine/dbm.js'
import {Code, StatusError} from '../../engine/status.js'
import type {DBMServiceHandlers} from './generated/tkrzw_rpc/DBMService.js'
import type {CompareExchangeRequest__Output} from './generated/tkrzw_rpc/CompareExchangeRequest.js'
import type {CompareExchangeResponse} from './generated/tkrzw_rpc/CompareExchangeResponse.js'
import type {IterateRequest__Output} from './generated/tkrzw_rpc/IterateRequest.js'
import type {IterateResponse} from './generated/tkrzw_rpc/IterateResponse.js'
import type {StatusProto} from './generated/tkrzw_rpc/StatusProto.js'
import type {StreamRequest__Output} from './generated/tkrzw_rpc/StreamRequest.js'
import type {StreamResponse} from './generated/tkrzw_rpc/StreamResponse.js'
import type {ReplicateRequest__Output} from './generated/tkrzw_rpc/ReplicateRequest.js'
import type {ReplicateResponse} from './generated/tkrzw_rpc/ReplicateResponse.js'
import type {ServerCore} from '../../server/core.js'
import {replicationStream, type ReplicationMessage} from '../../server/replication-source.js'
import {NoSuchDatabaseError, type ExchangeOutcome, type Operations} from '../../server/operations.js'

/** A gRPC-level failure: only for protocol misuse, never for an application result. */
class RpcError extends Error {
  constructor(
    readonly grpcCode: grpc.status,
    message: string,
  ) {
    super(message)
  }
}

/** Protocol misuse becomes a gRPC error; everything else is an application status (or a bug). */
function asRpcError(error: unknown): RpcError | undefined {
  if (error instanceof RpcError) return error
  if (error instanceof NoSuchDatabaseError) return new RpcError(grpc.status.INVALID_ARGUMENT, error.message)
  return undefined
}

function statusOf(error: unknown): StatusProto {
  if (error instanceof StatusError) return {code: error.code, message: error.detail}
  return {code: Code.UNKNOWN_ERROR, message: (error as Error)?.message ?? String(error)}
}

const OK: StatusProto = {code: Code.SUCCESS, message: ''}
const EMPTY = Buffer.alloc(0)

/**
 * The DBMService: each call is decoded, handed to the server core's operation body, and
 * its result encoded. Application results travel as a StatusProto in an OK response; gRPC
 * errors are kept for a bad index, an unknown stream request and the replication calls
 * without update logs.
 */
export class DBMServiceImpl {
  private readonly ops: Operations

  constructor(private readonly core: ServerCore) {
    this.ops = core.operations
  }

  /** A unary handler: runs the body, turns StatusErrors into statuses and protocol misuse into gRPC errors. */
  private unary<Req, Res>(name: string, body: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    const logger = this.core.logger
    const metrics = this.core.metrics
    return (call, callback) => {
      this.core.beginCall()
      const started = performance.now()
      if (logger.enabled('debug')) logger.debug(`${name} from ${call.getPeer()}: ${describe(call.request)}`)
      const succeed = (response: Res) => {
        callback(null, {status: OK, ...response} as Res)
        metrics.record('grpc', name, (performance.now() - started) / 1000)
        this.core.endCall()
      }
      const fail = (error: unknown) => {
        const rpc = asRpcError(error)
        if (rpc) {
          callback({code: rpc.grpcCode, details: rpc.message})
        } else {
          const {failure, partial} = unwrap(error)
          if (!(failure instanceof StatusError)) logger.error(`${name}: ${(failure as Error)?.stack ?? String(failure)}`)
          this.core.failures.note(name, (call.request as {dbm_index?: number}).dbm_index ?? 0, failure)
          callback(null, {...partial, status: statusOf(failure)} as Res)
        }
        metrics.record('grpc', name, (performance.now() - started) / 1000, true)
        this.core.endCall()
      }
      // Answer synchronously when the body is: the reply is then counted against the
      // connection's budget before the next request is served.
      let result: Res | Promise<Res>
      try {
        result = body(call.request, call)
      } catch (error) {
        return fail(error)
      }
      if (result instanceof Promise) result.then(succeed, fail)
      else succeed(result)
    }
  }

  handlers(): DBMServiceHandlers {
    const ops = this.ops
    return {
      Echo: this.unary('Echo', (request) => ({echo: request.message})),

      Inspect: this.unary('Inspect', (request) => {
        const attributes = request.dbm_index < 0 ? this.core.serverAttributes() : ops.inspect(request.dbm_index)
        return {records: attributes.map(([first, second]) => ({first, second}))}
      }),

      Get: this.unary('Get', (request) => this.getBody(request)),

      GetMulti: this.unary('GetMulti', (request) => {
        // Found records come back even when some key is missing.
        const {records, missing} = ops.getMulti(request.dbm_index, request.keys)
        const answer = {records: records.map(([first, second]) => ({first, second}))}
        if (missing) throw new PartialAnswer(new StatusError(Code.NOT_FOUND_ERROR), answer)
        return answer
      }),

      Set: this.unary('Set', (request) => this.setBody(request)),

      SetMulti: this.unary('SetMulti', (request) => {
        ops.setMulti(request.dbm_index, pairs(request.records), request.overwrite, Number(request.xt ?? 0))
        return {}
      }),

      Remove: this.unary('Remove', (request) => this.removeBody(request)),

      RemoveMulti: this.unary('RemoveMulti', (request) => {
        ops.removeMulti(request.dbm_index, request.keys)
        return {}
      }),

      Append: this.unary('Append', (request) => this.appendBody(request)),

      AppendMulti: this.unary('AppendMulti', (request) => {
        ops.appendMulti(request.dbm_index, pairs(request.records), request.delim)
        return {}
      }),

      CompareExchange: this.unary('CompareExchange', async (request, call) => {
        const [expected, desired] = exchangeOf(request)
        const outcome = await ops.compareExchangeWaiting(
          request.dbm_index,
          request.key,
          expected,
          desired,
          {seconds: request.retry_wait, cancelled: () => call.cancelled},
          request.notify,
        )
        return exchangeAnswer(request, outcome)
      }),

      Increment: this.unary('Increment', (request) => this.incrementBody(request)),

      CompareExchangeMulti: this.unary('CompareExchangeMulti', (request) => {
        const expected: [Buffer, Expected][] = request.expected.map((state) => [state.key, !state.existence ? null : state.any_value ? ANY_VALUE : state.value])
        const desired: [Buffer, Buffer | null][] = request.desired.map((state) => [state.key, state.existence ? state.value : null])
        ops.compareExchangeMulti(request.dbm_index, expected, desired)
        return {}
      }),

      Rekey: this.unary('Rekey', (request) => {
        ops.rekey(request.dbm_index, request.old_key, request.new_key, request.overwrite, request.copying)
        return {}
      }),

      PopFirst: this.unary('PopFirst', async (request, call) => {
        const [key, value] = await ops.popFirst(request.dbm_index, {seconds: request.retry_wait, cancelled: () => call.cancelled})
        return {key: request.omit_key ? EMPTY : key, value: request.omit_value ? EMPTY : value}
      }),

      PushLast: this.unary('PushLast', (request) => {
        // An absent wtime arrives as 0; it means "now", like a negative one (see kv-serve(1)).
        ops.pushLast(request.dbm_index, request.value, request.wtime, request.notify)
        return {}
      }),

      Count: this.unary('Count', (request) => ({count: String(ops.count(request.dbm_index))})),

      GetFileSize: this.unary('GetFileSize', (request) => ({file_size: String(ops.fileSize(request.dbm_index))})),

      Clear: this.unary('Clear', (request) => {
        ops.clear(request.dbm_index)
        return {}
      }),

      Rebuild: this.unary('Rebuild', async (request) => {
        await ops.rebuild(request.dbm_index, Object.fromEntries(request.params.map(({first, second}) => [first, second])))
        return {}
      }),

      ShouldBeRebuilt: this.unary('ShouldBeRebuilt', (request) => ({tobe: ops.shouldBeRebuilt(request.dbm_index)})),

      Synchronize: this.unary('Synchronize', async (request) => {
        await ops.synchronize(request.dbm_index, request.hard, new Map(request.params.map(({first, second}) => [first, second])))
        return {}
      }),

      Search: this.unary('Search', (request) => ({matched: ops.search(request.dbm_index, request.mode, request.pattern, request.capacity)})),

      Stream: (call) => this.serveStream(call),
      Iterate: (call) => this.serveIterate(call),

      Replicate: (call) => this.serveReplicate(call),

      // As the reference: the new master is not checked; the replica reconnects within a second.
      ChangeMaster: this.unary('ChangeMaster', (request) => {
        if (!this.core.replication) throw new RpcError(grpc.status.FAILED_PRECONDITION, 'this server does not replicate')
        this.core.replication.changeMaster(request.master, Number(request.timestamp_skew))
        return {}
      }),
    }
  }

  // The bodies that a unary call and a request inside a Stream share.

  private getBody(request: {dbm_index: number; key: Buffer; omit_value: boolean}): {value: Buffer; xt?: string} {
    const {value, xt} = this.ops.getWithExpiry(request.dbm_index, request.key)
    return {value: request.omit_value ? EMPTY : value, ...(xt > 0 ? {xt: String(xt)} : {})}
  }

  private setBody(request: {dbm_index: number; key: Buffer; value: Buffer; overwrite: boolean; xt?: string}): object {
    this.ops.set(request.dbm_index, request.key, request.value, request.overwrite, Number(request.xt ?? 0))
    return {}
  }

  private removeBody(request: {dbm_index: number; key: Buffer}): object {
    this.ops.remove(request.dbm_index, request.key)
    return {}
  }

  private appendBody(request: {dbm_index: number; key: Buffer; value: Buffer; delim: Buffer}): object {
    this.ops.append(request.dbm_index, request.key, request.value, request.delim)
    return {}
  }

  private incrementBody(request: {dbm_index: number; key: Buffer; increment: string; initial: string}): {current: string} {
    return {current: this.ops.increment(request.dbm_index, request.key, parseInt64(request.increment), parseInt64(request.initial)).toString()}
  }

  /** A compare-exchange inside a Stream: one attempt, no waiting and no notification. */
  private exchangeOnceBody(request: CompareExchangeRequest__Output): CompareExchangeResponse {
    const [expected, desired] = exchangeOf(request)
    return exchangeAnswer(request, this.ops.compareExchange(request.dbm_index, request.key, expected, desired))
  }

  /**
   * Serves a bidirectional call: each request gets the response the handler gives (none
   * for undefined), in order. Protocol misuse ends the call with its gRPC status.
   */
  private serveDuplex<Req, Res>(call: grpc.ServerDuplexStream<Req, Res>, handle: (request: Req) => Res | undefined): void {
    this.core.beginCall()
    let ended = false
    const finish = () => {
      if (ended) return
      ended = true
      this.core.endCall()
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
        const rpc = asRpcError(error) ?? new RpcError(grpc.status.INTERNAL, (error as Error).message)
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

  /** Runs one body inside a Stream or Iterate call: application failures become its status. */
  private guarded<T>(operation: string, index: number, body: () => T): T {
    try {
      return {status: OK, ...body()}
    } catch (error) {
      if (asRpcError(error)) throw error
      const {failure, partial} = unwrap(error)
      this.core.failures.note(operation, index, failure)
      return {...partial, status: statusOf(failure)} as T
    }
  }

  private serveStream(call: grpc.ServerDuplexStream<StreamRequest__Output, StreamResponse>): void {
    this.serveDuplex(call, (request) => {
      const response = this.streamItem(request)
      return request.omit_response ? undefined : response
    })
  }

  /** One request inside a Stream: the unary call's body, without retries or notifications. */
  private streamItem(request: StreamRequest__Output): StreamResponse {
    const kind = request.request_oneof
    const run = <T>(inner: {dbm_index: number}, body: () => T): T => this.guarded(`Stream ${kind}`, inner.dbm_index, body)
    switch (kind) {
      case 'echo_request':
        return {echo_response: {status: OK, echo: request.echo_request!.message}}
      case 'get_request':
        return {get_response: run(request.get_request!, () => this.getBody(request.get_request!))}
      case 'set_request':
        return {set_response: run(request.set_request!, () => this.setBody(request.set_request!))}
      case 'remove_request':
        return {remove_response: run(request.remove_request!, () => this.removeBody(request.remove_request!))}
      case 'append_request':
        return {append_response: run(request.append_request!, () => this.appendBody(request.append_request!))}
      case 'compare_exchange_request':
        return {compare_exchange_response: run(request.compare_exchange_request!, () => this.exchangeOnceBody(request.compare_exchange_request!))}
      case 'increment_request':
        return {increment_response: run(request.increment_request!, () => this.incrementBody(request.increment_request!))}
      default:
        throw new RpcError(grpc.status.INVALID_ARGUMENT, 'unknown request in the stream')
    }
  }

  /**
   * The master's side of replication (see replicationStream): without an update log the
   * call fails with FAILED_PRECONDITION, and a client with this server's own ID with
   * INVALID_ARGUMENT, as the reference answers. A replica that stops reading holds the
   * stream until it reads again.
   */
  private serveReplicate(call: grpc.ServerWritableStream<ReplicateRequest__Output, ReplicateResponse>): void {
    const core = this.core
    const request = call.request
    if (!core.updateLog) {
      call.emit('error', {code: grpc.status.FAILED_PRECONDITION, details: 'disabled update logging'})
      return
    }
    if (request.server_id === core.serverId) {
      call.emit('error', {code: grpc.status.INVALID_ARGUMENT, details: `the client has this server's own ID ${core.serverId}`})
      return
    }
    core.beginCall()
    if (core.logger.enabled('debug')) core.logger.debug(`Replicate from ${call.getPeer()}: ${describe(request)}`)
    const stream = replicationStream(
      core.updateLog,
      core.serverId,
      {minTimestamp: Number(request.min_timestamp), clientServerId: request.server_id, waitSeconds: request.wait_time},
      () => call.cancelled,
    )
    void (async () => {
      try {
        for await (const message of stream) {
          if (call.cancelled) break
          if (!call.write(replicateResponse(message))) await new Promise((resolve) => call.once('drain', resolve).once('cancelled', resolve))
        }
        if (!call.cancelled) call.end()
      } catch (error) {
        core.logger.error(`Replicate: ${(error as Error).message}`)
        if (!call.cancelled) call.emit('error', {code: grpc.status.INTERNAL, details: (error as Error).message})
      } finally {
        core.endCall()
      }
    })()
  }

  private serveIterate(call: grpc.ServerDuplexStream<IterateRequest__Output, IterateResponse>): void {
    // One cursor per call, made again when the call turns to another database.
    let iterator: DBMIterator | undefined
    let iteratorIndex = -1
    this.serveDuplex(call, (request) => {
      const dbm = this.core.database(request.dbm_index)
      if (!iterator || iteratorIndex !== request.dbm_index) {
        iterator = dbm.makeIterator()
        iteratorIndex = request.dbm_index
      }
      const cursor = iterator
      return this.guarded(`Iterate ${request.operation}`, request.dbm_index, () => iterateStep(cursor, request))
    })
  }
}

const REPLICATION_STATUS: {[status in ReplicationMessage['status']]: StatusProto} = {
  ok: OK,
  heartbeat: {code: Code.INFEASIBLE_ERROR, message: ''},
  canceled: {code: Code.CANCELED_ERROR, message: 'the server is shutting down'},
}

const OP_TYPES = {noop: 'OP_NOOP', set: 'OP_SET', remove: 'OP_REMOVE', clear: 'OP_CLEAR'} as const

function replicateResponse(message: ReplicationMessage): ReplicateResponse {
  return {
    status: REPLICATION_STATUS[message.status],
    timestamp: String(message.timestamp),
    server_id: message.serverId,
    dbm_index: message.dbmIndex,
    op_type: OP_TYPES[message.op],
    key: message.key ?? EMPTY,
    value: message.value ?? EMPTY,
  }
}

/** A failed answer that still carries fields: the records found, the value met. */
class PartialAnswer<T> extends Error {
  constructor(
    readonly status: StatusError,
    readonly partial: T,
  ) {
    super(status.message)
  }
}

/** The failure inside an error, and the fields its answer still carries. */
function unwrap(error: unknown): {failure: unknown; partial: object} {
  return error instanceof PartialAnswer ? {failure: error.status, partial: error.partial as object} : {failure: error, partial: {}}
}

function pairs(records: {first: Buffer; second: Buffer}[]): [Buffer, Buffer][] {
  return records.map(({first, second}) => [first, second])
}

/** The expectation and the desire a CompareExchange request states. */
function exchangeOf(request: CompareExchangeRequest__Output): [Expected, Desired] {
  const expected: Expected = !request.expected_existence ? null : request.expect_any_value ? ANY_VALUE : request.expected_value
  const desired: Desired = request.desire_no_update ? ANY_VALUE : !request.desired_existence ? null : request.desired_value
  return [expected, desired]
}

/** The answer to a CompareExchange: INFEASIBLE_ERROR with the actual value when the expectation failed. */
function exchangeAnswer(request: CompareExchangeRequest__Output, outcome: ExchangeOutcome): CompareExchangeResponse {
  const answer = {actual: request.get_actual && outcome.actual ? outcome.actual : EMPTY, found: outcome.actual !== undefined}
  if (!outcome.done) throw new PartialAnswer(new StatusError(Code.INFEASIBLE_ERROR), answer)
  return answer
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

/** int64 as the wire carries it (a decimal string) to a BigInt. */
function parseInt64(text: string): bigint {
  try {
    return BigInt.asIntN(64, BigInt(text || '0'))
  } catch {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `not an integer: ${text}`)
  }
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
