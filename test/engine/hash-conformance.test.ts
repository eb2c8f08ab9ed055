import * as path from 'node:path'
import {after} from 'node:test'
import {runConformance} from '../helpers/conformance.js'
import {tempDir} from '../helpers/cli.js'
import {openDBM} from '../../src/engine/poly.js'
import {parseParams} from '../../src/engine/params.js'

// The one contract against the file hash database, in each update mode and with the
// options that change how records are written: few buckets (long chains), CRCs,
// compression, no alignment, and shards.
const {dir, cleanup} = tempDir()
after(cleanup)
let serial = 0

const variants: [string, string][] = [
  ['hash in place', 'num_buckets=1000'],
  ['hash appending', 'num_buckets=1000,update_mode=appending'],
  ['hash in place, 7 buckets', 'num_buckets=7'],
  ['hash appending, crc-32, lz4', 'num_buckets=300,update_mode=appending,record_crc_mode=crc32,record_comp_mode=lz4'],
  ['hash in place, crc-8, zlib, unaligned', 'num_buckets=300,record_crc_mode=crc8,record_comp_mode=zlib,align_pow=0,offset_width=5'],
  ['hash in place, crc-16, zstd', 'num_buckets=300,record_crc_mode=crc16,record_comp_mode=zstd,align_pow=5'],
  ['hash in 3 shards', 'num_buckets=500,num_shards=3'],
]

for (const [name, params] of variants) {
  runConformance({
    name,
    ordered: false,
    randomOps: 20000,
    make: () => openDBM(path.join(dir, `db-${serial++}.tkh`), parseParams(params), {writable: true, truncate: true}),
    readOnly: (fill) => {
      const file = path.join(dir, `db-${serial++}.tkh`)
      const dbm = openDBM(file, parseParams(params), {writable: true, truncate: true})
      fill(dbm)
      dbm.close()
      return openDBM(file, parseParams(params), {writable: false})
    },
  })
}
