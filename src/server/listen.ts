import {Code, StatusError} from '../engine/status.js'
import {AddressError, parseHostPort} from '../net/address.js'

/** Where a front end listens, from `[host:]port`; INVALID_ARGUMENT when malformed. */
export function listenAddress(address: string, protocol: string): {host: string; port: number} {
  try {
    return parseHostPort(address, protocol)
  } catch (error) {
    throw error instanceof AddressError ? new StatusError(Code.INVALID_ARGUMENT_ERROR, error.message) : error
  }
}
