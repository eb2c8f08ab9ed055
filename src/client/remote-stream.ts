import type {ClientStream} from './grpc-channel.js'
import {toBuffer, type ANY_VALUE, type Bytes, type Expected} from '../engine/dbm.js'
import {Code} from '../engine/status.js'
import type {StreamRequest} from '../protocols/grpc/generated/tkrzw_rpc/StreamRequest.js'
import type {StreamResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/StreamResponse.js'
import {DuplexQueue} from './duplex-queue.js'
import {checkStatus, compareExchangeRequest, type CompareExchangeResult} from './wire.js'

/**
 * Record operations pipelined on one Stream call: each resolves when its response comes;
 * with `ignoreResult`, nothing comes back and the promise resolves at once.
 */
export class RemoteStream {
  private readonly queue: DuplexQueue<StreamRequest, StreamResponse__Output>

  constructor(
    call: ClientStream,
    private readonly index: number,
  ) {
    this.queue = new DuplexQueue(call)
  }

  async echo(message: string): Promise<string> {
    return (await this.queue.request({echo_request: {message}})).echo_response!.echo
  }

  async get(key: Bytes): Promise<Buffer | undefined> {
    const response = (await this.queue.request({get_request: {dbm_index: this.index, key: toBuffer(key)}})).get_response!
    if (response.status?.code === Code.NOT_FOUND_ERROR) return undefined
    checkStatus(response.status)
    return response.value
  }

  async set(key: Bytes, value: Bytes, overwrite = true, ignoreResult = false): Promise<void> {
    const request: StreamRequest = {set_request: {dbm_index: this.index, key: toBuffer(key), value: toBuffer(value), overwrite}}
    if (ignoreResult) return this.queue.send({...request, omit_response: true})
    checkStatus((await this.queue.request(request)).set_response!.status)
  }

  async remove(key: Bytes, ignoreResult = false): Promise<void> {
    const request: StreamRequest = {remove_request: {dbm_index: this.index, key: toBuffer(key)}}
    if (ignoreResult) return this.queue.send({...request, omit_response: true})
    checkStatus((await this.queue.request(request)).remove_response!.status)
  }

  async append(key: Bytes, value: Bytes, delim: Bytes = '', ignoreResult = false): Promise<void> {
    const request: StreamRequest = {append_request: {dbm_index: this.index, key: toBuffer(key), value: toBuffer(value), delim: toBuffer(delim)}}
    if (ignoreResult) return this.queue.send({...request, omit_response: true})
    checkStatus((await this.queue.request(request)).append_response!.status)
  }

  async compareExchange(key: Bytes, expected: Expected, desired: Bytes | null | typeof ANY_VALUE, getActual = false): Promise<CompareExchangeResult> {
    const response = (await this.queue.request({compare_exchange_request: compareExchangeRequest(this.index, key, expected, desired, {getActual})}))
      .compare_exchange_response!
    checkStatus(response.status)
    return {actual: getActual ? response.actual : undefined, found: response.found}
  }

  async increment(key: Bytes, increment: bigint | number, initial: bigint | number = 0n): Promise<bigint> {
    const response = (
      await this.queue.request({
        increment_request: {dbm_index: this.index, key: toBuffer(key), increment: BigInt(increment).toString(), initial: BigInt(initial).toString()},
      })
    ).increment_response!
    checkStatus(response.status)
    return BigInt(response.current)
  }

  close(): void {
    this.queue.close()
  }
}
