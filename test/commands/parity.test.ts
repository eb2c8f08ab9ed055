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
})
