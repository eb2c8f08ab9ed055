import {Code, StatusError} from '../engine/status.js'

/**
 * `[host:]port` as the memcached and Kyoto Tycoon front ends (and the perf drivers that
 * talk to them) take it: 127.0.0.1 when no host is given, an IPv6 host in brackets.
 * INVALID_ARGUMENT when malformed.
 */
export function parseHostPort(address: string, what: string): {host: string; port: number} {
  const match = /^(?:(.*):)?(\d+)$/.exec(address.trim())
  if (!match || Number(match[2]) > 65535) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `the ${what} address must be [host:]port: "${address}"`)
  return {host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(match[2])}
}

/** A bound address as host:port, with an IPv6 host in brackets. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}
