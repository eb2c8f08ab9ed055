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
