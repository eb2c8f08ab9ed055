/**
 * Byte-delta integers: big-endian base 128, every byte but the last with its high bit set.
 * 0..127 take one byte, up to 16383 two, and so on.
 */

export function varintSize(n: number): number {
  let size = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    size++
  }
  return size
}

/** Writes n at offset and returns the offset after it. */
export function writeVarint(buffer: Uint8Array, offset: number, n: number): number {
  const size = varintSize(n)
  let pos = offset + size - 1
  buffer[pos] = n % 0x80
  n = Math.floor(n / 0x80)
  while (pos > offset) {
    pos--
    buffer[pos] = (n % 0x80) | 0x80
    n = Math.floor(n / 0x80)
  }
  return offset + size
}

/**
 * Reads an integer at offset. Returns [value, next offset], or undefined when the bytes end
 * before the integer does.
 */
export function readVarint(buffer: Uint8Array, offset: number, end = buffer.length): [number, number] | undefined {
  let n = 0
  for (let pos = offset; pos < end; pos++) {
    const byte = buffer[pos]
    n = n * 0x80 + (byte & 0x7f)
    if (byte < 0x80) return [n, pos + 1]
    if (pos - offset >= 8) return undefined
  }
  return undefined
}

export function encodeVarint(n: number): Buffer {
  const buffer = Buffer.allocUnsafe(varintSize(n))
  writeVarint(buffer, 0, n)
  return buffer
}
