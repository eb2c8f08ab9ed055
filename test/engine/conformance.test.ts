import * as path from 'node:path'
import {after} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {runConformance} from '../helpers/conformance.js'
import {tempDir} from '../helpers/cli.js'
import {openDBM} from '../../src/engine/poly.js'

const {dir, cleanup} = tempDir()
after(cleanup)
let serial = 0

/** A database of the class with a file, filled, closed and opened again read-only. */
function readOnly(params: Map<string, string>, fill: (dbm: DBM) => void): DBM {
  const file = path.join(dir, `db-${serial++}`)
  const dbm = openDBM(file, params, {writable: true})
  fill(dbm)
  dbm.close()
  return openDBM(file, params, {writable: false})
}

// The one contract, against every on-memory class, plain and split in three shards.
const classes: [string, boolean][] = [
  ['tiny', false],
  ['baby', true],
  ['cache', false],
]

for (const [cls, ordered] of classes) {
  runConformance({
    name: cls,
    ordered,
    make: () => openDBM('', new Map([['dbm', cls]])),
    readOnly: (fill) => readOnly(new Map([['dbm', cls]]), fill),
  })
  runConformance({
    name: `${cls} in 3 shards`,
    ordered,
    make: () =>
      openDBM(
        '',
        new Map([
          ['dbm', cls],
          ['num_shards', '3'],
        ]),
      ),
    readOnly: (fill) =>
      readOnly(
        new Map([
          ['dbm', cls],
          ['num_shards', '3'],
        ]),
        fill,
      ),
  })
}
