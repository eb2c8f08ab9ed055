import {Flags} from '@oclif/core'
import {parseMetricInt} from '../engine/params.js'
import {UsageError} from './base-command.js'

/** `--sx`: keys and values on the command line are hexadecimal, since a shell cannot pass every byte. */
export const sxFlag = {
  sx: Flags.boolean({description: 'keys and values given as arguments are hexadecimal ("6b 31" is "k1"; spaces are ignored)'}),
}

/** An argument as the bytes it stands for: as UTF-8 text, or with `hex` as hexadecimal digits. */
export function argBytes(text: string, hex: boolean | undefined, what = 'argument'): Buffer {
  if (!hex) return Buffer.from(text, 'utf8')
  const digits = text.replace(/\s+/g, '')
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) throw new UsageError(`the ${what} is not hexadecimal: "${text}"`)
  return Buffer.from(digits, 'hex')
}

/** A signed 64-bit integer argument. */
export function parseInteger(text: string, what: string): bigint {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new UsageError(`${what} is not an integer: "${text}"`)
  const value = BigInt(text.trim())
  if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new UsageError(`${what} is out of the 64-bit range: "${text}"`)
  return value
}

/** Words taken two by two as key and value; an odd count is a usage error. */
export function pairsOf(words: string[], hex: boolean | undefined): [Buffer, Buffer][] {
  if (words.length % 2 !== 0) throw new UsageError('--multi takes key value pairs')
  const pairs: [Buffer, Buffer][] = []
  for (let i = 0; i < words.length; i += 2) pairs.push([argBytes(words[i], hex, 'key'), argBytes(words[i + 1], hex, 'value')])
  return pairs
}

/**
 * A flag holding an integer with an optional unit suffix (k, ki, m, mi, g, ...), as the
 * configuration strings take them. Kept as the text it was given, once checked: a bad value
 * is a usage error naming the flag.
 */
export function metricIntFlag(options: {description: string; min?: number}) {
  return Flags.custom<string>({
    description: options.description,
    parse: async (input) => {
      let value: number
      try {
        value = parseMetricInt(input)
      } catch {
        throw new UsageError(`not an integer: "${input}" (an integer, with k, m, g, ki, mi, gi ... suffixes)`)
      }
      if (options.min !== undefined && value < options.min) throw new UsageError(`must be at least ${options.min}: "${input}"`)
      return input
    },
  })()
}

/** A flag holding a number of seconds, fractions allowed; negative ones when `negative` says what they mean. */
export function secondsFlag(options: {description: string; default: number}) {
  return Flags.custom<number>({
    description: options.description,
    default: options.default,
    parse: async (input) => {
      const value = Number(input)
      if (input.trim() === '' || !Number.isFinite(value)) throw new UsageError(`not a number of seconds: "${input}"`)
      return value
    },
  })()
}
