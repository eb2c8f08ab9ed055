import {ErrorCode, Http2Error} from './errors.js'
import {huffmanDecode} from './huffman.js'

/** HPACK's static table (RFC 7541, appendix A), from index 1. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
]

/** Bytes an entry counts in a dynamic table: its name, its value and 32 (RFC 7541, 4.1). */
const ENTRY_OVERHEAD = 32

/** Header names and values are bytes; kv holds them as latin1 text, one character per byte. */
export type HeaderList = string[]

/**
 * Decodes header blocks for one direction of a connection, keeping the dynamic table the
 * peer's encoder builds. The list comes out flat: name, value, name, value...
 */
export class HpackDecoder {
  private readonly entries: [string, string][] = []
  private size = 0
  private maxSize: number

  /**
   * @param limit the table size this side announced (SETTINGS_HEADER_TABLE_SIZE)
   * @param maxListSize the decoded size (names, values, 32 per field) beyond which a block is refused
   */
  constructor(
    private readonly limit = 4096,
    private readonly maxListSize = 65536,
  ) {
    this.maxSize = limit
  }

  decode(block: Buffer): HeaderList {
    const out: HeaderList = []
    let listSize = 0
    const cursor = {pos: 0}
    let fieldSeen = false
    while (cursor.pos < block.length) {
      const first = block[cursor.pos]
      let name: string
      let value: string
      if (first & 0x80) {
        ;[name, value] = this.entry(readInteger(block, cursor, 7))
      } else if ((first & 0xe0) === 0x20) {
        // A table size update, allowed only before the first field.
        if (fieldSeen) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a table size update after a header field')
        const size = readInteger(block, cursor, 5)
        if (size > this.limit) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, `a table size update to ${size} beyond the ${this.limit} announced`)
        this.maxSize = size
        this.evict(0)
        continue
      } else {
        // A literal: with incremental indexing (01), without (0000) or never indexed (0001).
        const indexing = (first & 0xc0) === 0x40
        const index = readInteger(block, cursor, indexing ? 6 : 4)
        name = index === 0 ? readString(block, cursor) : this.entry(index)[0]
        value = readString(block, cursor)
        if (indexing) this.add(name, value)
      }
      fieldSeen = true
      listSize += name.length + value.length + ENTRY_OVERHEAD
      if (listSize > this.maxListSize) throw new Http2Error(ErrorCode.ENHANCE_YOUR_CALM, `a header list larger than ${this.maxListSize} bytes`)
      out.push(name, value)
    }
    return out
  }

  private entry(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]
    const entry = this.entries[index - STATIC_TABLE.length - 1]
    if (index === 0 || entry === undefined) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, `no header table entry ${index}`)
    return entry
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD
    this.evict(size)
    // An entry larger than the whole table empties it and is not kept.
    if (size > this.maxSize) return
    this.entries.unshift([name, value])
    this.size += size
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.entries.length > 0 && this.size + room > this.maxSize) {
      const [name, value] = this.entries.pop()!
      this.size -= name.length + value.length + ENTRY_OVERHEAD
    }
  }
}

function readInteger(buf: Buffer, cursor: {pos: number}, prefixBits: number): number {
  if (cursor.pos >= buf.length) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header block ends inside an integer')
  const mask = (1 << prefixBits) - 1
  let value = buf[cursor.pos++] & mask
  if (value < mask) return value
  let shift = 0
  for (;;) {
    if (cursor.pos >= buf.length) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header block ends inside an integer')
    const byte = buf[cursor.pos++]
    value += (byte & 0x7f) * 2 ** shift
    shift += 7
    if (byte < 0x80) return value
    // Nothing in a header block is near 2^28.
    if (shift > 28) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'an integer too large in a header block')
  }
}

function readString(buf: Buffer, cursor: {pos: number}): string {
  if (cursor.pos >= buf.length) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header block ends before a string')
  const huffman = (buf[cursor.pos] & 0x80) !== 0
  const length = readInteger(buf, cursor, 7)
  const end = cursor.pos + length
  if (end > buf.length) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header string runs past its block')
  const text = huffman ? huffmanDecode(buf, cursor.pos, end) : buf.toString('latin1', cursor.pos, end)
  cursor.pos = end
  return text
}

/** Where a name (and a name with its value) sits in the static table. */
const STATIC_NAMES = new Map<string, number>()
const STATIC_PAIRS = new Map<string, number>()
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAMES.has(name)) STATIC_NAMES.set(name, i + 1)
  if (value !== '') STATIC_PAIRS.set(`${name}\0${value}`, i + 1)
})

/**
 * Encodes a header list without a dynamic table: static entries by index, everything else
 * as a literal that is never added to a table. kv's blocks are small and mostly made once
 * and reused, so the table would save little and cost state on both sides.
 */
export function encodeHeaders(headers: HeaderList): Buffer {
  const parts: number[] = []
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]
    const value = headers[i + 1]
    const pair = STATIC_PAIRS.get(`${name}\0${value}`)
    if (pair !== undefined) {
      writeInteger(parts, pair, 7, 0x80)
      continue
    }
    const nameIndex = STATIC_NAMES.get(name)
    if (nameIndex !== undefined) {
      writeInteger(parts, nameIndex, 4, 0x00)
    } else {
      parts.push(0x00)
      writeString(parts, name)
    }
    writeString(parts, value)
  }
  return Buffer.from(parts)
}

function writeInteger(out: number[], value: number, prefixBits: number, flags: number): void {
  const mask = (1 << prefixBits) - 1
  if (value < mask) {
    out.push(flags | value)
    return
  }
  out.push(flags | mask)
  value -= mask
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80)
    value = Math.floor(value / 128)
  }
  out.push(value)
}

function writeString(out: number[], text: string): void {
  writeInteger(out, text.length, 7, 0x00)
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 0xff)
}
