import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {ParamReader, parseParams} from '../../src/engine/params.js'
import {kv, kvAsync, tempDir} from '../helpers/cli.js'
import {leaveAsCrashed} from '../helpers/crash.js'

describe('kv dbm on .tkh files', () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  it('creates with the tuning flags, fills, inspects, validates and rebuilds', () => {
    const file = path.join(dir, 'tuned.tkh')
    const created = kv([
      'dbm',
      'create',
      '--buckets',
      '1000',
      '--append',
      '--record_crc',
      '16',
      '--record_comp',
      'zlib',
      '--offset_width',
      '5',
      '--align_pow',
      '4',
      file,
    ])
    assert.equal(created.status, 0, created.stderr)
    for (let i = 0; i < 20; i++) assert.equal(kv(['dbm', 'set', file, `k${i}`, `value ${i}`]).status, 0)
    assert.equal(kv(['dbm', 'remove', file, 'k3']).status, 0)
    assert.equal(kv(['dbm', 'get', file, 'k7']).stdout, 'value 7\n')
    const info = JSON.parse(kv(['dbm', 'inspect', '--json', '--validate', file]).stdout)
    assert.equal(info.class, 'HashDBM')
    assert.equal(info.num_buckets, 1009)
    assert.equal(info.update_mode, 'appending')
    assert.equal(info.record_crc_mode, 'crc-16')
    assert.equal(info.record_comp_mode, 'zlib')
    assert.equal(info.offset_width, 5)
    assert.equal(info.align_pow, 4)
    assert.equal(info.num_records, 19)
    assert.equal(info.validation, 'ok')
    const rebuilt = kv(['dbm', 'rebuild', '--in_place', '--record_comp', 'none', '--buckets', '50', file])
    assert.equal(rebuilt.status, 0, rebuilt.stderr)
    const after = JSON.parse(kv(['dbm', 'inspect', '--json', '--validate', file]).stdout)
    assert.equal(after.update_mode, 'in-place')
    assert.equal(after.record_comp_mode, 'none')
    assert.equal(after.num_buckets, 50)
    assert.equal(after.num_records, 19)
    assert.equal(kv(['dbm', 'list', '--items', '100', '--keys', file]).stdout.split('\n').filter(Boolean).length, 19)
  })

  it('with --no_wait, refuses a second writer and readers while a writer holds the file, with a clear message', () => {
    const file = path.join(dir, 'locked.tkh')
    const holder = new HashDBM()
    holder.open(file, true)
    try {
      holder.set('a', '1')
      holder.synchronize()
      const refused = kv(['dbm', 'set', '--no_wait', file, 'b', '2'])
      assert.equal(refused.status, 1)
      assert.match(refused.stderr, new RegExp(`^kv: PRECONDITION_ERROR: .*locked\\.tkh is open for writing by process ${process.pid}\\n$`))
      const reader = kv(['dbm', 'get', '--no_wait', file, 'a'])
      assert.equal(reader.status, 1)
      assert.match(reader.stderr, /is open for writing by process/)
    } finally {
      holder.close()
    }
    assert.equal(kv(['dbm', 'set', file, 'b', '2']).status, 0)
    assert.equal(kv(['dbm', 'get', file, 'a']).stdout, '1\n')
    assert.equal(fs.existsSync(`${file}.lock`), false)
  })

  it("without --no_wait, waits for the writer to let go, as Tkrzw's tools do", async () => {
    const file = path.join(dir, 'waited.tkh')
    const holder = new HashDBM()
    holder.open(file, true)
    holder.set('a', '1')
    const waiting = kvAsync(['dbm', 'set', file, 'b', '2'])
    await new Promise((resolve) => setTimeout(resolve, 700))
    holder.close()
    const result = await waiting
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stderr, new RegExp(`^kv: waiting for the lock on .*waited\\.tkh: it is open for writing by process ${process.pid}\\n$`))
    assert.equal(kv(['dbm', 'get', file, 'b']).stdout, '2\n')
  })

  it('restores a crashed file: in place, into a new file, and up to an offset', () => {
    const file = path.join(dir, 'crashed.tkh')
    const dbm = new HashDBM(new ParamReader(parseParams('update_mode=appending,num_buckets=100')))
    dbm.open(file, true)
    dbm.set('one', 'first')
    dbm.set('two', 'second')
    dbm.synchronize()
    const syncedSize = dbm.getFileSize()
    dbm.set('three', 'third')
    dbm.synchronize()
    leaveAsCrashed(dbm)

    const inspected = JSON.parse(kv(['dbm', 'inspect', '--json', file]).stdout)
    assert.equal(inspected.healthy, false)

    const snapshot = path.join(dir, 'snapshot.tkh')
    const partial = kv(['dbm', 'restore', '--end_offset', String(syncedSize), file, snapshot])
    assert.equal(partial.status, 0, partial.stderr)
    assert.equal(kv(['dbm', 'list', '--keys', snapshot]).stdout.split('\n').filter(Boolean).sort().join(','), 'one,two')

    const whole = kv(['dbm', 'restore', file])
    assert.equal(whole.status, 0, whole.stderr)
    assert.match(whole.stderr, /restored 3 records .*kept as .*crashed\.tkh\.old/)
    assert.ok(fs.existsSync(`${file}.old`))
    const restored = JSON.parse(kv(['dbm', 'inspect', '--json', '--validate', file]).stdout)
    assert.equal(restored.healthy, true)
    assert.equal(restored.num_records, 3)
  })

  it('restores automatically on a writable open and says so', () => {
    const file = path.join(dir, 'auto.tkh')
    const dbm = new HashDBM()
    dbm.open(file, true)
    dbm.set('kept', 'yes')
    dbm.synchronize()
    leaveAsCrashed(dbm)
    assert.equal(kv(['dbm', 'set', file, 'more', 'data']).status, 0)
    const info = JSON.parse(kv(['dbm', 'inspect', '--json', file]).stdout)
    assert.equal(info.healthy, true)
    assert.equal(kv(['dbm', 'get', file, 'kept']).stdout, 'yes\n')
  })

  it('restores with --auto by opening the file with a restore mode, as tkrzw_dbm_util does', () => {
    for (const mode of ['default', 'sync-ns']) {
      const file = path.join(dir, `auto-${mode}.tkh`)
      const dbm = new HashDBM()
      dbm.open(file, true)
      dbm.set('kept', 'yes')
      dbm.synchronize()
      leaveAsCrashed(dbm)
      const result = kv(['dbm', 'restore', '--auto', mode, file])
      assert.equal(result.status, 0, result.stderr)
      assert.match(result.stderr, new RegExp(`^opened .*auto-${mode}\\.tkh with restore_mode=${mode}: restored`))
      const info = JSON.parse(kv(['dbm', 'inspect', '--json', '--validate', file]).stdout)
      assert.equal(info.healthy, true)
      assert.equal(kv(['dbm', 'get', file, 'kept']).stdout, 'yes\n')
      assert.match(kv(['dbm', 'restore', '--auto', mode, file]).stderr, /it was healthy/)
    }
    assert.equal(kv(['dbm', 'restore', '--auto', 'default', path.join(dir, 'auto.tkh'), path.join(dir, 'other.tkh')]).status, 2)
  })

  it('honours restore_mode read_only and noop', () => {
    for (const [mode, writable] of [
      ['read_only', false],
      ['noop', true],
    ] as const) {
      const file = path.join(dir, `mode-${mode}.tkh`)
      const dbm = new HashDBM()
      dbm.open(file, true)
      dbm.set('a', '1')
      dbm.synchronize()
      leaveAsCrashed(dbm)
      const again = new HashDBM(new ParamReader(parseParams(`restore_mode=${mode}`)))
      again.open(file, true)
      assert.equal(again.isWritable(), writable, mode)
      assert.equal(again.isAutoRestored(), false)
      assert.equal(again.get('a')?.toString(), '1')
      again.close()
    }
  })

  it('refuses bucket counts the format cannot hold, leaving nothing behind', () => {
    const file = path.join(dir, 'huge.tkh')
    for (const args of [
      ['--buckets', '1099511627689'],
      ['--buckets', '2000000000000'],
      ['--buckets', '100m', '--offset_width', '3'],
    ]) {
      const result = kv(['dbm', 'create', ...args, file])
      assert.equal(result.status, 1, args.join(' '))
      assert.match(result.stderr, /^kv: INVALID_ARGUMENT_ERROR: num_buckets/)
      assert.equal(result.stderr.trim().split('\n').length, 1)
      assert.deepEqual(
        fs.readdirSync(dir).filter((name) => name.startsWith('huge.tkh')),
        [],
      )
    }
  })

  it('leaves a damaged file byte for byte as it was when a rebuild fails', () => {
    const file = path.join(dir, 'damaged-rebuild.tkh')
    const dbm = new HashDBM(new ParamReader(parseParams('num_buckets=10')))
    dbm.open(file, true)
    for (let i = 0; i < 50; i++) dbm.set(`key${i}`, `value${i}`.repeat(10))
    dbm.close()
    // Break the header of the first record: a chain reaches it, the rebuild reads it.
    const bytes = fs.readFileSync(file)
    const recordBase = Number(JSON.parse(kv(['dbm', 'inspect', '--json', file]).stdout).record_base)
    bytes.fill(0xee, recordBase, recordBase + 16)
    fs.writeFileSync(file, bytes)
    const result = kv(['dbm', 'rebuild', file])
    assert.equal(result.status, 1, result.stderr)
    assert.match(result.stderr, /BROKEN_DATA_ERROR/)
    assert.deepEqual(fs.readFileSync(file), bytes, 'the failed rebuild changed the file')
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.startsWith('damaged-rebuild.tkh.')),
      [],
    )
  })

  it('benchmarks a hash file without --path', () => {
    const result = kv(['dbm', 'perf', 'sequence', '--dbm', 'hash', '--iter', '2000', '--json'])
    assert.equal(result.status, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.deepEqual(
      report.phases.map((p: {name: string}) => p.name),
      ['set', 'get', 'iterate', 'remove'],
    )
    const rebuild = kv(['dbm', 'perf', 'rebuild', '--dbm', 'hash', '--iter', '5000', '--buckets', '500', '--json'])
    assert.equal(rebuild.status, 0, rebuild.stderr)
    assert.equal(JSON.parse(rebuild.stdout).failures.length, 0)
  })
})
