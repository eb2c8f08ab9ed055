import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {ParamReader, parseParams} from '../../src/engine/params.js'
import {runRebuildUnderLoad} from '../../src/perf/rebuild.js'
import {tempDir} from '../helpers/cli.js'

// A rebuild in slices while another task keeps reading and writing: every read sees the
// latest write, and afterwards the database holds exactly what the other task left. The
// longest event loop pause is reported, not asserted: timing belongs to the benchmark
// (`kv dbm perf rebuild`).
const {dir, cleanup} = tempDir()
after(cleanup)

describe('HashDBM rebuild in slices', () => {
  for (const [mode, records] of [
    ['in_place', 1_000_000],
    ['appending', 200_000],
  ] as const) {
    it(`${mode}: rebuilds ${records} records while another task reads and writes, losing nothing`, async (t) => {
      const dbm = new HashDBM(new ParamReader(parseParams(`num_buckets=${records / 10},update_mode=${mode}`)))
      dbm.open(path.join(dir, `rebuild-${mode}.tkh`), true, {truncate: true})
      try {
        const result = await runRebuildUnderLoad(dbm, {records, seed: 42})
        t.diagnostic(
          `${mode}: rebuild took ${result.elapsed.toFixed(0)} ms with ${result.operations} concurrent operations; longest event loop pause ${result.longestPause.toFixed(1)} ms`,
        )
        assert.deepEqual(result.failures, [])
        assert.deepEqual(result.mismatches, [])
        assert.ok(result.operations > 0)
        assert.equal(dbm.shouldBeRebuilt(), false)
        assert.ok(Number(new Map(dbm.inspect()).get('num_buckets')) > records)
        assert.deepEqual(dbm.validateStructure(), [])
      } finally {
        dbm.close()
      }
    })
  }
})

describe('HashDBM rebuild across codecs and modes', () => {
  // The stored bytes go over unchanged when the codec stays, and are re-encoded when it changes.
  for (const [from, to] of [
    ['record_comp_mode=zstd', 'record_comp_mode=zstd,record_crc_mode=crc_32'],
    ['record_comp_mode=zstd', 'record_comp_mode=lz4'],
    ['record_comp_mode=none,update_mode=appending', 'record_comp_mode=zlib,update_mode=in_place'],
    ['record_comp_mode=lz4,record_crc_mode=crc_16', 'record_comp_mode=none'],
  ]) {
    it(`${from} -> ${to}: every value reads back`, async () => {
      const dbm = new HashDBM(new ParamReader(parseParams(`num_buckets=100,${from}`)))
      dbm.open(path.join(dir, 'codecs.tkh'), true, {truncate: true})
      try {
        const expected = new Map<string, string>()
        for (let i = 0; i < 3000; i++) {
          const key = `key${i}`
          const value = `${'value'.repeat(i % 40)}${i}`
          dbm.set(Buffer.from(key), Buffer.from(value))
          expected.set(key, value)
        }
        for (let i = 0; i < 3000; i += 3) {
          dbm.remove(Buffer.from(`key${i}`))
          expected.delete(`key${i}`)
        }
        for (const sliced of [false, true]) {
          const params = Object.fromEntries(parseParams(to))
          if (sliced) await dbm.rebuildInSlices(params)
          else dbm.rebuild(params)
          assert.equal(dbm.count(), expected.size)
          for (const [key, value] of expected) assert.equal(dbm.get(Buffer.from(key))?.toString(), value, key)
          assert.deepEqual(dbm.validateStructure(), [])
        }
      } finally {
        dbm.close()
      }
    })
  }
})
