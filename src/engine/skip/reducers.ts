import {Code, StatusError} from '../status.js'
import {REMOVING_VALUE} from './format.js'

/**
 * What a skip list's synchronize does with the values of one key: given them in order
 * (the oldest first), it returns the values to keep, none or several.
 */
export type Reducer = (key: Buffer, values: Buffer[]) => Buffer[]

/** Applies removals: every value up to and including the last removal marker goes. */
export const reduceRemove: Reducer = (_key, values) => {
  let start = 0
  for (let i = 0; i < values.length; i++) if (values[i].equals(REMOVING_VALUE)) start = i + 1
  return start === 0 ? values : values.slice(start)
}

const concatWith =
  (separator: string): Reducer =>
  (_key, values) => [Buffer.concat(values.flatMap((value, i) => (i === 0 ? [value] : [Buffer.from(separator, 'latin1'), value])))]

/** A decimal integer at the start of the text: spaces, a sign, spaces, digits; none is 0. */
function leadingInteger(value: Buffer): bigint {
  let pos = 0
  const skipBlanks = (): void => {
    while (pos < value.length && value[pos] <= 0x20) pos++
  }
  skipBlanks()
  const negative = value[pos] === 0x2d
  if (negative || value[pos] === 0x2b) pos++
  skipBlanks()
  let n = 0n
  for (; pos < value.length && value[pos] >= 0x30 && value[pos] <= 0x39; pos++) n = n * 10n + BigInt(value[pos] - 0x30)
  return negative ? -n : n
}

const REDUCERS: {[name: string]: Reducer} = {
  remove: reduceRemove,
  first: (_key, values) => values.slice(0, 1),
  second: (_key, values) => (values.length > 1 ? [values[1]] : values.slice(0, 1)),
  last: (_key, values) => values.slice(-1),
  concat: concatWith(''),
  concatnull: concatWith('\0'),
  concattab: concatWith('\t'),
  concatline: concatWith('\n'),
  total: (_key, values) => [
    Buffer.from(
      BigInt.asIntN(
        64,
        values.reduce((sum, value) => sum + leadingInteger(value), 0n),
      ).toString(),
      'latin1',
    ),
  ],
  totalbigendian: (_key, values) => {
    let sum = 0n
    for (const value of values) {
      let n = 0n
      for (let i = 0; i < Math.min(8, value.length); i++) n = (n << 8n) | BigInt(value[i])
      sum = BigInt.asUintN(64, sum + n)
    }
    const out = Buffer.alloc(8)
    out.writeBigUInt64BE(sum)
    return [out]
  },
}

const LONG_NAMES: {[name: string]: string} = {
  reduceremove: 'remove',
  reducetofirst: 'first',
  reducetosecond: 'second',
  reducetolast: 'last',
  reduceconcat: 'concat',
  reduceconcatwithnull: 'concatnull',
  reduceconcatwithtab: 'concattab',
  reduceconcatwithline: 'concatline',
  reducetototal: 'total',
  reducetototalbigendian: 'totalbigendian',
  totalbe: 'totalbigendian',
}

/** Every name a reducer goes by, short ones first. */
export const REDUCER_NAMES = [...Object.keys(REDUCERS), ...Object.keys(LONG_NAMES)]

/**
 * A reducer by name, as the `reducer` parameter takes it (case-insensitive, short or long
 * form); undefined for "none" or an empty name.
 */
export function findReducer(name: string): Reducer | undefined {
  const word = name.trim().toLowerCase()
  if (word === '' || word === 'none') return undefined
  const found = REDUCERS[LONG_NAMES[word] ?? word]
  if (!found) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unsupported reducer: ${name}`)
  return found
}
