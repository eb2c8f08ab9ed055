/**
 * What `--json` prints: one naming style (snake_case, as Tkrzw names its attributes),
 * numbers as numbers, booleans as booleans, and bytes as text when they are UTF-8.
 */

/** An attribute value as its JSON type: an integer or decimal number, a boolean, or the text. */
export function typedValue(text: string): string | number | boolean {
  if (text === 'true') return true
  if (text === 'false') return false
  // Only where the number reads back as the same text: no lost digits, no "-0".
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(text) && String(Number(text)) === text) return Number(text)
  return text
}

/** Name-value attributes as one JSON object with typed values. */
export function typedAttributes(pairs: [string, string][]): {[name: string]: string | number | boolean} {
  return Object.fromEntries(pairs.map(([name, value]) => [name, typedValue(value)]))
}

function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)
}

/** A record (or a key alone) for JSON: UTF-8 text, or hexadecimal with `"encoding": "hex"` when a byte sequence is not text. */
export function jsonRecord(key: Buffer, value?: Buffer): {key: string; value?: string; encoding?: 'hex'} {
  const text = isUtf8(key) && (value === undefined || isUtf8(value))
  if (text) return value === undefined ? {key: key.toString('utf8')} : {key: key.toString('utf8'), value: value.toString('utf8')}
  return value === undefined ? {key: key.toString('hex'), encoding: 'hex'} : {key: key.toString('hex'), value: value.toString('hex'), encoding: 'hex'}
}
