/**
 * The protobuf wire format, for the codecs that scripts/gen-codecs.js writes from the
 * .proto: a reader and a writer of varints, fixed-width numbers and length-delimited
 * fields. Messages come out as plain objects in the shape the rest of kv uses (field
 * names as in the proto, int64 as decimal strings, enums by name, every field present
 * with its default), so a call costs one object per message and no reflection.
 */

/** A malformed message: the server answers INTERNAL, a client fails the call. */
export class ProtobufError extends Error {}

const EMPTY = Buffer.alloc(0)
const TWO_32 = 4294967296

export class ProtoReader {
  pos: number

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start
  }

  /** A varint of up to 32 bits (more are read and dropped, as for a negative int32). */
  uint32(): number {
    const buf = this.buf
    let byte = buf[this.pos++]
    if (byte < 0x80) return byte
    let value = byte & 0x7f
    byte = buf[this.pos++]
    value |= (byte & 0x7f) << 7
    if (byte < 0x80) return value
    byte = buf[this.pos++]
    value |= (byte & 0x7f) << 14
    if (byte < 0x80) return value
    byte = buf[this.pos++]
    value |= (byte & 0x7f) << 21
    if (byte < 0x80) return value
    byte = buf[this.pos++]
    value = (value | ((byte & 0x0f) << 28)) >>> 0
    if (byte < 0x80) return value
    // Bits beyond 32: up to five more bytes.
    for (let i = 0; i < 5; i++) if (buf[this.pos++] < 0x80) return value
    throw new ProtobufError('a varint is longer than ten bytes')
  }

  int32(): number {
    return this.uint32() | 0
  }

  /** A 64-bit varint as its two 32-bit halves. */
  private varint64(): [number, number] {
    const buf = this.buf
    let low = 0
    let shift = 0
    for (; shift < 28; shift += 7) {
      const byte = buf[this.pos++]
      low |= (byte & 0x7f) << shift
      if (byte < 0x80) return [low >>> 0, 0]
    }
    let byte = buf[this.pos++]
    low |= (byte & 0x0f) << 28
    let high = (byte & 0x7f) >> 4
    if (byte < 0x80) return [low >>> 0, high]
    for (shift = 3; shift < 32; shift += 7) {
      byte = buf[this.pos++]
      high |= (byte & 0x7f) << shift
      if (byte < 0x80) return [low >>> 0, high >>> 0]
    }
    throw new ProtobufError('a varint is longer than ten bytes')
  }

  /** An int64 as a decimal string. */
  int64(): string {
    const [low, high] = this.varint64()
    if (high === 0) return String(low)
    if (high < 0x200000) return String(high * TWO_32 + low)
    return BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low)).toString()
  }

  /** A uint64 as a decimal string. */
  uint64(): string {
    const [low, high] = this.varint64()
    if (high < 0x200000) return String(high * TWO_32 + low)
    return ((BigInt(high) << 32n) | BigInt(low)).toString()
  }

  bool(): boolean {
    return this.uint32() !== 0
  }

  double(): number {
    this.need(8)
    const value = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return value
  }

  float(): number {
    this.need(4)
    const value = this.buf.readFloatLE(this.pos)
    this.pos += 4
    return value
  }

  fixed32(): number {
    this.need(4)
    const value = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return value
  }

  /** The end of a length-delimited field that starts here. */
  delimited(): number {
    const length = this.uint32()
    const end = this.pos + length
    if (end > this.end) throw new ProtobufError('a field runs past the end of its message')
    return end
  }

  /** Bytes: a view of the message's buffer, which the caller owns alone. */
  bytes(): Buffer {
    const end = this.delimited()
    if (end === this.pos) return EMPTY
    const value = this.buf.subarray(this.pos, end)
    this.pos = end
    return value
  }

  string(): string {
    const end = this.delimited()
    const value = this.buf.toString('utf8', this.pos, end)
    this.pos = end
    return value
  }

  /** Passes over a field of a number the message does not know. */
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint64()
        return
      case 1:
        this.need(8)
        this.pos += 8
        return
      case 2:
        this.pos = this.delimited()
        return
      case 5:
        this.need(4)
        this.pos += 4
        return
      default:
        throw new ProtobufError(`wire type ${wireType} is not supported`)
    }
  }

  /** Checks a message ended exactly at its end. */
  finish(end: number): void {
    if (this.pos !== end) throw new ProtobufError('a message ends inside a field')
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw new ProtobufError('a field runs past the end of its message')
  }
}

export function varintSize(value: number): number {
  if (value < 0) return 10
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  return 5
}

/** An int64 given as a string, number, bigint or Long, in its two's complement halves. */
export function int64Halves(given: string | number | bigint | {toString(): string} | undefined | null): [number, number] {
  if (given === undefined || given === null || given === '' || given === 0) return [0, 0]
  const value = typeof given === 'object' ? given.toString() : given
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return [value >>> 0, Math.floor(value / TWO_32)]
  if (typeof value === 'string' && value.length < 16 && /^\d+$/.test(value)) {
    const number = Number(value)
    return [number >>> 0, Math.floor(number / TWO_32)]
  }
  let big: bigint
  try {
    big = BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(typeof value === 'number' ? Math.trunc(value) : value))
  } catch {
    throw new ProtobufError(`not an integer: ${String(value)}`)
  }
  return [Number(big & 0xffffffffn), Number(big >> 32n)]
}

export function varint64Size(low: number, high: number): number {
  if (high === 0) return varintSize(low)
  // 28 bits from the low half, then 7 more per byte.
  let size = 5
  let rest = high >>> 3
  while (rest !== 0) {
    size++
    rest >>>= 7
  }
  return size
}

export function utf8Size(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** Bytes given as a Buffer, a Uint8Array or (as protobuf's JSON mapping has it) base64 text. */
export function asBytes(value: Buffer | Uint8Array | string | undefined | null): Uint8Array {
  if (value === undefined || value === null) return EMPTY
  if (typeof value === 'string') return Buffer.from(value, 'base64')
  return value
}

/** Writes a message whose size is known in advance into one buffer. */
export class ProtoWriter {
  pos = 0
  readonly buf: Buffer

  constructor(size: number, offset = 0) {
    this.buf = Buffer.allocUnsafe(offset + size)
    this.pos = offset
  }

  uint32(value: number): void {
    const buf = this.buf
    if (value < 0) {
      this.varint64(value >>> 0, 0xffffffff)
      return
    }
    while (value >= 0x80) {
      buf[this.pos++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    buf[this.pos++] = value
  }

  varint64(low: number, high: number): void {
    const buf = this.buf
    if (high === 0) {
      this.uint32(low)
      return
    }
    for (let i = 0; i < 4; i++) {
      buf[this.pos++] = (low & 0x7f) | 0x80
      low >>>= 7
    }
    let next = (low & 0x0f) | ((high & 0x07) << 4)
    high >>>= 3
    while (high !== 0) {
      buf[this.pos++] = next | 0x80
      next = high & 0x7f
      high >>>= 7
    }
    buf[this.pos++] = next
  }

  double(value: number): void {
    this.buf.writeDoubleLE(value, this.pos)
    this.pos += 8
  }

  float(value: number): void {
    this.buf.writeFloatLE(value, this.pos)
    this.pos += 4
  }

  fixed32(value: number): void {
    this.buf.writeUInt32LE(value >>> 0, this.pos)
    this.pos += 4
  }

  bytes(value: Uint8Array): void {
    this.uint32(value.length)
    this.buf.set(value, this.pos)
    this.pos += value.length
  }

  /** A string whose UTF-8 size the caller has computed already. */
  string(value: string, size: number): void {
    this.uint32(size)
    this.buf.write(value, this.pos, size, 'utf8')
    this.pos += size
  }
}
