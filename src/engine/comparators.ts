import {readVarint} from './io/varint.js'
import {Code, StatusError} from './status.js'

/** Compares two keys held as latin1 strings (one character per byte). */
export type KeyComparator = (a: string, b: string) => number

export const lexical: KeyComparator = (a, b) => (a < b ? -1 : a > b ? 1 : 0)

/** Bytes in order with ASCII letters folded to lower case: keys that differ only in case are the same key. */
const lexicalCase: KeyComparator = (a, b) => {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x >= 0x41 && x <= 0x5a) x += 0x20
    if (y >= 0x41 && y <= 0x5a) y += 0x20
    if (x !== y) return x < y ? -1 : 1
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0
}

/** Numeric order of what each key reads as. */
function numeric(parse: (key: string) => number | bigint): KeyComparator {
  // Keys of equal numbers are the same key ("1" and " 1"), as the reference has it; NaN comes first.
  return (a, b) => {
    const x = parse(a)
    const y = parse(b)
    if (x < y) return -1
    if (x > y) return 1
    const xNaN = typeof x === 'number' && Number.isNaN(x)
    const yNaN = typeof y === 'number' && Number.isNaN(y)
    return xNaN ? (yNaN ? 0 : -1) : yNaN ? 1 : 0
  }
}

function parseDecimal(key: string): bigint {
  const match = /^\s*([-+]?\d+)/.exec(key)
  return match ? BigInt(match[1]) : 0n
}

function parseHex(key: string): bigint {
  const match = /^\s*(?:0x)?([0-9a-fA-F]+)/.exec(key)
  return match ? BigInt(`0x${match[1]}`) : 0n
}

function parseReal(key: string): number {
  const value = Number.parseFloat(key)
  return Number.isNaN(value) ? 0 : value
}

function parseSignedBigEndian(key: string): bigint {
  let n = 0n
  const bytes = Math.min(key.length, 8)
  for (let i = 0; i < bytes; i++) n = (n << 8n) | BigInt(key.charCodeAt(i))
  return bytes === 0 ? 0n : BigInt.asIntN(bytes * 8, n)
}

function parseFloatBigEndian(key: string): number {
  const buffer = Buffer.from(key, 'latin1')
  if (buffer.length >= 8) return buffer.readDoubleBE(0)
  if (buffer.length >= 4) return buffer.readFloatBE(0)
  return 0
}

/**
 * Pair keys are serialized pairs: a byte-delta size and the first part, then a byte-delta
 * size and the second part. The first parts are compared with the base order, then the
 * second parts by bytes (their sizes left out).
 */
function pair(base: KeyComparator): KeyComparator {
  const split = (key: string): [string, string] => {
    const first = readVarint(Buffer.from(key.slice(0, 10), 'latin1'), 0)
    if (!first) return [key, '']
    const [firstSize, firstStart] = first
    const firstEnd = Math.min(key.length, firstStart + firstSize)
    const second = readVarint(Buffer.from(key.slice(firstEnd, firstEnd + 10), 'latin1'), 0)
    if (!second) return [key.slice(firstStart, firstEnd), '']
    const secondStart = firstEnd + second[1]
    return [key.slice(firstStart, firstEnd), key.slice(secondStart, secondStart + second[0])]
  }
  return (a, b) => {
    const [a1, a2] = split(a)
    const [b1, b2] = split(b)
    return base(a1, b1) || lexical(a2, b2)
  }
}

const BASE_COMPARATORS: {[name: string]: [string, KeyComparator]} = {
  lexical: ['LexicalKeyComparator', lexical],
  lexicalcase: ['LexicalCaseKeyComparator', lexicalCase],
  decimal: ['DecimalKeyComparator', numeric(parseDecimal)],
  hexadecimal: ['HexadecimalKeyComparator', numeric(parseHex)],
  realnumber: ['RealNumberKeyComparator', numeric(parseReal)],
  signedbigendian: ['SignedBigEndianKeyComparator', numeric(parseSignedBigEndian)],
  floatbigendian: ['FloatBigEndianKeyComparator', numeric(parseFloatBigEndian)],
}

const SHORT_NAMES: {[name: string]: string} = {
  lex: 'lexical',
  lexcase: 'lexicalcase',
  dec: 'decimal',
  hex: 'hexadecimal',
  real: 'realnumber',
  signed: 'signedbigendian',
  float: 'floatbigendian',
}

export interface NamedComparator {
  /** The class name Tkrzw reports, such as LexicalKeyComparator. */
  name: string
  compare: KeyComparator
}

/**
 * Finds a comparator by short name (lex, dec...), name (lexical, decimal...) or class name
 * (LexicalKeyComparator...), case-insensitive; the pair variants take a `pair` prefix.
 */
export function findComparator(text: string): NamedComparator {
  let name = text
    .trim()
    .toLowerCase()
    .replace(/keycomparator$/, '')
  let isPair = false
  if (name.startsWith('pair')) {
    isPair = true
    name = name.slice(4)
  }
  name = SHORT_NAMES[name] ?? name
  const found = BASE_COMPARATORS[name]
  if (!found) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unknown key comparator: ${text}`)
  const [className, compare] = found
  return isPair ? {name: `Pair${className}`, compare: pair(compare)} : {name: className, compare}
}

export const LEXICAL: NamedComparator = {name: 'LexicalKeyComparator', compare: lexical}
