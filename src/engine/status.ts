/** Status codes with Tkrzw's numbering; they travel on the wire unchanged. */
export enum Code {
  SUCCESS = 0,
  UNKNOWN_ERROR = 1,
  SYSTEM_ERROR = 2,
  NOT_IMPLEMENTED_ERROR = 3,
  PRECONDITION_ERROR = 4,
  INVALID_ARGUMENT_ERROR = 5,
  CANCELED_ERROR = 6,
  NOT_FOUND_ERROR = 7,
  PERMISSION_ERROR = 8,
  INFEASIBLE_ERROR = 9,
  DUPLICATION_ERROR = 10,
  BROKEN_DATA_ERROR = 11,
  NETWORK_ERROR = 12,
  APPLICATION_ERROR = 13,
}

export function codeName(code: Code): string {
  return Code[code] ?? 'UNKNOWN_ERROR'
}

/** The statuses that mean something went wrong inside kv or under it: only their errors keep a stack trace. */
const FAULTS = new Set([Code.UNKNOWN_ERROR, Code.SYSTEM_ERROR, Code.BROKEN_DATA_ERROR, Code.APPLICATION_ERROR])

/**
 * Whether an error about to be made should capture a stack trace; when not, the limit is set
 * to 0 and the caller restores `limit` once the error exists. A failure that is an outcome
 * (a key not found, a duplicate, a bad argument) is made on hot paths, a server's missing key
 * on every miss, and nobody reads its stack: capturing one costs about 5 µs, more than a
 * whole call.
 */
export function skipStack(fault: boolean): number {
  const limit = Error.stackTraceLimit
  if (!fault) Error.stackTraceLimit = 0
  return limit
}

/** An operation's failure, carrying its Tkrzw status code. */
export class StatusError extends Error {
  readonly code: Code
  /** The message without the code name. */
  readonly detail: string

  constructor(code: Code, message = '') {
    const limit = skipStack(FAULTS.has(code))
    super(message === '' ? codeName(code) : `${codeName(code)}: ${message}`)
    Error.stackTraceLimit = limit
    this.code = code
    this.detail = message
    this.name = 'StatusError'
  }
}

export function isStatus(error: unknown, code: Code): boolean {
  return error instanceof StatusError && error.code === code
}

/** Maps a Node.js system error to the status a file operation reports. */
export function fromSystemError(error: unknown, what: string): StatusError {
  if (error instanceof StatusError) return error
  const e = error as NodeJS.ErrnoException
  const message = `${what}: ${e.message ?? String(error)}`
  switch (e.code) {
    case 'ENOENT':
      return new StatusError(Code.NOT_FOUND_ERROR, message)
    case 'EACCES':
    case 'EPERM':
      return new StatusError(Code.PERMISSION_ERROR, message)
    case 'ENAMETOOLONG':
      return new StatusError(Code.INVALID_ARGUMENT_ERROR, message)
    default:
      return new StatusError(Code.SYSTEM_ERROR, message)
  }
}
