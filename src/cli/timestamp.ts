import {Code, StatusError} from '../engine/status.js'

/** Milliseconds per unit. */
const UNITS: {[unit: string]: number} = {d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000}

/**
 * A timestamp in milliseconds from an expression as the update-log tools take it: a number
 * of milliseconds, or with a unit `s`, `m`, `h` or `d` (any case); a leading `+` or `-`
 * counts from now (`-3D`: three days ago, `+0`: now). `now` is now. Anything else is
 * INVALID_ARGUMENT_ERROR (the reference tool reads it as 0).
 */
export function parseTimestampExpr(text: string, now = Date.now()): number {
  const expr = text.trim().toLowerCase()
  if (expr === 'now') return now
  const match = /^([-+]?)(\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)? *([dhms]?)$/.exec(expr)
  if (!match)
    throw new StatusError(
      Code.INVALID_ARGUMENT_ERROR,
      `invalid timestamp expression: "${text}" (milliseconds, or a number with s, m, h or d; + or - for relative to now)`,
    )
  const number = Number.parseFloat(expr.replace(/ *[dhms]$/, ''))
  const value = number * (UNITS[match[3]] ?? 1)
  return Math.trunc(match[1] === '' ? value : now + value)
}
