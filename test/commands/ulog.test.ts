import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {parseTimestampExpr} from '../../src/cli/timestamp.js'
import {openConfig} from '../../src/engine/poly.js'
import {MessageQueue} from '../../src/engine/ulog/message-queue.js'
import {encodeChange} from '../../src/engine/ulog/update-log.js'
import {kv, kvAsync, tempDir} from '../helpers/cli.js'

const {dir, cleanup} = tempDir()
after(cleanup)

describe('kv ulog', () => {
  it('reads timestamp expressions as the reference tools do, and refuses what is none', () => {
    const now = 1_700_000_000_000
    const cases: [string, number][] = [
      ['1234', 1234],
      ['1e3', 1000],
      [' 1.5S ', 1500],
      ['5 d', 432_000_000],
      ['2H', 7_200_000],
      ['3m', 180_000],
      ['+0', now],
      ['-1s', now - 1000],
      ['-3D', now - 3 * 86_400_000],
      ['now', now],
    ]
    for (const [text, expected] of cases) assert.equal(parseTimestampExpr(text, now), expected, text)
    for (const bad of ['', 'abc', '0x10', '1 week', '--1']) assert.throws(() => parseTimestampExpr(bad, now), /invalid timestamp expression/, bad)
  })

  it('reads a log while a server holds it for writing, without waiting for it', async () => {
    const prefix = path.join(dir, 'live')
    const queue = MessageQueue.open(prefix)
    for (let i = 0; i < 3; i++) queue.write(1000 + i, encodeChange({op: 'set', key: Buffer.from(`k${i}`), value: Buffer.from('v')}, 1, 0))
    // Another process reads: the header is as old as the file's creation, the records are all there.
    const result = await kvAsync(['ulog', 'read', prefix])
    assert.equal(result.status, 0, result.stderr)
    assert.equal(result.stdout, '1000\t1\t0\tSET\tk0\tv\n1001\t1\t0\tSET\tk1\tv\n1002\t1\t0\tSET\tk2\tv\n')
    const removed = await kvAsync(['ulog', 'removeoldfiles', '--timestamp', '+1d', prefix])
    assert.equal(removed.status, 0, removed.stderr)
    assert.match(kv(['ulog', 'listfiles', prefix]).stdout, /live\.0000000000\t0\t/)
    queue.close()
  })

  it('logs the changes of a database opened with ulog_ parameters, sharded too, and applies a log with dbm import --ulog', () => {
    const prefix = path.join(dir, 'params')
    const db = path.join(dir, 'logged.tkh')
    const config = (more = '') => `${db}#ulog_prefix=${prefix}${more}`
    for (const args of [
      ['set', config(',ulog_server_id=7,ulog_dbm_index=2'), 'japan', 'tokyo'],
      ['set', config(), 'china', 'beijing'],
      ['set', '--append', '-', config(), 'china', 'shi'],
      ['remove', config(), 'japan'],
    ]) {
      const result = kv(['dbm', ...args])
      assert.equal(result.status, 0, result.stderr)
    }
    // A removal of a missing record changes nothing and logs nothing.
    assert.equal(kv(['dbm', 'remove', config(), 'nothing']).status, 1)
    const lines = kv(['ulog', 'read', prefix]).stdout.trim().split('\n')
    assert.deepEqual(
      lines.map((line) => line.split('\t').slice(1).join(' ')),
      ['7 2 SET japan tokyo', '0 0 SET china beijing', '0 0 SET china beijing-shi', '0 0 REMOVE japan'],
    )
    assert.match(kv(['dbm', 'set', config(',ulog_typo=1'), 'a', 'b']).stderr, /INVALID_ARGUMENT_ERROR: unsupported parameter: ulog_typo/)

    // Sharded: one log for the shards, and a clear logged once.
    const sharded = openConfig(`${path.join(dir, 'sharded.tkt')}#num_shards=3,ulog_prefix=${prefix}-shards`)
    for (const key of ['a', 'b', 'c', 'd']) sharded.set(key, key)
    sharded.clear()
    sharded.close()
    assert.deepEqual(
      kv(['ulog', 'read', `${prefix}-shards`])
        .stdout.trim()
        .split('\n')
        .map((line) => line.split('\t').slice(3).join(' ')),
      ['SET a a', 'SET b b', 'SET c c', 'SET d d', 'CLEAR'],
    )

    const restored = path.join(dir, 'restored.tkt')
    assert.equal(kv(['dbm', 'import', '--ulog', '0', restored, prefix]).status, 0)
    assert.equal(kv(['dbm', 'list', restored]).stdout, 'china\tbeijing-shi\n')
    const others = path.join(dir, 'others.tkt')
    assert.equal(kv(['dbm', 'import', '--ulog', '0', '--ulog_server_id', '7', others, prefix]).status, 0)
    assert.equal(kv(['dbm', 'list', others]).stdout, 'japan\ttokyo\n')
  })

  it('answers bad input with one line and a status', () => {
    const prefix = path.join(dir, 'bad')
    const cases: [string[], number, RegExp][] = [
      [['ulog', 'read', '--timestamp', 'yesterday', prefix], 2, /invalid timestamp expression: "yesterday"/],
      [['ulog', 'read', ''], 2, /prefix must not be empty/],
      [['ulog', 'read', prefix], 1, /NOT_FOUND_ERROR: no update-log files/],
      [['ulog', 'writeset', path.join(dir, 'missing', 'x'), 'k', 'v'], 1, /NOT_FOUND_ERROR/],
      [['ulog', 'writeset', '--server_id', '-1', prefix, 'k', 'v'], 2, /must not be negative/],
      [['ulog', 'listfiles', '--timestamp', '1 week', prefix], 2, /invalid timestamp expression/],
    ]
    for (const [args, status, message] of cases) {
      const result = kv(args)
      assert.equal(result.status, status, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
    }
  })
})
