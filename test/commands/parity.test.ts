import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {hasProgram, kv, run, tempDir} from '../helpers/cli.js'

// Options of tkrzw_dbm_util and tkrzw_dbm_perf that scripts use, so that they port by
// changing the program's name.
const {dir, cleanup} = tempDir()
after(cleanup)

describe("the reference tools' options", () => {
  it('kv dbm rebuild prints the statistics before and after', () => {
    const file = path.join(dir, 'rebuilt.tkh')
    kv(['dbm', 'set', '--multi', file, 'a', '1', 'b', '2'])
    const result = kv(['dbm', 'rebuild', '--buckets', '1000', file])
    assert.equal(result.status, 0, result.stderr)
    assert.match(
      result.stdout,
      /^Old Number of Records: 2\nOld File Size: \d+\nOld Effective Data Size: 4\nOld Number of Buckets: \d+\nOptimizing the database: \.\.\. ok \(elapsed=\d+\.\d{6}\)\nNew Number of Records: 2\nNew File Size: \d+\nNew Effective Data Size: 4\nNew Number of Buckets: 1009\n$/,
    )
  })

  it('kv dbm perf wicked takes --iterator and --validate', () => {
    for (const args of [
      ['--iterator', '--validate'],
      ['--no-iterator', '--validate', '--no-clear'],
    ]) {
      const result = kv(['dbm', 'perf', 'wicked', '--dbm', 'hash', '--iter', '3000', ...args])
      assert.equal(result.status, 0, result.stdout + result.stderr)
      assert.match(result.stdout, /^Wicked done: impl=hash /)
    }
  })

  it('kv dbm perf sequence takes --validate and --copy', () => {
    const copy = path.join(dir, 'copy.tkh')
    const result = kv(['dbm', 'perf', 'sequence', '--dbm', 'hash', '--iter', '2000', '--set_only', '--validate', '--copy', copy])
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, /Validation done: ok/)
    assert.equal(kv(['dbm', 'inspect', copy, 'num_records']).stdout, '2000\n')
    if (hasProgram('tkrzw_dbm_util')) assert.equal(run('tkrzw_dbm_util', ['inspect', '--validate', copy]).status, 0)
  })

  it('kv dbm perf parallel runs the mixed workload, on worker threads each with a shard of its own', () => {
    const single = kv(['dbm', 'perf', 'parallel', '--dbm', 'hash', '--iter', '3000', '--keys', '500', '--rebuild', '--validate'])
    assert.equal(single.status, 0, single.stderr)
    assert.match(
      single.stdout,
      /^Doing parallel: impl=hash num_iterations=3000 value_size=8 num_threads=1\nParallel done: .*num_operations=3000 num_records=\d+ qps=\d+\nValidation done: ok\n/,
    )
    const file = path.join(dir, 'parallel.tkh')
    const threaded = kv(['dbm', 'perf', 'parallel', '--dbm', 'hash', '--iter', '3000', '--threads', '2', '--validate', '--path', file, '--json'])
    assert.equal(threaded.status, 0, threaded.stderr)
    const report = JSON.parse(threaded.stdout)
    assert.equal(report.operations, 6000)
    assert.equal(report.threads, 2)
    // The shards make one sharded database, which opens by its plain name.
    assert.equal(Number(kv(['dbm', 'inspect', file, 'num_records']).stdout), report.num_records)
  })

  it('kv dbm perf sequence --threads runs each phase on worker threads, a shard each', () => {
    const file = path.join(dir, 'sequence.tkmb')
    const result = kv(['dbm', 'perf', 'sequence', '--dbm', 'baby', '--iter', '2000', '--threads', '2', '--set_only', '--validate', '--path', file])
    assert.equal(result.status, 0, result.stderr)
    assert.match(result.stdout, /^Setting: impl=baby num_iterations=2000 value_size=8 num_threads=2\nSetting done: .*num_records=4000 /)
    assert.equal(kv(['dbm', 'inspect', file, 'num_records']).stdout, '4000\n')
    assert.equal(kv(['dbm', 'get', file, '00003999']).stdout, 'xxxxxxxx\n')
  })
})
