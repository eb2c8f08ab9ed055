import type {ClientStream} from './grpc-channel.js'
import {toBuffer, type Bytes, type Record} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'
import type {IterateRequest} from '../protocols/grpc/generated/tkrzw_rpc/IterateRequest.js'
import type {IterateResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/IterateResponse.js'
import {DuplexQueue} from './duplex-queue.js'
import {checkStatus} from './wire.js'

type Operation = NonNullable<IterateRequest['operation']>

/** A cursor held by the server for as long as this call lives. */
export class RemoteIterator {
  private readonly queue: DuplexQueue<IterateRequest, IterateResponse__Output>

  constructor(
    call: ClientStream,
    private readonly index: number,
  ) {
    this.queue = new DuplexQueue(call)
  }

  private async op(operation: Operation, fields: Partial<IterateRequest> = {}): Promise<IterateResponse__Output> {
    const response = await this.queue.request({dbm_index: this.index, operation, ...fields})
    checkStatus(response.status)
    return response
  }

  async first(): Promise<void> {
    await this.op('OP_FIRST')
  }

  async last(): Promise<void> {
    await this.op('OP_LAST')
  }

  async jump(key: Bytes): Promise<void> {
    await this.op('OP_JUMP', {key: toBuffer(key)})
  }

  async jumpLower(key: Bytes, inclusive = false): Promise<void> {
    await this.op('OP_JUMP_LOWER', {key: toBuffer(key), jump_inclusive: inclusive})
  }

  async jumpUpper(key: Bytes, inclusive = false): Promise<void> {
    await this.op('OP_JUMP_UPPER', {key: toBuffer(key), jump_inclusive: inclusive})
  }

  async next(): Promise<void> {
    await this.op('OP_NEXT')
  }

  async previous(): Promise<void> {
    await this.op('OP_PREVIOUS')
  }

  /** The current record, or undefined past the end. */
  async get(): Promise<Record | undefined> {
    return this.recordOf('OP_GET')
  }

  async set(value: Bytes): Promise<void> {
    await this.op('OP_SET', {value: toBuffer(value)})
  }

  async remove(): Promise<void> {
    await this.op('OP_REMOVE')
  }

  /** The current record, moving on to the next; undefined past the end. */
  async step(): Promise<Record | undefined> {
    return this.recordOf('OP_STEP')
  }

  private async recordOf(operation: Operation): Promise<Record | undefined> {
    try {
      const response = await this.op(operation)
      return [response.key, response.value]
    } catch (error) {
      if (error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR) return undefined
      throw error
    }
  }

  close(): void {
    this.queue.close()
  }
}
