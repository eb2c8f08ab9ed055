import {Code, StatusError} from '../engine/status.js'
import {LogReader} from '../engine/ulog/reader.js'
import {decodeChange} from '../engine/ulog/update-log.js'
import type {ServerUpdateLog} from './core.js'

/** One message of a replication stream, whatever protocol carries it. */
export interface ReplicationMessage {
  /** 'ok' for the greeting and the changes, 'heartbeat' when nothing came within the wait, 'canceled' at the end. */
  status: 'ok' | 'heartbeat' | 'canceled'
  /** The change's time (or, in a heartbeat, the master's newest), in milliseconds; 0 in the greeting. */
  timestamp: number
  /** The greeting: the master's ID; a change: the ID of the server it came from. */
  serverId: number
  dbmIndex: number
  op: 'noop' | 'set' | 'remove' | 'clear'
  key?: Buffer
  value?: Buffer
}

export interface ReplicationRequest {
  /** Changes from this time on (inclusive), in milliseconds. */
  minTimestamp: number
  /** The asking server's ID: its own changes are not sent back to it. */
  clientServerId: number
  /** Seconds without a change after which a heartbeat goes out (0 or less: at once). */
  waitSeconds: number
}

/**
 * The master's side of replication: a greeting with the master's ID, then every change of
 * its update log from the minimum timestamp on, skipping those that came from the asking
 * server (so that two masters replicating each other do not echo), with a heartbeat
 * carrying the master's newest timestamp whenever nothing came for `waitSeconds`. Runs
 * until `cancelled` says so or the log closes (then a last 'canceled' message).
 */
export async function* replicationStream(
  updateLog: ServerUpdateLog | undefined,
  ownServerId: number,
  request: ReplicationRequest,
  cancelled: () => boolean,
): AsyncGenerator<ReplicationMessage> {
  if (!updateLog) throw new StatusError(Code.PRECONDITION_ERROR, 'disabled update logging')
  if (request.clientServerId === ownServerId) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the client has this server's own ID ${ownServerId}`)
  const {queue} = updateLog
  yield {status: 'ok', timestamp: 0, serverId: ownServerId, dbmIndex: 0, op: 'noop'}
  const reader = new LogReader(queue.prefix, Math.max(0, request.minTimestamp), queue)
  try {
    while (!cancelled()) {
      let message
      try {
        message = await reader.read(Math.max(0, request.waitSeconds))
        if (!message) {
          // Nothing within the wait: the log's time moves on to now, and the replica learns it.
          queue.updateTimestamp(-1)
          message = reader.next()
        }
      } catch (error) {
        if (error instanceof StatusError && error.code === Code.CANCELED_ERROR) {
          yield {status: 'canceled', timestamp: 0, serverId: 0, dbmIndex: 0, op: 'noop'}
          return
        }
        throw error
      }
      if (cancelled()) return
      if (!message) {
        yield {status: 'heartbeat', timestamp: queue.timestamp, serverId: 0, dbmIndex: 0, op: 'noop'}
        // With no wait asked, heartbeats still leave the event loop a turn between them.
        if (request.waitSeconds <= 0) await new Promise((resolve) => setImmediate(resolve))
        continue
      }
      const change = decodeChange(message.payload)
      if (change.serverId === request.clientServerId) continue
      yield {
        status: 'ok',
        timestamp: message.timestamp,
        serverId: change.serverId,
        dbmIndex: change.dbmIndex,
        op: change.op,
        key: change.op === 'clear' ? undefined : change.key,
        value: change.op === 'set' ? change.value : undefined,
      }
    }
  } finally {
    reader.close()
  }
}
