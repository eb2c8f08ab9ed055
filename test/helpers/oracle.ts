import {readFlatPairs} from '../../src/engine/io/flat.js'
import assert from 'node:assert/strict'
import * as path from 'node:path'
import {hasProgram, run} from './cli.js'

// Debian's tkrzw-utils is the oracle: files kv writes must read the same in tkrzw_dbm_util,
// and the other way round. .ci/run installs it; elsewhere these tests skip.
export const oracle = hasProgram('tkrzw_dbm_util')
export const skip = oracle ? false : 'tkrzw_dbm_util is not installed (apt-get install tkrzw-utils)'

/** Records with awkward bytes: empty key and value, NUL, 0xFF, tab, newline, a long value. */
export function sampleRecords(): [Buffer, Buffer][] {
  const records: [Buffer, Buffer][] = [
    [Buffer.alloc(0), Buffer.from('empty key')],
    [Buffer.from('empty value'), Buffer.alloc(0)],
    [Buffer.from([0, 0xff, 0x00, 0x7f]), Buffer.from([0xff, 0xfe, 0])],
    [Buffer.from('tab\tand\nnewline'), Buffer.from('v\t\n')],
    [Buffer.from('long'), Buffer.alloc(20000, 0x61)],
  ]
  for (let i = 0; i < 300; i++) records.push([Buffer.from(`key${i}`), Buffer.from(`value${i}`)])
  return records
}

export function sortedHex(records: Iterable<[Buffer, Buffer]>): string[] {
  return [...records].map(([k, v]) => `${k.toString('hex')}:${v.toString('hex')}`).sort()
}

/** Records of a flat record file as the oracle exported it. */
export function flatRecords(file: string): [Buffer, Buffer][] {
  const records: [Buffer, Buffer][] = []
  readFlatPairs(file, (key, value) => records.push([Buffer.from(key), Buffer.from(value)]))
  return records
}

/** Records in their order, as hex "key:value" pairs. */
export function hexRecords(records: Iterable<[Buffer, Buffer]>): string[] {
  return [...records].map(([k, v]) => `${k.toString('hex')}:${v.toString('hex')}`)
}

/** The records of a database file as the oracle exports them, in its order, as hex pairs; `name` names the export in `dir`. */
export function oracleExport(file: string, dir: string, name: string): string[] {
  const flat = path.join(dir, `${name}.flat`)
  const result = run('tkrzw_dbm_util', ['export', file, flat])
  assert.equal(result.status, 0, result.stderr)
  return hexRecords(flatRecords(flat))
}

/** Checks that the oracle validates every record of a file; returns what it printed. */
export function oracleValidates(file: string): string {
  const inspected = run('tkrzw_dbm_util', ['inspect', '--validate', file])
  assert.equal(inspected.status, 0, inspected.stderr)
  assert.match(inspected.stdout, /Validating records: \.\.\. ok/)
  return inspected.stdout
}
