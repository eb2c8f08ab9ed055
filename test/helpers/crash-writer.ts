// A child process for the crash tests: writes to a hash database in a loop, synchronizing
// every INTERVAL operations and printing the operation count after each synchronize, until
// it is killed. The operations are a pure function of their index, so the parent can
// recompute what the database held at any synchronize.
import * as fs from 'node:fs'
import {openDBM} from '../../src/engine/poly.js'
import {parseParams} from '../../src/engine/params.js'
import {crashWorkload} from './crash-workload.js'

// An optional fourth argument holds the synchronize's parameters (a skip list's reducer).
const [path, params, intervalText, syncText] = process.argv.slice(2)
const syncParams = Object.fromEntries(parseParams(syncText ?? ''))
const interval = Number(intervalText)
const dbm = openDBM(path, parseParams(params), {writable: true})
for (let i = 1; ; i++) {
  for (const op of crashWorkload(i)) {
    if (op.value === undefined) {
      try {
        dbm.remove(op.key)
      } catch {
        // already gone
      }
    } else {
      dbm.set(op.key, op.value)
    }
  }
  if (i % interval === 0) {
    dbm.synchronize(false, syncParams)
    fs.writeSync(1, `${i}\n`)
  }
}
