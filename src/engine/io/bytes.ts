/**
 * Copies source[start, start + size) into target at `at`; returns where the copy ends. Short
 * runs are copied byte by byte: for the keys and values of a few bytes that most records
 * have, a loop beats the call into native code.
 */
export function copyBytes(source: Uint8Array, start: number, size: number, target: Uint8Array, at: number): number {
  if (size <= 32) for (let i = 0; i < size; i++) target[at + i] = source[start + i]
  else target.set(source.subarray(start, start + size), at)
  return at + size
}

/** A copy of data[start, start + size), cut from Node.js' shared pool when it is small. */
export function copyOut(data: Uint8Array, start: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  copyBytes(data, start, size, out, 0)
  return out
}
