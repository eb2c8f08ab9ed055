import type {DBM} from '../engine/dbm.js'
import {Code, StatusError} from '../engine/status.js'

/** One measured phase of a local benchmark. */
export interface PhaseResult {
  name: string
  iterations: number
  elapsed: number
  qps: number
  numRecords: number
  /** Resident memory after the phase, in bytes. */
  mem: number
}

export interface SequenceOptions {
  iterations: number
  valueSize: number
  randomKey: boolean
  randomValue: boolean
  seed: number
  phases: ('set' | 'get' | 'iterate' | 'remove')[]
  onPhase?: (result: PhaseResult) => void
  /** The key numbers to use instead of 0 to iterations - 1: one thread's share of a threaded run. */
  keyNumbers?: Int32Array
}

/** xorshift32: cheap, seeded, good enough to pick keys and lengths. */
export function makeRandom(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 0x100000000
  }
}

/** Writes n as 8 decimal digits (the keys of the reference benchmark) into a buffer. */
function writeKey(buffer: Buffer, n: number): void {
  for (let i = 7; i >= 0; i--) {
    buffer[i] = 0x30 + (n % 10)
    n = Math.floor(n / 10)
  }
}

/**
 * Sets, gets, iterates and removes keys 00000000, 00000001... (or random ones), like the
 * reference `sequence` benchmark, timing each phase.
 */
export function runSequence(dbm: DBM, options: SequenceOptions): PhaseResult[] {
  const results: PhaseResult[] = []
  const key = Buffer.alloc(8)
  const value = Buffer.alloc(options.valueSize, 0x78)
  const numbers = options.keyNumbers
  const count = numbers ? numbers.length : options.iterations
  const run = (name: string, body: (next: () => number) => number): void => {
    const random = makeRandom(options.seed)
    const pick = options.randomKey
      ? numbers
        ? () => numbers[Math.floor(random() * count)]
        : () => Math.floor(random() * count)
      : (() => {
          let i = 0
          return numbers ? () => numbers[i++] : () => i++
        })()
    const start = performance.now()
    const iterations = body(pick)
    const elapsed = (performance.now() - start) / 1000
    const result = {name, iterations, elapsed, qps: iterations / elapsed, numRecords: dbm.count(), mem: process.memoryUsage().rss}
    results.push(result)
    options.onPhase?.(result)
  }
  const valueRandom = makeRandom(options.seed + 1)
  for (const phase of options.phases) {
    if (phase === 'set') {
      run('set', (next) => {
        for (let i = 0; i < count; i++) {
          writeKey(key, next())
          dbm.set(key, options.randomValue ? value.subarray(0, Math.floor(valueRandom() * (options.valueSize + 1))) : value)
        }
        dbm.synchronize(false)
        return count
      })
    } else if (phase === 'get') {
      run('get', (next) => {
        for (let i = 0; i < count; i++) {
          writeKey(key, next())
          if (dbm.get(key) === undefined && !options.randomKey) throw new StatusError(Code.NOT_FOUND_ERROR, `missing key ${key}`)
        }
        return count
      })
    } else if (phase === 'iterate') {
      run('iterate', () => {
        let n = 0
        const iter = dbm.makeIterator()
        iter.first()
        while (iter.step()) n++
        return n
      })
    } else {
      run('remove', (next) => {
        for (let i = 0; i < count; i++) {
          writeKey(key, next())
          try {
            dbm.remove(key)
          } catch (error) {
            if (!(error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR && options.randomKey)) throw error
          }
        }
        dbm.synchronize(false)
        return count
      })
    }
  }
  return results
}

export interface WickedOptions {
  iterations: number
  valueSize: number
  seed: number
  /** Whether iterator walks, clear and rebuild are among the operations. */
  iterator: boolean
  clear: boolean
  rebuild: boolean
  /** At the end, check the file's structure and every record against the model. */
  validate: boolean
}

/**
 * Random mixed operations, every result checked against a Map model, with iterator walks
 * and the occasional clear and rebuild. Returns the list of inconsistencies (empty: none).
 */
export function runWicked(dbm: DBM, options: WickedOptions): {operations: number; errors: string[]; elapsed: number} {
  const random = makeRandom(options.seed)
  const model = new Map<string, string>()
  const errors: string[] = []
  const keySpace = Math.max(16, Math.floor(options.iterations / 4))
  const start = performance.now()
  const report = (what: string): void => {
    if (errors.length < 20) errors.push(what)
  }
  for (let i = 0; i < options.iterations && errors.length < 20; i++) {
    const key = String(Math.floor(random() * keySpace)).padStart(8, '0')
    const r = random()
    if (r < 0.3) {
      const value = 'v'.repeat(Math.floor(random() * options.valueSize) + 1) + i
      dbm.set(key, value)
      model.set(key, value)
    } else if (r < 0.55) {
      const got = dbm.get(key)?.toString('latin1')
      if (got !== model.get(key)) report(`get ${key}: expected ${model.get(key)}, got ${got}`)
    } else if (r < 0.7) {
      try {
        dbm.remove(key)
        if (!model.delete(key)) report(`remove ${key}: succeeded on a missing record`)
      } catch (error) {
        if (!(error instanceof StatusError && error.code === Code.NOT_FOUND_ERROR)) throw error
        if (model.has(key)) report(`remove ${key}: NOT_FOUND on an existing record`)
      }
    } else if (r < 0.8) {
      dbm.append(key, 'a', ':')
      model.set(key, model.has(key) ? `${model.get(key)}:a` : 'a')
    } else if (r < 0.9 && options.iterator) {
      const iter = dbm.makeIterator()
      iter.first()
      for (let step = 0; step < 10; step++) {
        const record = iter.step()
        if (!record) break
        const expected = model.get(record[0].toString('latin1'))
        if (expected !== record[1].toString('latin1')) report(`iterator at ${record[0]}: expected ${expected}, got ${record[1]}`)
      }
    } else if (r < 0.9995 || (!options.clear && !options.rebuild)) {
      const count = dbm.count()
      if (count !== model.size) report(`count: expected ${model.size}, got ${count}`)
    } else if (options.clear && r < 0.99975) {
      dbm.clear()
      model.clear()
    } else if (options.rebuild) {
      dbm.rebuild()
    }
  }
  for (const [key, value] of model) {
    if (dbm.get(key)?.toString('latin1') !== value) report(`final check of ${key} failed`)
  }
  if (dbm.count() !== model.size) report(`final count: expected ${model.size}, got ${dbm.count()}`)
  if (options.validate) {
    for (const problem of dbm.validateStructure()) report(`structure: ${problem}`)
    let seen = 0
    for (const [key, value] of dbm.records()) {
      seen++
      if (model.get(key.toString('latin1')) !== value.toString('latin1')) report(`validation of ${key.toString('latin1')} failed`)
    }
    if (seen !== model.size) report(`validation: ${seen} records iterated, ${model.size} expected`)
  }
  return {operations: options.iterations, errors, elapsed: (performance.now() - start) / 1000}
}
