/**
 * Text forms of bytes for the command line: C-style escapes and TSV-safe output. Fields are
 * "binary strings" (latin1, one character per byte) so that output carries the exact bytes;
 * write them with the latin1 encoding.
 */

const HEX = '0123456789abcdef'

/**
 * Escapes bytes C-style as the reference tools do: NUL becomes \0 (\x00 before an octal
 * digit, so that it reads back), \a \b \t \n \v \f \r and \\ stand for themselves, other
 * control bytes become \xNN; printable ASCII and bytes from 0x80 up (UTF-8 text) stay.
 */
export function escapeC(data: Uint8Array): string {
  let out = ''
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]
    if (byte === 0x5c) out += '\\\\'
    else if (byte === 0x00) out += i + 1 < data.length && data[i + 1] >= 0x30 && data[i + 1] <= 0x37 ? '\\x00' : '\\0'
    else if (byte >= 0x07 && byte <= 0x0d) out += `\\${'abtnvfr'[byte - 0x07]}`
    else if (byte < 0x20 || byte === 0x7f) out += `\\x${HEX[byte >> 4]}${HEX[byte & 15]}`
    else out += String.fromCharCode(byte)
  }
  return out
}

/**
 * Bytes as the reference tools print them in TSV without escaping: every control byte
 * (and space) becomes a space, tabs too unless `keepTab` (a record's last field).
 */
export function trimForTsv(data: Uint8Array, keepTab = false): string {
  let out = ''
  for (const byte of data) out += byte <= 0x20 || byte === 0x7f ? (keepTab && byte === 0x09 ? '\t' : ' ') : String.fromCharCode(byte)
  return out
}

/** Reverses escapeC on a binary string, also taking \a, \b, \f, \v and octal escapes. */
export function unescapeC(text: string): Buffer {
  const source = Buffer.from(text, 'latin1')
  const out: number[] = []
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c !== 0x5c || i + 1 >= source.length) {
      out.push(c)
      continue
    }
    const n = String.fromCharCode(source[++i])
    const simple: {[k: string]: number} = {t: 9, n: 10, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 0x5c, "'": 0x27, '"': 0x22}
    if (n in simple) {
      out.push(simple[n])
    } else if (n === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(String.fromCharCode(...source.subarray(i + 1, i + 3)))
      if (hex) {
        out.push(Number.parseInt(hex[0], 16))
        i += hex[0].length
      } else {
        out.push(0x78)
      }
    } else if (n >= '0' && n <= '7') {
      const oct = /^[0-7]{1,3}/.exec(String.fromCharCode(...source.subarray(i, i + 3)))!
      out.push(Number.parseInt(oct[0], 8) & 0xff)
      i += oct[0].length - 1
    } else {
      out.push(source[i])
    }
  }
  return Buffer.from(out)
}

/** Bytes as one TSV field (a binary string): escaped, or with tabs and line breaks made spaces. */
export function tsvField(data: Buffer, escape: boolean): string {
  return escape ? escapeC(data) : data.toString('latin1').replace(/[\t\r\n]/g, ' ')
}

/** A TSV field (a binary string) read back into bytes. */
export function fromTsvField(text: string, escape: boolean): Buffer {
  return escape ? unescapeC(text) : Buffer.from(text, 'latin1')
}
