import {Http2Error, ErrorCode} from './errors.js'

/**
 * HPACK's Huffman code (RFC 7541, appendix B). The code is canonical: codes of one length
 * are consecutive, in symbol order, and each length starts where the shorter ones ended.
 * So the code lengths of the 257 symbols (256 bytes and end-of-string) define it whole,
 * and the decoding tables are built from them.
 */
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11,
  10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7,
  8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23,
  22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23,
  23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26,
  27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27,
  27, 27, 26, 30,
]

const EOS = 256
const MAX_LENGTH = 30

/** The symbols in code order, and per length the first code and where its symbols start. */
const symbols: number[] = []
const firstCode = new Array<number>(MAX_LENGTH + 2).fill(0)
const countOf = new Array<number>(MAX_LENGTH + 2).fill(0)
const startOf = new Array<number>(MAX_LENGTH + 2).fill(0)
/** Each symbol's code, for encoding. */
const huffmanCodes: number[] = new Array<number>(257)
{
  for (let length = 1; length <= MAX_LENGTH; length++) {
    for (let symbol = 0; symbol <= EOS; symbol++) if (CODE_LENGTHS[symbol] === length) symbols.push(symbol)
  }
  for (const length of CODE_LENGTHS) countOf[length]++
  let code = 0
  let start = 0
  for (let length = 1; length <= MAX_LENGTH; length++) {
    firstCode[length] = code
    startOf[length] = start
    for (let i = 0; i < countOf[length]; i++) huffmanCodes[symbols[start + i]] = code + i
    code = (code + countOf[length]) * 2
    start += countOf[length]
  }
}

/** Decodes a Huffman-coded string into latin1 text (header bytes one for one). */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  let out = ''
  let code = 0
  let length = 0
  for (let pos = start; pos < end; pos++) {
    const byte = buf[pos]
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1)
      length++
      const offset = code - firstCode[length]
      if (offset < countOf[length]) {
        const symbol = symbols[startOf[length] + offset]
        if (symbol === EOS) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header string holds the end-of-string code')
        out += String.fromCharCode(symbol)
        code = 0
        length = 0
      } else if (length >= MAX_LENGTH) {
        throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header string holds an invalid Huffman code')
      }
    }
  }
  // What is left must be padding: fewer than 8 bits, all ones (the start of end-of-string).
  if (length > 7 || code !== 2 ** length - 1) throw new Http2Error(ErrorCode.COMPRESSION_ERROR, 'a header string has invalid Huffman padding')
  return out
}

/** Huffman-codes latin1 text. */
export function huffmanEncode(text: string): Buffer {
  let bits = 0
  for (let i = 0; i < text.length; i++) bits += CODE_LENGTHS[text.charCodeAt(i) & 0xff]
  const out = Buffer.alloc(Math.ceil(bits / 8))
  let pos = 0
  let pending = 0
  let pendingBits = 0
  for (let i = 0; i < text.length; i++) {
    const symbol = text.charCodeAt(i) & 0xff
    let length = CODE_LENGTHS[symbol]
    const code = huffmanCodes[symbol]
    while (length > 0) {
      const take = Math.min(length, 8 - pendingBits)
      length -= take
      pending = (pending << take) | ((code / 2 ** length) & ((1 << take) - 1))
      pendingBits += take
      if (pendingBits === 8) {
        out[pos++] = pending
        pending = 0
        pendingBits = 0
      }
    }
  }
  if (pendingBits > 0) out[pos] = (pending << (8 - pendingBits)) | ((1 << (8 - pendingBits)) - 1)
  return out
}
