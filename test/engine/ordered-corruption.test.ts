import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {parseParams} from '../../src/engine/params.js'
import {openDBM, restoreDatabase} from '../../src/engine/poly.js'
import {makeRandom} from '../../src/perf/local.js'
import {tempDir} from '../helpers/cli.js'
import {flip, tolerate, type Damage} from '../helpers/damage.js'

// Damaged tree and skip list files: whatever the damage (to the hash file under a tree,
// the metadata, the pages, the records or the links), opening, reading, writing and
// restoring end in a StatusError or a working database. Never another exception, never a
// hang.
const {dir, cleanup} = tempDir()
after(cleanup)

const BASES = [
  ['tree, small pages', 'tkt', 'max_page_size=200,max_branches=4,num_buckets=64,align_pow=4'],
  ['tree, small pages, crc-8, zlib', 'tkt', 'max_page_size=300,max_branches=5,num_buckets=64,align_pow=3,record_crc_mode=crc-8,record_comp_mode=zlib'],
  ['skip list', 'tks', ''],
  ['skip list, step 2, width 3', 'tks', 'step_unit=2,max_level=9,offset_width=3'],
] as const

function makeBase(file: string, params: string): void {
  const dbm = openDBM(file, parseParams(params), {writable: true, truncate: true})
  for (let i = 0; i < 600; i++) dbm.set(`key${(i * 37) % 600}`, `value${i}-${'z'.repeat(i % 30)}`)
  dbm.synchronize()
  for (let i = 1; i < 600; i += 3) dbm.remove(`key${i}`)
  dbm.close()
}

function exercise(file: string): void {
  const dbm = openDBM(file, new Map(), {writable: true})
  try {
    tolerate('counting', () => void dbm.count())
    tolerate('iterating', () => {
      for (const _ of dbm.records()) void _
    })
    tolerate('iterating backwards', () => {
      const iter = dbm.makeIterator()
      iter.last()
      for (let n = 0; n < 1000 && iter.get(); n++) iter.previous()
    })
    tolerate('getting', () => {
      for (let i = 0; i < 600; i += 7) dbm.get(`key${i}`)
    })
    tolerate('validating', () => void dbm.validateStructure())
    tolerate('writing', () => {
      for (let i = 0; i < 200; i++) dbm.set(`new key ${i}`, 'new value')
      dbm.synchronize()
      for (let i = 0; i < 200; i++) dbm.remove(`new key ${i}`)
    })
    tolerate('rebuilding', () => dbm.rebuild())
  } finally {
    tolerate('closing', () => dbm.close())
  }
}

/** Leaves the file marked "not closed", so that opening it for writing restores it. */
const unclean =
  (damage: Damage): Damage =>
  (data, random) => {
    const out = damage(data, random)
    if (out.length > 15) out[15] = 0
    return out
  }

const DAMAGES: [string, Damage][] = [
  ['truncated', (data, random) => data.subarray(0, Math.floor(random() * data.length))],
  ['flipped bytes in the hash metadata', flip(0, 60)],
  ['flipped bytes in the tree metadata', flip(60, 128)],
  ['flipped bytes in the pages', flip(2048, Number.MAX_SAFE_INTEGER)],
  ['flipped bytes in the pages, left unclean', unclean(flip(2048, Number.MAX_SAFE_INTEGER))],
  ['flipped bytes anywhere', flip(0, Number.MAX_SAFE_INTEGER)],
]
const ROUNDS = 45

describe('ordered files with damaged bytes', () => {
  BASES.forEach(([name, ext, params], b) => {
    it(`${name}: ${DAMAGES.length * ROUNDS} random corruptions open, read, write and restore without escaping`, () => {
      const base = path.join(dir, `base-${b}.${ext}`)
      makeBase(base, params)
      const original = fs.readFileSync(base)
      const random = makeRandom(4321 + b)
      for (const [damageName, damage] of DAMAGES) {
        for (let round = 0; round < ROUNDS; round++) {
          const file = path.join(dir, `damaged-${b}.${ext}`)
          const restored = path.join(dir, `restored-${b}.${ext}`)
          fs.writeFileSync(file, damage(original, random))
          tolerate(`${damageName}: opening`, () => exercise(file))
          fs.writeFileSync(file, damage(original, random))
          fs.rmSync(restored, {force: true})
          tolerate(`${damageName}: restoring`, () => {
            restoreDatabase(file, restored)
            const dbm = openDBM(restored, new Map(), {writable: false})
            assert.deepEqual(dbm.validateStructure(), [], `${damageName}: the restored file is valid`)
            dbm.close()
          })
        }
      }
    })
  })
})
