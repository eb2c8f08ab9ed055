import {ANY_VALUE, toBuffer, type Bytes, type Expected, type Record} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'
import {parseAuth} from '../protocols/grpc/auth.js'
import type {StatusProto__Output} from '../protocols/grpc/generated/tkrzw_rpc/StatusProto.js'
import type {AppendResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/AppendResponse.js'
import type {AppendMultiResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/AppendMultiResponse.js'
import type {ClearResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/ClearResponse.js'
import type {CompareExchangeResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/CompareExchangeResponse.js'
import type {CompareExchangeMultiResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/CompareExchangeMultiResponse.js'
import type {CountResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/CountResponse.js'
import type {EchoResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/EchoResponse.js'
import type {GetResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/GetResponse.js'
import type {GetFileSizeResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/GetFileSizeResponse.js'
import type {GetMultiResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/GetMultiResponse.js'
import type {IncrementResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/IncrementResponse.js'
import type {InspectResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/InspectResponse.js'
import type {PopFirstResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/PopFirstResponse.js'
import type {PushLastResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/PushLastResponse.js'
import type {RebuildResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/RebuildResponse.js'
import type {RekeyResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/RekeyResponse.js'
import type {RemoveResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/RemoveResponse.js'
import type {RemoveMultiResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/RemoveMultiResponse.js'
import type {SearchResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/SearchResponse.js'
import type {SetResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/SetResponse.js'
import type {SetMultiResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/SetMultiResponse.js'
import type {ShouldBeRebuiltResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/ShouldBeRebuiltResponse.js'
import type {SynchronizeResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/SynchronizeResponse.js'
import {DBMService_METHODS} from '../protocols/grpc/generated/codecs.js'
import type {ChangeMasterResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/ChangeMasterResponse.js'
import {CallError, ClientStream, GrpcChannel} from './grpc-channel.js'
import {RemoteIterator} from './remote-iterator.js'
import {ReplicationSession} from './remote-replication.js'
import {RemoteStream} from './remote-stream.js'
import {checkStatus, compareExchangeRequest, networkError, type CompareExchangeResult} from './wire.js'

export interface ConnectOptions {
  /** Seconds each call may take, and the connection too; negative or undefined: no limit. */
  timeout?: number
  /** ssl:key=FILE,cert=FILE,root=FILE for mutual TLS. */
  auth?: string
  /** Seconds to wait for the connection, when it should differ from the call timeout. */
  connectTimeout?: number
}

/**
 * A database on a server that speaks the Tkrzw-RPC protocol (kv serve or tkrzw_server).
 * Every method is a promise; application errors reject with their StatusError, transport
 * errors with NETWORK_ERROR.
 */
export class RemoteDBM {
  private index = 0
  /** The DBMService's streaming calls, as grpc-js clients name them (for tests and tools that drive the protocol directly). */
  readonly client: DBMClient

  private constructor(
    private readonly channel: GrpcChannel,
    private readonly timeout: number,
  ) {
    this.client = dbmClient(channel, () => this.deadline())
  }

  /** Connects and waits until the server has answered the handshake (or the timeout passes). */
  static async connect(address: string, options: ConnectOptions = {}): Promise<RemoteDBM> {
    const target = /^\d+$/.test(address) ? `127.0.0.1:${address}` : address
    if (!target.startsWith('unix:') && !/^(\[[^\]]*\]|[^:]+):\d+$/.test(target)) {
      throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the address must be host:port, [v6]:port or unix:/path: "${address}"`)
    }
    let tls: {key: Buffer; cert: Buffer; ca: Buffer} | undefined
    if (options.auth) {
      const files = parseAuth(options.auth)
      tls = {key: files.key, cert: files.cert, ca: files.root}
    }
    const channel = new GrpcChannel(target, {tls})
    const timeout = options.timeout ?? -1
    const connectTimeout = options.connectTimeout ?? timeout
    // No limit is Infinity: a deadline past 2^31 ms from now overflows Node's timers, which then fire at once.
    const deadline = connectTimeout >= 0 && connectTimeout * 1000 < MAX_TIMER_MS ? Date.now() + connectTimeout * 1000 : Infinity
    try {
      await connectWithin(channel, deadline)
    } catch (error) {
      channel.close()
      throw new StatusError(Code.NETWORK_ERROR, `cannot connect to ${address}: ${(error as CallError).details ?? (error as Error).message}`)
    }
    return new RemoteDBM(channel, timeout)
  }

  /** Which database later calls address, as on the server's command line. */
  setDBMIndex(index: number): void {
    this.index = index
  }

  get dbmIndex(): number {
    return this.index
  }

  /** The deadline of a call starting now (ms since the epoch); Infinity without a timeout. */
  deadline(): number {
    // A limit past what Node's timers hold is no limit (it would fire at once).
    return this.timeout >= 0 && this.timeout * 1000 < MAX_TIMER_MS ? Date.now() + this.timeout * 1000 : Infinity
  }

  /** One unary call by method name; resolves with the response, having checked its status unless told not to. */
  private async call<Res extends {status?: StatusProto__Output | null}>(name: keyof typeof DBMService_METHODS, request: object, check = true): Promise<Res> {
    const method = DBMService_METHODS[name] as unknown as MethodCodecs
    let response: Res
    try {
      response = (await this.channel.unary(method.path, method.request, method.response, request, this.deadline())) as Res
    } catch (error) {
      throw networkError(error as Error)
    }
    if (check) checkStatus(response.status)
    return response
  }

  async echo(message: string): Promise<string> {
    return (await this.call<EchoResponse__Output>('Echo', {message})).echo
  }

  /** The database's attributes, in the server's order. */
  async inspect(): Promise<[string, string][]> {
    return (await this.call<InspectResponse__Output>('Inspect', {dbm_index: this.index})).records.map(({first, second}) => [first, second])
  }

  /** The server's own attributes (process, databases, memory, calls, time). */
  async inspectServer(): Promise<[string, string][]> {
    return (await this.call<InspectResponse__Output>('Inspect', {dbm_index: -1})).records.map(({first, second}) => [first, second])
  }

  /** The value of a key, or undefined when there is none. */
  async get(key: Bytes): Promise<Buffer | undefined> {
    try {
      return (await this.call<GetResponse__Output>('Get', {dbm_index: this.index, key: toBuffer(key)})).value
    } catch (error) {
      if (error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR) return undefined
      throw error
    }
  }

  /** The records found among the keys, in key order; missing keys are left out. */
  async getMulti(keys: Bytes[]): Promise<Record[]> {
    const response = await this.call<GetMultiResponse__Output>('GetMulti', {dbm_index: this.index, keys: keys.map(toBuffer)}, false)
    if (response.status && response.status.code !== Code.SUCCESS && response.status.code !== Code.NOT_FOUND_ERROR) checkStatus(response.status)
    return response.records.map(({first, second}) => [first, second])
  }

  /**
   * Stores a record. `xt` (kv servers, databases with expiration=true) says when it
   * expires: above 0, seconds from now; below 0, minus the epoch seconds; 0, never.
   */
  async set(key: Bytes, value: Bytes, overwrite = true, xt = 0): Promise<void> {
    const request = {dbm_index: this.index, key: toBuffer(key), value: toBuffer(value), overwrite, ...(xt !== 0 ? {xt: String(Math.trunc(xt))} : {})}
    await this.call<SetResponse__Output>('Set', request)
  }

  /** The value of a key and when it expires (epoch seconds; 0: never, or a server that keeps no times), or undefined. */
  async getWithExpiry(key: Bytes): Promise<{value: Buffer; xt: number} | undefined> {
    try {
      const response = await this.call<GetResponse__Output>('Get', {dbm_index: this.index, key: toBuffer(key)})
      return {value: response.value, xt: Number(response.xt ?? 0)}
    } catch (error) {
      if (error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR) return undefined
      throw error
    }
  }

  /** Stores records; `xt` (a kv server, expiration=true), when not 0, says when they expire, as for set. */
  async setMulti(records: [Bytes, Bytes][], overwrite = true, xt = 0): Promise<void> {
    const pairs = records.map(([first, second]) => ({first: toBuffer(first), second: toBuffer(second)}))
    await this.call<SetMultiResponse__Output>('SetMulti', {dbm_index: this.index, records: pairs, overwrite, ...(xt !== 0 ? {xt: String(Math.trunc(xt))} : {})})
  }

  async remove(key: Bytes): Promise<void> {
    await this.call<RemoveResponse__Output>('Remove', {dbm_index: this.index, key: toBuffer(key)})
  }

  async removeMulti(keys: Bytes[]): Promise<void> {
    await this.call<RemoveMultiResponse__Output>('RemoveMulti', {dbm_index: this.index, keys: keys.map(toBuffer)})
  }

  async append(key: Bytes, value: Bytes, delim: Bytes = ''): Promise<void> {
    await this.call<AppendResponse__Output>('Append', {dbm_index: this.index, key: toBuffer(key), value: toBuffer(value), delim: toBuffer(delim)})
  }

  async appendMulti(records: [Bytes, Bytes][], delim: Bytes = ''): Promise<void> {
    const pairs = records.map(([first, second]) => ({first: toBuffer(first), second: toBuffer(second)}))
    await this.call<AppendMultiResponse__Output>('AppendMulti', {dbm_index: this.index, records: pairs, delim: toBuffer(delim)})
  }

  /**
   * Compare and exchange, as the engine's: expected null (absent), ANY_VALUE or a value;
   * desired null (remove), ANY_VALUE (no update) or a value. With retryWait, the server
   * keeps trying for that many seconds; notify wakes others waiting on the key.
   */
  async compareExchange(
    key: Bytes,
    expected: Expected,
    desired: Bytes | null | typeof ANY_VALUE,
    options: {retryWait?: number; notify?: boolean; getActual?: boolean} = {},
  ): Promise<CompareExchangeResult> {
    const response = await this.call<CompareExchangeResponse__Output>('CompareExchange', compareExchangeRequest(this.index, key, expected, desired, options))
    return {actual: options.getActual ? response.actual : undefined, found: response.found}
  }

  /** Adds to an 8-byte big-endian integer; an increment of -2^63 only reads. */
  async increment(key: Bytes, increment: bigint | number, initial: bigint | number = 0n): Promise<bigint> {
    const response = await this.call<IncrementResponse__Output>('Increment', {
      dbm_index: this.index,
      key: toBuffer(key),
      increment: BigInt(increment).toString(),
      initial: BigInt(initial).toString(),
    })
    return BigInt(response.current)
  }

  async compareExchangeMulti(expected: [Bytes, Expected][], desired: [Bytes, Bytes | null][]): Promise<void> {
    await this.call<CompareExchangeMultiResponse__Output>('CompareExchangeMulti', {
      dbm_index: this.index,
      expected: expected.map(([key, value]) => ({
        key: toBuffer(key),
        existence: value !== null,
        any_value: value === ANY_VALUE,
        value: value === null || value === ANY_VALUE ? Buffer.alloc(0) : toBuffer(value),
      })),
      desired: desired.map(([key, value]) => ({key: toBuffer(key), existence: value !== null, value: value === null ? Buffer.alloc(0) : toBuffer(value)})),
    })
  }

  async rekey(oldKey: Bytes, newKey: Bytes, overwrite = true, copying = false): Promise<void> {
    await this.call<RekeyResponse__Output>('Rekey', {dbm_index: this.index, old_key: toBuffer(oldKey), new_key: toBuffer(newKey), overwrite, copying})
  }

  /** Removes and returns the first record; with retryWait, waits that many seconds for one. Undefined when none came. */
  async popFirst(retryWait = 0): Promise<Record | undefined> {
    try {
      const response = await this.call<PopFirstResponse__Output>('PopFirst', {dbm_index: this.index, retry_wait: retryWait})
      return [response.key, response.value]
    } catch (error) {
      if (error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR) return undefined
      throw error
    }
  }

  /** Stores a value under a key made from the time (wtime seconds; negative: now). */
  async pushLast(value: Bytes, wtime = -1, notify = false): Promise<void> {
    await this.call<PushLastResponse__Output>('PushLast', {dbm_index: this.index, value: toBuffer(value), wtime, notify})
  }

  async count(): Promise<number> {
    return Number((await this.call<CountResponse__Output>('Count', {dbm_index: this.index})).count)
  }

  async getFileSize(): Promise<number> {
    return Number((await this.call<GetFileSizeResponse__Output>('GetFileSize', {dbm_index: this.index})).file_size)
  }

  async clear(): Promise<void> {
    await this.call<ClearResponse__Output>('Clear', {dbm_index: this.index})
  }

  async rebuild(params: {[name: string]: string} = {}): Promise<void> {
    await this.call<RebuildResponse__Output>('Rebuild', {dbm_index: this.index, params: Object.entries(params).map(([first, second]) => ({first, second}))})
  }

  async shouldBeRebuilt(): Promise<boolean> {
    return (await this.call<ShouldBeRebuiltResponse__Output>('ShouldBeRebuilt', {dbm_index: this.index})).tobe
  }

  async synchronize(hard = false, params: {[name: string]: string} = {}): Promise<void> {
    await this.call<SynchronizeResponse__Output>('Synchronize', {
      dbm_index: this.index,
      hard,
      params: Object.entries(params).map(([first, second]) => ({first, second})),
    })
  }

  /** Keys matching a pattern in a search mode; capacity 0 for no cap. */
  async search(mode: string, pattern: Bytes, capacity = 0): Promise<Buffer[]> {
    return (await this.call<SearchResponse__Output>('Search', {dbm_index: this.index, mode, pattern: toBuffer(pattern), capacity})).matched
  }

  /** A stream of pipelined record operations on one call. */
  makeStream(): RemoteStream {
    return new RemoteStream(this.client.Stream(), this.index)
  }

  /** A server-side cursor on one call. */
  makeIterator(): RemoteIterator {
    return new RemoteIterator(this.client.Iterate(), this.index)
  }

  /**
   * The server's changes from `minTimestamp` on (milliseconds, inclusive), as a replica
   * pulls them: those made by `serverId` are left out, and a heartbeat comes after
   * `waitSeconds` without a change. No deadline: it runs until cancelled.
   */
  replicate(minTimestamp: number, serverId: number, waitSeconds: number): ReplicationSession {
    return new ReplicationSession(
      this.client.Replicate({min_timestamp: String(Math.max(0, Math.trunc(minTimestamp))), server_id: serverId, wait_time: waitSeconds}, Infinity),
    )
  }

  /** Makes the server replicate from another master ('' stops it), from its newest applied timestamp plus `skew` milliseconds. */
  async changeMaster(master: string, skew = 0): Promise<void> {
    await this.call<ChangeMasterResponse__Output>('ChangeMaster', {master, timestamp_skew: String(Math.trunc(skew))})
  }

  close(): void {
    this.channel.close()
  }
}

/** The longest delay Node's timers take. */
const MAX_TIMER_MS = 2 ** 31 - 1

interface MethodCodecs {
  path: string
  request: {decode(buf: Buffer): unknown; encode(message: unknown, prefix?: number): Buffer}
  response: {decode(buf: Buffer): unknown; encode(message: unknown, prefix?: number): Buffer}
}

/** The DBMService's streaming calls. */
export interface DBMClient {
  Stream(): ClientStream
  Iterate(): ClientStream
  /** Server-streaming: the request, and the deadline (Infinity by default: replication runs until cancelled). */
  Replicate(request: object, deadline?: number): ClientStream
}

function dbmClient(channel: GrpcChannel, deadline: () => number): DBMClient {
  const codecs = (name: keyof typeof DBMService_METHODS) => DBMService_METHODS[name] as unknown as MethodCodecs
  const open = (name: keyof typeof DBMService_METHODS, until: number, single?: object) => {
    const method = codecs(name)
    return channel.stream(method.path, method.request, method.response, until, single)
  }
  return {
    Stream: () => open('Stream', deadline()),
    Iterate: () => open('Iterate', deadline()),
    Replicate: (request, until = Infinity) => open('Replicate', until, request),
  }
}

/**
 * Connects before the deadline. Nobody listening (refused, no socket file, unknown host)
 * ends the wait at once, as with the reference tools; a server that accepted and then
 * dropped the connection (busy at its connection limit, or a handshake that failed) is
 * given until the deadline to come round, with a new attempt every 200 ms.
 */
async function connectWithin(channel: GrpcChannel, deadline: number): Promise<void> {
  for (;;) {
    try {
      await channel.connect(deadline)
      return
    } catch (error) {
      const failure = error as CallError
      if (failure.final || Date.now() + 200 >= deadline) {
        if (failure.code === 4 || failure.final) throw failure
        throw new CallError(failure.code, `${failure.details}, and no answer before the deadline`)
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}
