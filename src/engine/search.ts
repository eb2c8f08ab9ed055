import {NOOP, toBuffer, type Bytes, type DBM} from './dbm.js'
import {Code, StatusError} from './status.js'

/** Every search mode, as the wire and the command line name them. */
export const SEARCH_MODES = [
  'contain',
  'contain*',
  'containcase',
  'containcase*',
  'containword',
  'containword*',
  'containcaseword',
  'containcaseword*',
  'begin',
  'end',
  'regex',
  'edit',
  'editbin',
  'upper',
  'upperinc',
  'lower',
  'lowerinc',
] as const

export type SearchMode = (typeof SEARCH_MODES)[number]

/**
 * Finds keys by a pattern. `capacity` caps the number of keys; 0 means no cap in every mode
 * (the reference returns nothing for the ordered modes with 0; we read it as "no cap").
 */
export function searchDBM(dbm: DBM, mode: string, pattern: Bytes, capacity = 0): Buffer[] {
  const pat = toBuffer(pattern)
  const limit = capacity > 0 ? capacity : Number.POSITIVE_INFINITY
  switch (mode.toLowerCase()) {
    case 'upper':
    case 'upperinc':
      return walkOrdered(dbm, pat, mode.toLowerCase() === 'upperinc', true, limit)
    case 'lower':
    case 'lowerinc':
      return walkOrdered(dbm, pat, mode.toLowerCase() === 'lowerinc', false, limit)
    case 'begin':
      return dbm.isOrdered() && isBytewise(dbm)
        ? walkPrefix(dbm, pat, limit)
        : scan(dbm, (key) => key.length >= pat.length && key.subarray(0, pat.length).equals(pat), limit)
    case 'edit':
      return nearest(dbm, [...pat.toString('utf8')], (key) => [...key.toString('utf8')], limit)
    case 'editbin':
      return nearest(dbm, [...pat], (key) => [...key], limit)
    default:
      return scan(dbm, makeMatcher(mode, pat), limit)
  }
}

/** Whether the class orders keys as bytes, so a prefix is a contiguous range. */
function isBytewise(dbm: DBM): boolean {
  const probe = (a: string, b: string): number => dbm.compareKeys(Buffer.from(a), Buffer.from(b))
  return probe('a', 'B') > 0 && probe('10', '9') < 0
}

function makeMatcher(mode: string, pat: Buffer): (key: Buffer) => boolean {
  const lower = mode.toLowerCase()
  if (lower === 'end') return (key) => key.length >= pat.length && key.subarray(key.length - pat.length).equals(pat)
  if (lower === 'regex') return regexMatcher(pat.toString('utf8'))
  const match = /^contain(case)?(word)?(\*)?$/.exec(lower)
  if (!match) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unknown mode: ${mode}`)
  const [, caseless, word, multi] = match
  const fold = caseless ? asciiLower : (text: string) => text
  const patterns = (multi ? pat.toString('latin1').split('\n') : [pat.toString('latin1')]).map(fold)
  return (key) => {
    const text = fold(key.toString('latin1'))
    return patterns.some((p) => (word ? containsWord(text, p) : text.includes(p)))
  }
}

function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase())
}

function isWordChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code >= 0x80
}

/** Whether the pattern occurs with no word character just before or after it. */
function containsWord(text: string, pattern: string): boolean {
  for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) {
    const before = at === 0 || !isWordChar(text.charCodeAt(at - 1))
    const end = at + pattern.length
    const after = end === text.length || !isWordChar(text.charCodeAt(end))
    if (before && after) return true
  }
  return false
}

/** A regular expression; a leading `(?i)` (of the letters a, b, e, i, l) makes it caseless. */
function regexMatcher(source: string): (key: Buffer) => boolean {
  let flags = ''
  const prefix = /^\(\?([abeil]+)\)/.exec(source)
  if (prefix) {
    if (prefix[1].includes('i')) flags = 'i'
    source = source.slice(prefix[0].length)
  }
  let re: RegExp
  try {
    re = new RegExp(source, flags)
  } catch (error) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `invalid regex: ${(error as Error).message}`)
  }
  return (key) => re.test(key.toString('utf8'))
}

function scan(dbm: DBM, test: (key: Buffer) => boolean, limit: number): Buffer[] {
  const found: Buffer[] = []
  const iter = dbm.makeIterator()
  iter.first()
  for (let key = iter.getKey(); key !== undefined && found.length < limit; key = iter.getKey()) {
    if (test(key)) found.push(key)
    iter.next()
  }
  return found
}

function walkPrefix(dbm: DBM, pat: Buffer, limit: number): Buffer[] {
  const found: Buffer[] = []
  const iter = dbm.makeIterator()
  iter.jump(pat)
  for (let key = iter.getKey(); key !== undefined && found.length < limit; key = iter.getKey()) {
    if (key.length < pat.length || !key.subarray(0, pat.length).equals(pat)) break
    found.push(key)
    iter.next()
  }
  return found
}

function walkOrdered(dbm: DBM, pat: Buffer, inclusive: boolean, upward: boolean, limit: number): Buffer[] {
  const iter = dbm.makeIterator()
  if (upward) iter.jumpUpper(pat, inclusive)
  else iter.jumpLower(pat, inclusive)
  const found: Buffer[] = []
  for (let key = iter.getKey(); key !== undefined && found.length < limit; key = iter.getKey()) {
    found.push(key)
    if (upward) iter.next()
    else iter.previous()
  }
  return found
}

/** The keys nearest to the pattern by edit distance, nearest first, ties in key order. */
function nearest<T>(dbm: DBM, pattern: T[], split: (key: Buffer) => T[], limit: number): Buffer[] {
  const scored: [number, Buffer][] = []
  dbm.processEach(
    {
      processFull: (key) => {
        scored.push([editDistance(pattern, split(key)), key])
        return NOOP
      },
      processEmpty: () => NOOP,
    },
    false,
  )
  scored.sort((a, b) => a[0] - b[0] || dbm.compareKeys(a[1], b[1]))
  return scored.slice(0, Math.min(limit, scored.length)).map(([, key]) => key)
}

/** Levenshtein distance with one row of memory. */
export function editDistance<T>(a: T[], b: T[]): number {
  let row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    row = next
  }
  return row[b.length]
}
