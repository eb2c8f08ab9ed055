import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {openDBM} from '../../src/engine/poly.js'
import {parseParams} from '../../src/engine/params.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {run} from '../helpers/cli.js'
import {oracle} from '../helpers/oracle.js'
import {mountSmallDisk, SMALL_DISK_SKIP} from '../helpers/small-disk.js'

const disk = mountSmallDisk('8m')
after(() => disk?.cleanup())

const VALUE = 'v'.repeat(200)

function isFull(error: unknown): boolean {
  return error instanceof StatusError && error.code === Code.SYSTEM_ERROR && /no space left/.test(error.message)
}

/** Sets records until the disk refuses one; returns how many were acknowledged. */
function fillUp(dbm: HashDBM, prefix: string): number {
  for (let i = 0; ; i++) {
    try {
      dbm.set(`${prefix}${i}`, VALUE)
    } catch (error) {
      assert.ok(isFull(error), `expected a full disk, got ${String(error)}`)
      return i
    }
    assert.ok(i < 1_000_000, 'the disk never filled')
  }
}

function beside(file: string): string[] {
  return fs.readdirSync(path.dirname(file)).filter((name) => name.startsWith(`${path.basename(file)}.`))
}

describe('a full disk fails writes cleanly and loses nothing', {skip: disk ? false : SMALL_DISK_SKIP}, () => {
  it('hash: failed sets change nothing; synchronize, rebuild, backup and close behave; every acknowledged record stays', () => {
    const file = path.join(disk!.dir, 'full.tkh')
    const dbm = new HashDBM()
    dbm.open(file, true)
    const synced = 5000
    for (let i = 0; i < synced; i++) dbm.set(`synced${i}`, VALUE)
    dbm.synchronize()
    const acked = fillUp(dbm, 'more')
    assert.ok(acked > 0)
    // The refused record is not there, and the database goes on working.
    assert.equal(dbm.get(`more${acked}`), undefined)
    assert.equal(dbm.count(), synced + acked)
    assert.equal(dbm.get('synced0')?.toString(), VALUE)
    dbm.synchronize()
    dbm.synchronize(true)
    // An in-place overwrite needs no new space.
    dbm.set('synced1', 'short')
    // A rebuild needs a second copy: refused, with nothing left behind.
    assert.throws(() => dbm.rebuild(), isFull)
    assert.deepEqual(beside(file), [])
    // So does a backup.
    assert.throws(
      () => dbm.copyFileData(`${file}.backup`),
      (error: unknown) => error instanceof StatusError && error.code === Code.SYSTEM_ERROR,
    )
    assert.deepEqual(beside(file), [])
    assert.deepEqual(dbm.validateStructure(), [])
    dbm.close()

    const again = new HashDBM()
    again.open(file, true)
    try {
      assert.equal(again.isHealthy(), true)
      assert.deepEqual(again.validateStructure(), [])
      assert.equal(again.count(), synced + acked)
      assert.equal(again.get('synced1')?.toString(), 'short')
      for (let i = 0; i < synced; i += 101) assert.equal(again.get(`synced${i}`)?.toString(), i === 1 ? 'short' : VALUE)
      for (let i = 0; i < acked; i += 7) assert.equal(again.get(`more${i}`)?.toString(), VALUE)
    } finally {
      again.close()
    }
    if (oracle) {
      const checked = run('tkrzw_dbm_util', ['inspect', '--validate', file])
      assert.equal(checked.status, 0, checked.stdout + checked.stderr)
    }
    fs.rmSync(file)
  })

  it('hash: a new file too large for the disk is refused and not left behind', () => {
    const file = path.join(disk!.dir, 'huge.tkh')
    assert.throws(() => openDBM(file, parseParams('num_buckets=10000000'), {writable: true}), isFull)
    assert.equal(fs.existsSync(file), false)
  })

  it('on-memory: a synchronize that does not fit keeps the last file whole and leaves no temporary file', () => {
    const file = path.join(disk!.dir, 'full.tkmt')
    const dbm = openDBM(file, new Map(), {writable: true})
    dbm.set('kept', 'value')
    dbm.synchronize()
    const before = fs.readFileSync(file)
    for (let i = 0; i < 60000; i++) dbm.set(`big${i}`, VALUE)
    assert.throws(() => dbm.synchronize(), isFull)
    assert.deepEqual(fs.readFileSync(file), before)
    assert.deepEqual(beside(file), [])
    assert.throws(() => dbm.close(), isFull)
    assert.deepEqual(fs.readFileSync(file), before)
    const again = openDBM(file, new Map(), {writable: false})
    assert.equal(again.count(), 1)
    again.close()
    fs.rmSync(file)
  })
})
