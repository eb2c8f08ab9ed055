import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {hasProgram, kv, run, tempDir} from '../helpers/cli.js'

// tkrzw_ulog_util (Debian's tkrzw-utils) reads the update logs kv writes, and kv reads its.
const skip = hasProgram('tkrzw_ulog_util') ? false : 'tkrzw_ulog_util is not installed (apt-get install tkrzw-utils)'

/** The same changes, written with either tool's write subcommands; a small file size makes them rotate. */
function writeChanges(tool: (args: string[]) => {status: number; stderr: string}, prefix: string): void {
  const writes: string[][] = [
    ['writeset', '--timestamp', '1000', prefix, 'k1', 'v1'],
    ['writeset', '--timestamp', '2000', '--server_id', '300', '--dbm_index', '5', prefix, 'a\tb\nc', 'v\t1\n2\x01\x7f\\é'],
    ['writeset', '--timestamp', '1500', prefix, 'k3', ''],
    ['writeremove', '--timestamp', '2500', prefix, 'k1'],
    ['writeclear', '--timestamp', '2600', '--dbm_index', '3', prefix],
  ]
  for (const write of writes) {
    const result = tool([...write.slice(0, 1), '--max_file_size', '100', ...write.slice(1)])
    assert.equal(result.status, 0, result.stderr)
  }
}

describe('update logs against tkrzw_ulog_util', {skip}, () => {
  const {dir, cleanup} = tempDir()
  after(cleanup)
  const ulog = (args: string[]) => run('tkrzw_ulog_util', args)
  const kvUlog = (args: string[]) => kv(['ulog', ...args])

  for (const [writer, reader, write, read] of [
    ['kv', 'tkrzw_ulog_util', kvUlog, ulog],
    ['tkrzw_ulog_util', 'kv', ulog, kvUlog],
  ] as const) {
    it(`${reader} reads what ${writer} writes, file for file and record for record`, () => {
      const prefix = path.join(dir, `${writer}-wrote`)
      writeChanges(write, prefix)
      for (const options of [[], ['--escape'], ['--timestamp', '2000', '--items', '2'], ['--server_id', '0'], ['--dbm_index', '3']]) {
        const theirs = read(['read', ...options, prefix])
        const ours = write(['read', ...options, prefix])
        assert.equal(theirs.status, 0, theirs.stderr)
        assert.equal(ours.stdout, theirs.stdout, options.join(' '))
        assert.ok(theirs.stdout.length > 0)
      }
      const fields = (text: string): string[] =>
        text.split('\n').map((line) =>
          line
            .split('\t')
            .filter((_, i) => i !== 3)
            .join('\t'),
        )
      assert.deepEqual(fields(read(['listfiles', prefix]).stdout), fields(write(['listfiles', prefix]).stdout))
      assert.ok(fs.readdirSync(dir).filter((name) => name.startsWith(`${writer}-wrote.`)).length >= 2, 'the log rotated')
    })
  }

  it('applies a log to a database as tkrzw_dbm_util import --ulog does', () => {
    const prefix = path.join(dir, 'apply')
    for (const args of [
      ['writeset', '--timestamp', '100', prefix, 'a', '1'],
      ['writeset', '--timestamp', '200', '--server_id', '4', prefix, 'b', '2'],
      ['writeset', '--timestamp', '300', prefix, 'c', '3'],
      ['writeremove', '--timestamp', '400', prefix, 'a'],
      ['writeremove', '--timestamp', '500', prefix, 'missing'],
    ]) {
      assert.equal(kvUlog(args).status, 0)
    }
    for (const since of ['0', '250']) {
      const ours = path.join(dir, `applied-kv-${since}.tkh`)
      const theirs = path.join(dir, `applied-tkrzw-${since}.tkh`)
      assert.equal(kv(['dbm', 'import', '--ulog', since, ours, prefix]).status, 0)
      assert.equal(run('tkrzw_dbm_util', ['import', '--ulog', since, theirs, prefix]).status, 0)
      assert.equal(kv(['dbm', 'list', ours]).stdout, run('tkrzw_dbm_util', ['list', theirs]).stdout, since)
    }
  })

  it('removes old files as the reference does, and never the newest with --exclude_latest', () => {
    for (const tool of ['kv', 'tkrzw'] as const) {
      const prefix = path.join(dir, `prune-${tool}`)
      writeChanges(kvUlog, prefix)
      const args = ['removeoldfiles', '--timestamp', '2100', prefix]
      const result = tool === 'kv' ? kvUlog(args) : ulog(args)
      assert.equal(result.status, 0, result.stderr)
    }
    // The files left, without the prefix: the same suffixes.
    const left = (tool: string) =>
      fs
        .readdirSync(dir)
        .filter((name) => name.startsWith(`prune-${tool}.`))
        .map((name) => name.slice(`prune-${tool}`.length))
        .sort()
    assert.deepEqual(left('kv'), left('tkrzw'))
    assert.ok(left('kv').length >= 1)
    const prefix = path.join(dir, 'prune-kv')
    assert.equal(kvUlog(['removeoldfiles', '--timestamp', '+1d', '--exclude_latest', prefix]).status, 0)
    assert.equal(left('kv').length, 1)
  })
})
