import {runConformance} from '../helpers/conformance.js'
import {openDBM} from '../../src/engine/poly.js'

// The one contract, against every on-memory class, plain and split in three shards.
const classes: [string, boolean][] = [
  ['tiny', false],
  ['baby', true],
  ['cache', false],
]

for (const [cls, ordered] of classes) {
  runConformance({name: cls, ordered, make: () => openDBM('', new Map([['dbm', cls]]))})
  runConformance({
    name: `${cls} in 3 shards`,
    ordered,
    make: () => openDBM('', new Map([['dbm', cls], ['num_shards', '3']])),
  })
}
