/**
 * The data formats of Kyoto Tycoon's TSV-RPC: maps of byte strings carried as query strings,
 * form bodies or tab-separated lines, whose columns may be encoded (the `colenc` attribute:
 * B for Base64, Q for quoted-printable, U for URL encoding). Names and values are bytes;
 * a map keeps names as latin1 strings, which is lossless.
 */
export type ByteMap = Map<string, Buffer>

export type ColumnEncoding = 'B' | 'Q' | 'U'

const EMPTY = Buffer.alloc(0)

export const TSV_TYPE = 'text/tab-separated-values'
export const FORM_TYPE = 'application/x-www-form-urlencoded'

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  return -1
}

/** %XX escapes and `+` for a space; a `%` not followed by two hex digits stays as it is. */
export function urlDecode(text: Buffer): Buffer {
  if (!text.includes(0x25) && !text.includes(0x2b)) return text
  const out = Buffer.allocUnsafe(text.length)
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]
    if (byte === 0x2b) {
      out[length++] = 0x20
    } else if (byte === 0x25 && i + 2 < text.length && hexValue(text[i + 1]) >= 0 && hexValue(text[i + 2]) >= 0) {
      out[length++] = hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])
      i += 2
    } else {
      out[length++] = byte
    }
  }
  return out.subarray(0, length)
}

const URL_SAFE = new Uint8Array(256)
for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.!~*'()") URL_SAFE[char.charCodeAt(0)] = 1

export function urlEncode(bytes: Buffer): string {
  let text = ''
  for (const byte of bytes) text += URL_SAFE[byte] ? String.fromCharCode(byte) : `%${byte < 16 ? '0' : ''}${byte.toString(16)}`
  return text
}

/** Quoted-printable: `=XX` escapes; `=` at a line end is a soft break and disappears. */
export function quotedPrintableDecode(text: Buffer): Buffer {
  const out = Buffer.allocUnsafe(text.length)
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]
    if (byte !== 0x3d) {
      out[length++] = byte
      continue
    }
    if (text[i + 1] === 0x0d && text[i + 2] === 0x0a) i += 2
    else if (text[i + 1] === 0x0a) i += 1
    else if (i + 2 < text.length && hexValue(text[i + 1]) >= 0 && hexValue(text[i + 2]) >= 0) {
      out[length++] = hexValue(text[i + 1]) * 16 + hexValue(text[i + 2])
      i += 2
    } else out[length++] = byte
  }
  return out.subarray(0, length)
}

/** Decodes a column. Base64 is read tolerantly: whitespace and line breaks inside it are skipped. */
export function decodeColumn(column: Buffer, encoding: ColumnEncoding | undefined): Buffer {
  switch (encoding) {
    case 'B':
      return Buffer.from(column.toString('latin1'), 'base64')
    case 'Q':
      return quotedPrintableDecode(column)
    case 'U':
      return urlDecode(column)
    default:
      return column
  }
}

/**
 * Adds a query string or form body (`name=value` pairs split at `&` or `;`, URL-encoded) to
 * the map; a name given again replaces the value, a pair without `=` has an empty value.
 */
export function parseForm(text: Buffer, into: ByteMap): void {
  let start = 0
  while (start <= text.length) {
    let end = start
    while (end < text.length && text[end] !== 0x26 && text[end] !== 0x3b) end++
    let from = start
    while (from < end && text[from] > 0 && text[from] <= 0x20) from++
    if (end > from) {
      const pair = text.subarray(from, end)
      const equals = pair.indexOf(0x3d)
      const name = equals < 0 ? pair : pair.subarray(0, equals)
      const value = equals < 0 ? Buffer.alloc(0) : pair.subarray(equals + 1)
      into.set(urlDecode(name).toString('latin1'), Buffer.from(urlDecode(value)))
    }
    start = end + 1
  }
}

/**
 * Adds tab-separated lines to the map: a name, a tab, a value (which may hold more tabs),
 * each column decoded; a name given again replaces the value. Lines without a tab are
 * ignored, except in Base64 (colenc=B), where such a line continues the previous value:
 * some clients wrap their Base64 at 76 characters.
 */
export function parseTsv(body: Buffer, encoding: ColumnEncoding | undefined, into: ByteMap): void {
  // The line being read: its name and its value's pieces (more than one only for wrapped Base64).
  let name: Buffer | undefined
  let pieces: Buffer[] = []
  const flush = (): void => {
    if (name === undefined) return
    const column = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces)
    const value = decodeColumn(column, encoding)
    into.set(decodeColumn(name, encoding).toString('latin1'), value.length === 0 ? EMPTY : Buffer.from(value))
  }
  let start = 0
  while (start < body.length) {
    let end = body.indexOf(0x0a, start)
    if (end < 0) end = body.length
    let lineEnd = end
    if (lineEnd > start && body[lineEnd - 1] === 0x0d) lineEnd--
    let tab = start
    while (tab < lineEnd && body[tab] !== 0x09) tab++
    if (tab < lineEnd) {
      flush()
      name = body.subarray(start, tab)
      pieces = [body.subarray(tab + 1, lineEnd)]
    } else if (encoding === 'B' && name !== undefined && lineEnd > start) {
      pieces.push(body.subarray(start, lineEnd))
    }
    start = end + 1
  }
  flush()
}

/** The `colenc` attribute of a content type (`text/tab-separated-values; colenc=B`), if any. */
export function columnEncodingOf(contentType: string): ColumnEncoding | undefined {
  if (!contentType.includes(';')) return undefined
  const match = /;\s*colenc\s*=\s*"?([bqu])/i.exec(contentType)
  return match ? (match[1].toUpperCase() as ColumnEncoding) : undefined
}

function urlSafeLength(bytes: Buffer, scanned: number): number {
  let length = 0
  for (let i = 0; i < scanned; i++) length += URL_SAFE[bytes[i]] ? 1 : 3
  return length
}

/**
 * The encoding an answer's columns need, as the reference chooses it: none while every name
 * and value is short (255 bytes at most) and free of control bytes; otherwise whichever of
 * Base64 and URL encoding comes out shorter over the first 255 bytes of each column.
 */
export function chooseEncoding(records: [Buffer, Buffer][]): ColumnEncoding | undefined {
  if (!records.some(([name, value]) => needsEncoding(name) || needsEncoding(value))) return undefined
  // The lengths are weighed only when some column needs an encoding: most answers need none.
  let base64Length = 0
  let urlLength = 0
  for (const record of records) {
    for (const column of record) {
      const scanned = Math.min(column.length, 255)
      base64Length += Math.floor((scanned * 6) / 4) + 3
      urlLength += urlSafeLength(column, scanned)
    }
  }
  return base64Length < urlLength ? 'B' : 'U'
}

/** Whether a column cannot go as it is: longer than 255 bytes, or with a control byte. */
function needsEncoding(column: Buffer): boolean {
  if (column.length > 255) return true
  for (let i = 0; i < column.length; i++) if (column[i] < 0x20 || column[i] === 0x7f) return true
  return false
}

/** Whether the records are sorted by name already (a bulk answer usually is, when its keys were asked in order). */
function inNameOrder(records: [Buffer, Buffer][]): boolean {
  for (let i = 1; i < records.length; i++) if (compareNames(records[i - 1][0], records[i][0]) > 0) return false
  return true
}

/** Byte order of two names; short ones compared here, cheaper than a native call. */
function compareNames(a: Buffer, b: Buffer): number {
  const size = Math.min(a.length, b.length)
  if (size > 64) return Buffer.compare(a, b)
  for (let i = 0; i < size; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

function encodeColumn(column: Buffer, encoding: ColumnEncoding | undefined): string | Buffer {
  if (encoding === 'B') return column.toString('base64')
  if (encoding === 'U') return urlEncode(column)
  return column
}

/**
 * An answer as a TSV body and its content type: the records sorted by name (the reference
 * answers from a sorted map), each column encoded as chooseEncoding says.
 */
export function encodeTsv(records: [Buffer, Buffer][]): {body: Buffer; contentType: string} {
  const sorted = inNameOrder(records) ? records : [...records].sort((a, b) => compareNames(a[0], b[0]))
  const encoding = chooseEncoding(sorted)
  // Every column encoded first, to size one body for them all.
  const columns: (string | Buffer)[] = []
  let size = 0
  for (const [name, value] of sorted) {
    const encodedName = encodeColumn(name, encoding)
    const encodedValue = encodeColumn(value, encoding)
    columns.push(encodedName, encodedValue)
    size += encodedName.length + encodedValue.length + 2
  }
  const body = Buffer.allocUnsafe(size)
  let at = 0
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]
    at += typeof column === 'string' ? body.write(column, at, 'latin1') : column.copy(body, at)
    body[at++] = i % 2 === 0 ? 0x09 : 0x0a
  }
  return {body, contentType: encoding ? `${TSV_TYPE}; colenc=${encoding}` : TSV_TYPE}
}
