import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {ParamReader, parseParams} from '../../src/engine/params.js'
import {restoreDatabase} from '../../src/engine/poly.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {makeRandom} from '../../src/perf/local.js'
import {tempDir} from '../helpers/cli.js'
import {flip, tolerate, type Damage} from '../helpers/damage.js'

// Damaged files: whatever the damage, opening, reading and restoring end in a StatusError
// or a working database. Never another exception, never a hang.
const {dir, cleanup} = tempDir()
after(cleanup)

const BASES = [
  ['in place, crc-8', 'num_buckets=64,record_crc_mode=crc-8'],
  ['appending, zlib', 'num_buckets=64,update_mode=appending,record_comp_mode=zlib'],
  ['in place, unaligned, width 3', 'num_buckets=64,align_pow=0,offset_width=3'],
] as const

function makeBase(file: string, params: string): void {
  const dbm = new HashDBM(new ParamReader(parseParams(params)))
  dbm.open(file, true, {truncate: true})
  for (let i = 0; i < 300; i++) dbm.set(`key${i}`, `value${i}-${'z'.repeat(i % 40)}`)
  for (let i = 0; i < 300; i += 4) dbm.set(`key${i}`, `rewritten ${i}`.repeat(3))
  for (let i = 1; i < 300; i += 6) dbm.remove(`key${i}`)
  dbm.close()
}

/** Uses a database every way a reader would: counts, scans, looks up, validates, writes. */
function exercise(file: string): void {
  const dbm = new HashDBM()
  dbm.open(file, true)
  try {
    dbm.count()
    tolerate('iterating', () => {
      for (const _ of dbm.records()) void _
    })
    tolerate('getting', () => {
      for (let i = 0; i < 300; i += 7) dbm.get(`key${i}`)
    })
    tolerate('validating', () => void dbm.validateStructure())
    tolerate('writing', () => {
      dbm.set('new key', 'new value')
      dbm.remove('new key')
    })
  } finally {
    tolerate('closing', () => dbm.close())
  }
}

const DAMAGES: [string, Damage][] = [
  ['truncated', (data, random) => data.subarray(0, Math.floor(random() * data.length))],
  ['flipped header bytes', flip(0, 128)],
  ['flipped bucket bytes', flip(128, 4096 - 1024)],
  ['flipped record bytes', flip(4096, Number.MAX_SAFE_INTEGER)],
  [
    'flipped bytes anywhere, left unhealthy',
    (data, random) => {
      const out = flip(0, Number.MAX_SAFE_INTEGER)(data, random)
      out[15] = 0
      return out
    },
  ],
  [
    'zeroed region',
    (data, random) => {
      const out = Buffer.from(data)
      const start = 4096 + Math.floor(random() * (out.length - 4096))
      out.fill(0, start, Math.min(out.length, start + Math.floor(random() * 200)))
      out[15] = 0
      return out
    },
  ],
]

describe('HashDBM with damaged files', () => {
  BASES.forEach(([name, params], b) => {
    it(`${name}: ${DAMAGES.length * 25} random corruptions open, read and restore without escaping`, () => {
      const base = path.join(dir, `base-${b}.tkh`)
      makeBase(base, params)
      const original = fs.readFileSync(base)
      const random = makeRandom(1234 + b)
      for (const [damageName, damage] of DAMAGES) {
        for (let round = 0; round < 25; round++) {
          const file = path.join(dir, `damaged-${b}.tkh`)
          const restored = path.join(dir, `restored-${b}.tkh`)
          fs.writeFileSync(file, damage(original, random))
          fs.rmSync(restored, {force: true})
          tolerate(`${damageName}: opening`, () => exercise(file))
          fs.writeFileSync(file, damage(original, random))
          tolerate(`${damageName}: restoring`, () => {
            restoreDatabase(file, restored)
            const dbm = new HashDBM()
            dbm.open(restored, false)
            assert.deepEqual(dbm.validateStructure(), [], `${damageName}: the restored file is valid`)
            dbm.close()
          })
        }
      }
    })
  })

  it('names the problem when the file is not a hash database at all', () => {
    const file = path.join(dir, 'not-a-database.tkh')
    fs.writeFileSync(file, 'hello, this is plain text and not a database file\n'.repeat(10))
    const dbm = new HashDBM()
    assert.throws(
      () => dbm.open(file, true),
      (error: unknown) => error instanceof StatusError && error.code === Code.BROKEN_DATA_ERROR && /bad magic/.test(error.message),
    )
    // The failed open left the file as it was.
    assert.match(fs.readFileSync(file, 'utf8'), /^hello, this is plain text/)
    assert.equal(fs.existsSync(`${file}.lock`), false)
  })
})
