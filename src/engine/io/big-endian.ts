/** Unsigned big-endian integers of 1 to 7 bytes, as the file formats store sizes, offsets and IDs. */

export function readUintBE(buffer: Uint8Array, offset: number, width: number): number {
  let value = 0
  for (let i = 0; i < width; i++) value = value * 256 + buffer[offset + i]
  return value
}

/** Writes the low `width` bytes of a non-negative integer (negative ones and fractions are cut to the integer at or above 0). */
export function writeUintBE(buffer: Uint8Array, offset: number, value: number, width: number): void {
  let rest = Math.max(0, Math.trunc(value))
  for (let i = width - 1; i >= 0; i--) {
    buffer[offset + i] = rest % 256
    rest = Math.floor(rest / 256)
  }
}
