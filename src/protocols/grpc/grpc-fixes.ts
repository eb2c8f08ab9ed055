import {createRequire} from 'node:module'

/**
 * grpc-js (1.14) turns a call's grpc-timeout header into milliseconds with `| 0`, so a
 * timeout beyond 2^31 ms (about 25 days; Tkrzw-RPC's C++ client sends such a timeout on
 * its streams when it has no limit) wraps around, and the call fails at once with
 * DEADLINE_EXCEEDED. This replaces the header handler with one that computes the timeout
 * without wrapping and sets no timer for a deadline too far away to matter.
 */
const MAX_TIMER_MS = 2 ** 31 - 1
const UNITS_MS: {[unit: string]: number} = {H: 3600000, M: 60000, S: 1000, m: 1, u: 0.001, n: 0.000001}
const TIMEOUT_HEADER = /(\d{1,8})\s*([HMSmun])/

interface TimedCall {
  deadline: number
  deadlineTimer: NodeJS.Timeout | null
  sendStatus(status: {code: number; details: string; metadata: null}): void
}

let applied = false

export function applyGrpcFixes(): void {
  if (applied) return
  applied = true
  const require = createRequire(import.meta.url)
  const module = require('@grpc/grpc-js/build/src/server-interceptors.js') as {
    BaseServerInterceptingCall?: {prototype: {handleTimeoutHeader?: (header: unknown) => void}}
  }
  const prototype = module.BaseServerInterceptingCall?.prototype
  // A grpc-js without this method has changed its internals: leave it alone.
  if (!prototype || typeof prototype.handleTimeoutHeader !== 'function') return
  const original = prototype.handleTimeoutHeader
  prototype.handleTimeoutHeader = function (this: TimedCall, header: unknown) {
    const match = TIMEOUT_HEADER.exec(String(header))
    if (match === null) return original.call(this, header)
    const timeout = Number(match[1]) * UNITS_MS[match[2]]
    if (timeout <= MAX_TIMER_MS) return original.call(this, header)
    this.deadline = Date.now() + timeout
    this.deadlineTimer = null
  }
}
