import {Code, StatusError} from './status.js'

/** Parameters of a database, as name to value, in the order given. */
export type Params = Map<string, string>

/**
 * Parses `path#name=value,name=value`. Returns the path and the parameters; a malformed
 * pair or an empty name is an INVALID_ARGUMENT_ERROR.
 */
export function parseConfig(config: string): {path: string; params: Params} {
  const hash = config.indexOf('#')
  if (hash < 0) return {path: config, params: new Map()}
  return {path: config.slice(0, hash), params: parseParams(config.slice(hash + 1))}
}

/** Parses `name=value,name=value`; empty items are skipped. */
export function parseParams(text: string): Params {
  const params: Params = new Map()
  for (const item of text.split(',')) {
    if (item.trim() === '') continue
    const eq = item.indexOf('=')
    if (eq <= 0) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `malformed parameter: "${item}" (expected name=value)`)
    params.set(item.slice(0, eq).trim(), item.slice(eq + 1))
  }
  return params
}

const METRIC_SUFFIXES: [RegExp, number][] = [
  [/^(k)$/i, 1e3],
  [/^(ki)$/i, 2 ** 10],
  [/^(m)$/i, 1e6],
  [/^(mi)$/i, 2 ** 20],
  [/^(g)$/i, 1e9],
  [/^(gi)$/i, 2 ** 30],
  [/^(t)$/i, 1e12],
  [/^(ti)$/i, 2 ** 40],
  [/^(p)$/i, 1e15],
  [/^(pi)$/i, 2 ** 50],
  [/^(e)$/i, 1e18],
  [/^(ei)$/i, 2 ** 60],
]

/** Parses an integer with an optional unit suffix (k, ki, m, mi, g, gi, ...). */
export function parseMetricInt(text: string, name = 'value'): number {
  const match = /^\s*([-+]?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (!match) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name}: not a number: "${text}"`)
  let factor = 1
  if (match[2] !== '') {
    const suffix = METRIC_SUFFIXES.find(([re]) => re.test(match[2]))
    if (!suffix) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name}: unknown unit suffix: "${match[2]}"`)
    factor = suffix[1]
  }
  return Math.trunc(Number(match[1]) * factor)
}

const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', '1'])
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', '0'])

/** Parses a boolean word; anything else is an INVALID_ARGUMENT_ERROR naming the parameter. */
export function parseBool(text: string, name = 'value'): boolean {
  const word = text.trim().toLowerCase()
  if (TRUE_WORDS.has(word)) return true
  if (FALSE_WORDS.has(word)) return false
  throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name}: not a boolean: "${text}"`)
}

/**
 * Reads parameters off a set, so that whatever no one consumed can be reported: every
 * class takes its own names and the rest is an error.
 */
export class ParamReader {
  private readonly left: Params
  /** Every name a class asked for, given or not: what the class takes. */
  readonly asked = new Set<string>()

  constructor(params: Params) {
    this.left = new Map(params)
  }

  /** A reader over parameters given as a plain object, as rebuild takes them. */
  static fromObject(params: {[name: string]: string}): ParamReader {
    return new ParamReader(new Map(Object.entries(params)))
  }

  has(name: string): boolean {
    this.asked.add(name)
    return this.left.has(name)
  }

  string(name: string): string | undefined {
    this.asked.add(name)
    const value = this.left.get(name)
    this.left.delete(name)
    return value
  }

  /** An integer; -1 and absence both mean "default". */
  int(name: string, fallback: number, min = 0): number {
    const text = this.string(name)
    if (text === undefined) return fallback
    const value = parseMetricInt(text, name)
    if (value === -1) return fallback
    if (value < min) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name}: must be at least ${min}: "${text}"`)
    return value
  }

  bool(name: string, fallback: boolean): boolean {
    const text = this.string(name)
    return text === undefined ? fallback : parseBool(text, name)
  }

  /** One of several names (case-insensitive), each with aliases. */
  choice<T extends string>(name: string, fallback: T, choices: {[value in T]: string[]}): T {
    const text = this.string(name)
    if (text === undefined) return fallback
    const word = text.trim().toLowerCase()
    for (const [value, aliases] of Object.entries(choices) as [T, string[]][]) {
      if (aliases.some((alias) => alias.toLowerCase() === word)) return value
    }
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name}: unknown value: "${text}"`)
  }

  /** Takes names that are accepted for compatibility and have no effect here. */
  ignore(...names: string[]): void {
    for (const name of names) this.left.delete(name)
  }

  /** Fails with the first parameter nobody took. */
  finish(): void {
    for (const name of this.left.keys()) {
      throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unsupported parameter: ${name}`)
    }
  }
}
