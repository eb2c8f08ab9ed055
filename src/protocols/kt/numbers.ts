/**
 * Kyoto Tycoon's stored numbers, which its `increment` and `increment_double` read and write:
 * an integer is 8 bytes, big-endian two's complement; a real number is 16 bytes, the integral
 * part then the fraction in units of 10^-15, each a big-endian 64-bit integer.
 */
import {INT64_MIN} from '../../engine/dbm.js'

export {INT64_MIN}
export const INT64_MAX = (1n << 63n) - 1n

/** 10^15: the fraction's unit. */
const FRACTION_UNIT = 1_000_000_000_000_000n

/** An integer as stored: the engine's own 8-byte encoding. */
export {encodeInt64 as encodeInteger} from '../../engine/dbm.js'

export function decodeInteger(bytes: Buffer): bigint | undefined {
  return bytes.length === 8 ? bytes.readBigInt64BE() : undefined
}

/** A real number as stored: NaN as both parts at INT64_MIN; infinities as an integral part at an end. */
export function encodeReal(value: number): Buffer {
  const bytes = Buffer.alloc(16)
  if (Number.isNaN(value)) {
    bytes.writeBigInt64BE(INT64_MIN, 0)
    bytes.writeBigInt64BE(INT64_MIN, 8)
  } else if (!Number.isFinite(value)) {
    bytes.writeBigInt64BE(value > 0 ? INT64_MAX : INT64_MIN, 0)
  } else {
    const integral = Math.trunc(value)
    bytes.writeBigInt64BE(BigInt.asIntN(64, BigInt(integral)), 0)
    bytes.writeBigInt64BE(BigInt(Math.trunc((value - integral) * Number(FRACTION_UNIT))), 8)
  }
  return bytes
}

/** The parts of a stored real number; undefined when the bytes are not one. */
export function decodeRealParts(bytes: Buffer): {integral: bigint; fraction: bigint} | undefined {
  if (bytes.length !== 16) return undefined
  return {integral: bytes.readBigInt64BE(0), fraction: bytes.readBigInt64BE(8)}
}

export function realOf(parts: {integral: bigint; fraction: bigint}): number {
  if (parts.integral === INT64_MIN && parts.fraction === INT64_MIN) return Number.NaN
  if (parts.integral === INT64_MAX) return Number.POSITIVE_INFINITY
  if (parts.integral === INT64_MIN) return Number.NEGATIVE_INFINITY
  return Number(parts.integral) + Number(parts.fraction) / Number(FRACTION_UNIT)
}

/**
 * Adds a real number to stored parts in fixed point, as the reference does: integral parts
 * add, fractions add with a carry. Returns the new stored bytes and the value they hold.
 */
export function addReal(parts: {integral: bigint; fraction: bigint}, addend: number): {bytes: Buffer; value: number} {
  if (!Number.isFinite(addend)) {
    const bytes = encodeReal(addend)
    return {bytes, value: addend}
  }
  const addIntegral = Math.trunc(addend)
  let integral = parts.integral + BigInt(addIntegral)
  let fraction = parts.fraction + BigInt(Math.trunc((addend - addIntegral) * Number(FRACTION_UNIT)))
  if (fraction >= FRACTION_UNIT) {
    integral += 1n
    fraction -= FRACTION_UNIT
  }
  const bytes = Buffer.allocUnsafe(16)
  bytes.writeBigInt64BE(BigInt.asIntN(64, integral), 0)
  bytes.writeBigInt64BE(BigInt.asIntN(64, fraction), 8)
  return {bytes, value: realOf({integral, fraction})}
}

/** A real number as Kyoto Tycoon prints one: six decimals, as C's %f. */
export function formatReal(value: number): string {
  if (Number.isNaN(value)) return 'nan'
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf'
  return value.toFixed(6)
}
