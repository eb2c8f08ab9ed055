import {ANY_VALUE, toBuffer, type Bytes, type Expected} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'
import type {StatusProto__Output} from '../protocols/grpc/generated/tkrzw_rpc/StatusProto.js'
import {STATUS_NAMES} from './grpc-channel.js'

// What the client's pieces share about the wire: statuses, transport errors, requests
// built the same way for unary calls and streams.

/** Throws the application status of a response when it is not SUCCESS. */
export function checkStatus(status: StatusProto__Output | null | undefined): void {
  if (status && status.code !== Code.SUCCESS) throw new StatusError(status.code as Code, status.message)
}

/** A gRPC failure as the status a client reports: NETWORK_ERROR with the gRPC code's name. */
export function networkError(error: Error & {code?: number | string; details?: string}): StatusError {
  const code = typeof error.code === 'number' ? error.code : undefined
  const name = code === undefined ? 'UNKNOWN' : (STATUS_NAMES[code] ?? String(code))
  const details = error.details ?? error.message
  return new StatusError(Code.NETWORK_ERROR, `${name}: ${details}`)
}

/** What a successful CompareExchange tells. */
export interface CompareExchangeResult {
  /** The value before the exchange, when asked for and present. */
  actual?: Buffer
  found: boolean
}

/** The request of a compare-exchange, shared by the unary call and the stream. */
export function compareExchangeRequest(
  index: number,
  key: Bytes,
  expected: Expected,
  desired: Bytes | null | typeof ANY_VALUE,
  options: {retryWait?: number; notify?: boolean; getActual?: boolean} = {},
) {
  return {
    dbm_index: index,
    key: toBuffer(key),
    expected_existence: expected !== null,
    expect_any_value: expected === ANY_VALUE,
    expected_value: expected === null || expected === ANY_VALUE ? Buffer.alloc(0) : toBuffer(expected),
    desired_existence: desired !== null,
    desire_no_update: desired === ANY_VALUE,
    desired_value: desired === null || desired === ANY_VALUE ? Buffer.alloc(0) : toBuffer(desired),
    get_actual: options.getActual ?? false,
    retry_wait: options.retryWait ?? 0,
    notify: options.notify ?? false,
  }
}
