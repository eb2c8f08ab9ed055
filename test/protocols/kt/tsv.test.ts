import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  INT64_MAX,
  INT64_MIN,
  addReal,
  decodeInteger,
  decodeRealParts,
  encodeInteger,
  encodeReal,
  formatReal,
  realOf,
} from '../../../src/protocols/kt/numbers.js'
import {
  FORM_TYPE,
  TSV_TYPE,
  chooseEncoding,
  columnEncodingOf,
  decodeColumn,
  encodeTsv,
  parseForm,
  parseTsv,
  quotedPrintableDecode,
  urlDecode,
  urlEncode,
  type ByteMap,
} from '../../../src/protocols/kt/tsv.js'

const b = (text: string): Buffer => Buffer.from(text, 'latin1')
const every = Buffer.from(Array.from({length: 256}, (_, i) => i))

/** A map as plain [name, value] strings, for comparing. */
function plain(map: ByteMap): [string, string][] {
  return [...map].map(([name, value]) => [name, value.toString('latin1')])
}

describe('URL encoding', () => {
  it('decodes %XX escapes in either case and + as a space', () => {
    assert.equal(urlDecode(b('a%41%6a+b%2B%2f')).toString('latin1'), 'aAj b+/')
    assert.deepEqual(urlDecode(b('%00%FF%fe')), Buffer.of(0x00, 0xff, 0xfe))
  })

  it('leaves a % that is not followed by two hex digits as it is', () => {
    assert.equal(urlDecode(b('100%')).toString('latin1'), '100%')
    assert.equal(urlDecode(b('%4')).toString('latin1'), '%4')
    assert.equal(urlDecode(b('%zz%4g%%41')).toString('latin1'), '%zz%4g%A')
  })

  it('returns plain text unchanged', () => {
    const text = b('plain-text_1.2')
    assert.equal(urlDecode(text), text)
  })

  it('encodes everything but the unreserved characters, in lower-case hex as the reference does', () => {
    assert.equal(urlEncode(b("Az09_-.!~*'()")), "Az09_-.!~*'()")
    assert.equal(urlEncode(b('a b/c=d&e')), 'a%20b%2fc%3dd%26e')
    assert.equal(urlEncode(Buffer.of(0, 0x0a, 0xff)), '%00%0a%ff')
  })

  it('round-trips every byte', () => {
    assert.deepEqual(urlDecode(b(urlEncode(every))), every)
  })
})

describe('quoted-printable', () => {
  it('decodes =XX escapes and drops soft line breaks', () => {
    assert.equal(quotedPrintableDecode(b('a=3Db=3d')).toString('latin1'), 'a=b=')
    assert.equal(quotedPrintableDecode(b('long=\r\nline=\nend')).toString('latin1'), 'longlineend')
    assert.deepEqual(quotedPrintableDecode(b('=00=FF')), Buffer.of(0, 0xff))
  })

  it('keeps an = that starts no escape', () => {
    assert.equal(quotedPrintableDecode(b('x=ZZ')).toString('latin1'), 'x=ZZ')
    assert.equal(quotedPrintableDecode(b('x=4')).toString('latin1'), 'x=4')
    assert.equal(quotedPrintableDecode(b('x=')).toString('latin1'), 'x=')
  })
})

describe('decodeColumn', () => {
  it('decodes Base64 (B)', () => {
    assert.equal(decodeColumn(b('aGVsbG8gd29ybGQ='), 'B').toString(), 'hello world')
    assert.deepEqual(decodeColumn(b(every.toString('base64')), 'B'), every)
  })

  it('decodes Base64 tolerantly: line breaks and spaces inside are skipped (kt4j wraps its Base64)', () => {
    assert.equal(decodeColumn(b('aGVs\nbG8g\r\nd29y bGQ='), 'B').toString(), 'hello world')
    const wrapped = every
      .toString('base64')
      .replace(/.{76}/g, '$&\r\n')
      .replace(/.{10}$/, ' $&')
    assert.deepEqual(decodeColumn(b(wrapped), 'B'), every)
  })

  it('decodes quoted-printable (Q) and URL encoding (U)', () => {
    assert.equal(decodeColumn(b('caf=C3=A9'), 'Q').toString('utf8'), 'café')
    assert.equal(decodeColumn(b('caf%C3%A9+ok'), 'U').toString('utf8'), 'café ok')
  })

  it('passes a column through without an encoding', () => {
    assert.equal(decodeColumn(b('a%41=41'), undefined).toString('latin1'), 'a%41=41')
  })
})

describe('parseForm', () => {
  it('splits at & and ; and URL-decodes names and values', () => {
    const map: ByteMap = new Map()
    parseForm(b('a=1&b=x%20y;c=%41+B&%6Bey=v'), map)
    assert.deepEqual(plain(map), [
      ['a', '1'],
      ['b', 'x y'],
      ['c', 'A B'],
      ['key', 'v'],
    ])
  })

  it('lets a later value win, and gives a pair without = an empty value', () => {
    const map: ByteMap = new Map()
    parseForm(b('k=1&flag&k=2&empty='), map)
    assert.deepEqual(plain(map), [
      ['k', '2'],
      ['flag', ''],
      ['empty', ''],
    ])
  })

  it('skips empty pairs and leading blanks, and adds to what the map holds', () => {
    const map: ByteMap = new Map([['old', b('o')]])
    parseForm(b('&& a=1;;\tb=2&'), map)
    assert.deepEqual(plain(map), [
      ['old', 'o'],
      ['a', '1'],
      ['b', '2'],
    ])
  })

  it('keeps the value after the first =', () => {
    const map: ByteMap = new Map()
    parseForm(b('expr=a=b'), map)
    assert.deepEqual(plain(map), [['expr', 'a=b']])
  })
})

describe('parseTsv', () => {
  it('reads LF and CRLF lines, ignores lines without a tab, and keeps tabs inside a value', () => {
    const map: ByteMap = new Map()
    parseTsv(b('a\t1\r\nb\t2\nno tab here\n\nc\tx\ty\t\n\td\nlast\tline'), undefined, map)
    assert.deepEqual(plain(map), [
      ['a', '1'],
      ['b', '2'],
      ['c', 'x\ty\t'],
      ['', 'd'],
      ['last', 'line'],
    ])
  })

  it('lets a later line win', () => {
    const map: ByteMap = new Map()
    parseTsv(b('k\t1\nk\t2\n'), undefined, map)
    assert.deepEqual(plain(map), [['k', '2']])
  })

  it('decodes every column with colenc B, Q or U', () => {
    const base64: ByteMap = new Map()
    parseTsv(b(`${b('key').toString('base64')}\t${Buffer.of(0, 9, 10, 13).toString('base64')}\r\n`), 'B', base64)
    assert.deepEqual([...base64], [['key', Buffer.of(0, 9, 10, 13)]])
    const quoted: ByteMap = new Map()
    parseTsv(b('k=65y\tv=09=0A\n'), 'Q', quoted)
    assert.deepEqual(plain(quoted), [['key', 'v\t\n']])
    const url: ByteMap = new Map()
    parseTsv(b('k%65y\tv%09%0A+\n'), 'U', url)
    assert.deepEqual(plain(url), [['key', 'v\t\n ']])
  })

  it('reads colenc from a content type', () => {
    assert.equal(columnEncodingOf(`${TSV_TYPE}; colenc=B`), 'B')
    assert.equal(columnEncodingOf(`${TSV_TYPE};colenc="q"`), 'Q')
    assert.equal(columnEncodingOf(`${TSV_TYPE}; charset=utf-8; colenc = u`), 'U')
    assert.equal(columnEncodingOf(TSV_TYPE), undefined)
    assert.equal(columnEncodingOf(FORM_TYPE), undefined)
  })
})

describe('chooseEncoding and encodeTsv', () => {
  it('uses no encoding for short plain text, even with spaces and non-ASCII bytes', () => {
    assert.equal(chooseEncoding([[b('value'), b('hello world')]]), undefined)
    assert.equal(chooseEncoding([[b('k'), Buffer.from('日本', 'utf8')]]), undefined)
    assert.equal(chooseEncoding([]), undefined)
  })

  it('encodes when a control byte appears: U when that is shorter', () => {
    // Base64 counts 5*6/4+3 + 3*6/4+3 = 17; URL encoding 5 + 9 = 14.
    assert.equal(chooseEncoding([[b('value'), Buffer.of(0, 1, 2)]]), 'U')
    assert.equal(chooseEncoding([[b('a\tb'), b('x')]]), 'U')
    assert.equal(chooseEncoding([[b('v'), b('line\x7f')]]), 'U')
  })

  it('encodes when a control byte appears: B when that is shorter', () => {
    // The 8 bytes of an increment's counter: Base64 10 + 15 = 25, URL 5 + 24 = 29.
    assert.equal(chooseEncoding([[b('value'), Buffer.of(0, 0, 0, 0, 0, 0, 0, 5)]]), 'B')
    assert.equal(chooseEncoding([[b('value'), every]]), 'B')
  })

  it('encodes a column over 255 bytes even when it is plain', () => {
    assert.equal(chooseEncoding([[b('value'), Buffer.alloc(255, 0x61)]]), undefined)
    assert.equal(chooseEncoding([[b('value'), Buffer.alloc(256, 0x61)]]), 'U')
    assert.equal(chooseEncoding([[Buffer.alloc(300, 0x61), b('v')]]), 'U')
    assert.equal(chooseEncoding([[b('value'), Buffer.alloc(300, 0xe3)]]), 'B')
  })

  it('sorts the records by name and keeps the plain content type', () => {
    const {body, contentType} = encodeTsv([
      [b('num'), b('2')],
      [b('_b'), b('2')],
      [b('_a'), b('1')],
    ])
    assert.equal(contentType, TSV_TYPE)
    assert.equal(body.toString('latin1'), '_a\t1\n_b\t2\nnum\t2\n')
  })

  it('encodes every column, names too, and says so in the content type', () => {
    const url = encodeTsv([
      [b('value'), Buffer.of(0, 0xff)],
      [b('k y'), b('x')],
    ])
    assert.equal(url.contentType, `${TSV_TYPE}; colenc=U`)
    assert.equal(url.body.toString('latin1'), 'k%20y\tx\nvalue\t%00%ff\n')
    const base64 = encodeTsv([[b('value'), Buffer.of(0, 0, 0, 0, 0, 0, 0, 5)]])
    assert.equal(base64.contentType, `${TSV_TYPE}; colenc=B`)
    // What Kyoto Tycoon answers for the same record.
    assert.equal(base64.body.toString('latin1'), 'dmFsdWU=\tAAAAAAAAAAU=\n')
  })

  it('never wraps its Base64', () => {
    const {body, contentType} = encodeTsv([[b('value'), Buffer.alloc(4000, 0xfe)]])
    assert.equal(contentType, `${TSV_TYPE}; colenc=B`)
    assert.equal(body.toString('latin1').split('\n').length, 2)
  })

  it('round-trips through parseTsv', () => {
    const records: [Buffer, Buffer][] = [
      [b('a'), every],
      [b('b\tc'), b('x\r\ny')],
    ]
    const {body, contentType} = encodeTsv(records)
    const map: ByteMap = new Map()
    parseTsv(body, columnEncodingOf(contentType), map)
    assert.deepEqual(
      [...map],
      [
        ['a', every],
        ['b\tc', b('x\r\ny')],
      ],
    )
  })

  it('gives an empty body for no records', () => {
    const {body, contentType} = encodeTsv([])
    assert.equal(body.length, 0)
    assert.equal(contentType, TSV_TYPE)
  })
})

describe('stored numbers', () => {
  it('stores an integer as 8 big-endian bytes, two’s complement', () => {
    assert.deepEqual(encodeInteger(5n), Buffer.of(0, 0, 0, 0, 0, 0, 0, 5))
    assert.deepEqual(encodeInteger(-1n), Buffer.alloc(8, 0xff))
    assert.deepEqual(encodeInteger(INT64_MIN), Buffer.of(0x80, 0, 0, 0, 0, 0, 0, 0))
    // Out of range wraps, as 64-bit arithmetic does.
    assert.deepEqual(encodeInteger(INT64_MAX + 1n), encodeInteger(INT64_MIN))
  })

  it('decodes 8 bytes and nothing else', () => {
    for (const value of [0n, 1n, -1n, 1234567890123n, INT64_MIN, INT64_MAX]) assert.equal(decodeInteger(encodeInteger(value)), value)
    assert.equal(decodeInteger(Buffer.alloc(7)), undefined)
    assert.equal(decodeInteger(Buffer.alloc(9)), undefined)
    assert.equal(decodeInteger(b('12345678')), 0x3132333435363738n)
  })

  it('stores a real number as its integral part and its fraction in units of 10^-15, as Kyoto Tycoon does', () => {
    // The bytes Kyoto Tycoon stores for increment_double num=1.5.
    assert.deepEqual(encodeReal(1.5), Buffer.from('AAAAAAAAAAEAAca/UmNAAA==', 'base64'))
    assert.deepEqual(decodeRealParts(encodeReal(-2.25)), {integral: -2n, fraction: -250_000_000_000_000n})
    assert.equal(decodeRealParts(Buffer.alloc(15)), undefined)
  })

  it('round-trips real numbers', () => {
    for (const value of [0, 1.5, -2.25, 3.125, 1e6 + 0.5, -0.75]) assert.equal(realOf(decodeRealParts(encodeReal(value))!), value)
    assert.ok(Number.isNaN(realOf(decodeRealParts(encodeReal(Number.NaN))!)))
    assert.equal(realOf(decodeRealParts(encodeReal(Number.POSITIVE_INFINITY))!), Number.POSITIVE_INFINITY)
    assert.equal(realOf(decodeRealParts(encodeReal(Number.NEGATIVE_INFINITY))!), Number.NEGATIVE_INFINITY)
  })

  it('adds in fixed point: 1.5 + 1.25 = 2.75', () => {
    const sum = addReal(decodeRealParts(encodeReal(1.5))!, 1.25)
    assert.equal(sum.value, 2.75)
    assert.deepEqual(decodeRealParts(sum.bytes), {integral: 2n, fraction: 750_000_000_000_000n})
    assert.equal(formatReal(sum.value), '2.750000')
  })

  it('carries a fraction past 1 into the integral part: 0.9 + 0.2 = 1.1', () => {
    const sum = addReal(decodeRealParts(encodeReal(0.9))!, 0.2)
    assert.deepEqual(decodeRealParts(sum.bytes), {integral: 1n, fraction: 100_000_000_000_000n})
    assert.ok(Math.abs(sum.value - 1.1) < 1e-12, String(sum.value))
    const again = addReal(decodeRealParts(sum.bytes)!, 0.9)
    assert.deepEqual(decodeRealParts(again.bytes), {integral: 2n, fraction: 0n})
    assert.equal(again.value, 2)
  })

  it('adds integral and fractional parts separately for larger numbers', () => {
    const sum = addReal(decodeRealParts(encodeReal(10.5))!, 20.75)
    assert.deepEqual(decodeRealParts(sum.bytes), {integral: 31n, fraction: 250_000_000_000_000n})
    assert.equal(sum.value, 31.25)
  })

  it('formats as C’s %f does', () => {
    assert.equal(formatReal(1.5), '1.500000')
    assert.equal(formatReal(-0.25), '-0.250000')
    assert.equal(formatReal(Number.NaN), 'nan')
    assert.equal(formatReal(Number.POSITIVE_INFINITY), 'inf')
    assert.equal(formatReal(Number.NEGATIVE_INFINITY), '-inf')
  })
})
