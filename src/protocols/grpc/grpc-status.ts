import {encodeHeaders, type HeaderList} from '../../net/http2/hpack.js'

/** gRPC's status codes. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const

/** A status as handlers give it: grpc-js's ServiceError shape, or any Error. */
export interface StatusLike {
  code?: number
  details?: string
  message?: string
}

/** The bytes grpc-message may carry as they are; the rest is percent-encoded UTF-8. */
export function percentEncode(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

export function percentDecode(text: string): string {
  if (!text.includes('%')) return text
  const bytes: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(text.charCodeAt(i) & 0xff)
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** The headers that start every answer. */
export const RESPONSE_HEADERS = encodeHeaders([':status', '200', 'content-type', 'application/grpc', 'grpc-accept-encoding', 'identity,deflate,gzip'])
export const OK_TRAILERS = encodeHeaders(['grpc-status', '0'])

/** The trailers of a failed call; `trailersOnly` when no headers went before them. */
export function statusTrailers(code: number, message: string, trailersOnly: boolean, extra: HeaderList = []): Buffer {
  const fields: HeaderList = trailersOnly ? [':status', '200', 'content-type', 'application/grpc'] : []
  fields.push('grpc-status', String(code))
  if (message) fields.push('grpc-message', percentEncode(message))
  fields.push(...extra)
  return encodeHeaders(fields)
}

/** grpc-timeout ("<digits><unit>") in milliseconds; undefined when absent or malformed. */
export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d{1,8})([HMSmun])$/.exec(value.trim())
  if (!match) return undefined
  const units: {[unit: string]: number} = {H: 3600000, M: 60000, S: 1000, m: 1, u: 0.001, n: 0.000001}
  return Number(match[1]) * units[match[2]]
}

/** grpc-timeout for a number of milliseconds, in the unit that keeps it within 8 digits. */
export function formatTimeout(millis: number): string {
  const ms = Math.max(0, Math.ceil(millis))
  if (ms < 1e8) return `${ms}m`
  const seconds = Math.ceil(ms / 1000)
  if (seconds < 1e8) return `${seconds}S`
  return `${Math.min(99999999, Math.ceil(seconds / 3600))}H`
}
