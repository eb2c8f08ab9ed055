import {Flags} from '@oclif/core'
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
