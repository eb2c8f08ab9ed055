import {readFlatPairs} from '../../src/engine/io/flat.js'
import {hasProgram} from './cli.js'

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
