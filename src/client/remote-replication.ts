import type {ClientStream} from './grpc-channel.js'
import type {Change} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'
import type {ReplicateResponse__Output} from '../protocols/grpc/generated/tkrzw_rpc/ReplicateResponse.js'
import {networkError} from './wire.js'

/** What a master's replication stream carries: its greeting, changes and heartbeats. */
export interface ReplicatedMessage {
  /** 'greeting' first (serverId: the master's), then 'change's, and a 'heartbeat' whenever the master had nothing for a while. */
  kind: 'greeting' | 'change' | 'heartbeat'
  /** The change's time, or in a heartbeat the master's newest, in milliseconds. */
  timestamp: number
  serverId: number
  dbmIndex: number
  op: 'noop' | 'set' | 'remove' | 'clear'
  key: Buffer
  value: Buffer
}

const OPS = {OP_NOOP: 'noop', OP_SET: 'set', OP_REMOVE: 'remove', OP_CLEAR: 'clear'} as const

/**
 * A replication stream from a server's update log, message by message. Any status but
 * success or a heartbeat ends it with that status (CANCELED_ERROR when the master shuts
 * down); a broken connection ends it with NETWORK_ERROR.
 */
export class ReplicationSession implements AsyncIterable<ReplicatedMessage> {
  private first = true

  constructor(private readonly call: ClientStream) {}

  async *[Symbol.asyncIterator](): AsyncIterator<ReplicatedMessage> {
    try {
      for await (const response of this.call as AsyncIterable<ReplicateResponse__Output>) {
        const code = response.status?.code ?? Code.SUCCESS
        if (code !== Code.SUCCESS && code !== Code.INFEASIBLE_ERROR) throw new StatusError(code as Code, response.status?.message ?? '')
        const op = OPS[response.op_type] ?? 'noop'
        const kind = this.first ? 'greeting' : code === Code.INFEASIBLE_ERROR ? 'heartbeat' : 'change'
        if (this.first && op !== 'noop') throw new StatusError(Code.BROKEN_DATA_ERROR, 'the replication stream did not begin with a greeting')
        this.first = false
        yield {
          kind,
          timestamp: Number(response.timestamp),
          serverId: response.server_id,
          dbmIndex: response.dbm_index,
          op,
          key: response.key,
          value: response.value,
        }
      }
    } catch (error) {
      if (error instanceof StatusError) throw error
      throw networkError(error as Error)
    }
  }

  /** Ends the stream from this side. */
  cancel(): void {
    this.call.cancel()
  }
}

/** The change a message carries, as the engine applies and logs it; undefined for a greeting or a heartbeat. */
export function changeOf(message: ReplicatedMessage): Change | undefined {
  if (message.kind !== 'change') return undefined
  if (message.op === 'set') return {op: 'set', key: message.key, value: message.value}
  if (message.op === 'remove') return {op: 'remove', key: message.key}
  if (message.op === 'clear') return {op: 'clear'}
  return undefined
}
