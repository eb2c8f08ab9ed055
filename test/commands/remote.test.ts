import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {kv, tempDir} from '../helpers/cli.js'
import {startServer, type RunningServer} from '../helpers/server.js'

describe('kv remote commands', () => {
  let dir: string
  let cleanup: () => void
  let server: RunningServer
  let address: string[]
  before(async () => {
    ;({dir, cleanup} = tempDir())
    server = await startServer(['#dbm=tiny', path.join(dir, 'ordered.tkmb'), path.join(dir, 'file.tkh')])
    address = ['--address', server.address]
  })
  after(async () => {
    await server.stop()
    cleanup()
  })

  const remote = (...args: string[]) => kv(['remote', ...args, ...address])

  it('echoes, sets, gets, removes, and fails plainly', () => {
    assert.equal(remote('echo', 'hello', 'there').stdout, 'hello there\n')
    assert.equal(remote('set', 'apple', 'red').status, 0)
    assert.equal(remote('get', 'apple').stdout, 'red\n')
    const dup = remote('set', '--no_overwrite', 'apple', 'green')
    assert.equal(dup.status, 1)
    assert.equal(dup.stderr, 'kv: DUPLICATION_ERROR\n')
    assert.equal(remote('set', '--append', ',', 'apple', 'ripe').status, 0)
    assert.equal(remote('get', 'apple').stdout, 'red,ripe\n')
    assert.equal(remote('set', '--incr', '100', 'n', '5').stdout, '105\n')
    assert.equal(remote('set', '--multi', 'k1', 'v1', 'k2', 'v2').status, 0)
    assert.equal(remote('get', '--multi', 'k2', 'k1').stdout, 'k1\tv1\nk2\tv2\n')
    assert.equal(remote('remove', 'apple').status, 0)
    const missing = remote('get', 'apple')
    assert.equal(missing.status, 1)
    assert.match(missing.stderr, /^kv: NOT_FOUND_ERROR: no such key: apple\n$/)
    assert.equal(remote('remove', '--multi', 'k1', 'k2').status, 0)
    assert.equal(remote('clear').status, 0)
    assert.equal(remote('inspect', 'num_records').stdout, '0\n')
  })

  it('lists, searches and inspects other databases by --index', () => {
    for (const key of ['banana', 'apple', 'cherry']) remote('set', '--index', '1', key, key.length.toString())
    assert.equal(remote('list', '--index', '1').stdout, 'apple\t5\nbanana\t6\ncherry\t6\n')
    assert.equal(remote('list', '--index', '1', '--move', 'jumpupper', '--jump_key', 'apple', '--keys').stdout, 'banana\ncherry\n')
    assert.equal(remote('list', '--index', '1', '--items', '1').stdout, 'apple\t5\n')
    assert.equal(remote('search', '--index', '1', '--mode', 'contain', 'an').stdout, 'banana\t6\n')
    assert.equal(remote('search', '--index', '1', '--mode', 'upper', '--keys', 'apple').stdout, 'banana\ncherry\n')
    const info = JSON.parse(remote('inspect', '--index', '1', '--json').stdout)
    assert.equal(info.class, 'BabyDBM')
    const facts = remote('inspect', '--index', '-1').stdout
    assert.match(facts, /^version\t/)
    assert.match(facts, /\ndbm_1_count\t3\n/)
    const bad = remote('get', '--index', '9', 'x')
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /NETWORK_ERROR: INVALID_ARGUMENT: dbm_index is out of range/)
  })

  it('pushes and pops a queue, waits with --retry and reports an empty one', () => {
    assert.equal(remote('queue', '--index', '1', '--notify', 'job-1', 'job-2').status, 0)
    assert.equal(remote('clear', '--index', '1').status, 0)
    assert.equal(remote('queue', '--index', '1', 'first', 'second').status, 0)
    assert.equal(remote('queue', '--index', '1').stdout, 'first\n')
    assert.match(remote('queue', '--index', '1', '--key').stdout, /^\d{10}\.\d{6}\tsecond\n$/)
    const empty = remote('queue', '--index', '1', '--retry', '0.2')
    assert.equal(empty.status, 1)
    assert.match(empty.stderr, /NOT_FOUND_ERROR: the queue is empty/)
    assert.equal(remote('queue', '--compex', 'jobs', 'a', 'b').status, 0)
    assert.equal(remote('queue', '--compex', 'jobs').stdout, 'a\n')
    assert.equal(remote('queue', '--compex', 'jobs').stdout, 'b\n')
    assert.equal(remote('queue', '--compex', 'jobs', '--retry', '0.2').status, 1)
  })

  it('rebuilds and synchronizes, with a backup', () => {
    const pairs: string[] = []
    for (let i = 0; i < 50; i++) pairs.push(`k${i}`, `v${i}`)
    assert.equal(remote('set', '--index', '2', '--multi', ...pairs).status, 0)
    assert.equal(remote('rebuild', '--index', '2', 'num_buckets=1000').status, 0)
    assert.equal(remote('inspect', '--index', '2', 'num_buckets').stdout, '1009\n')
    assert.equal(remote('sync', '--index', '2', '--hard').status, 0)
    assert.equal(remote('sync', '--index', '2', 'make_backup=test').status, 0)
    assert.ok(fs.existsSync(path.join(dir, 'file.tkh.backup.test')))
    assert.equal(kv(['dbm', 'get', '--dbm', 'hash', path.join(dir, 'file.tkh.backup.test'), 'k7']).stdout, 'v7\n')
    const bad = remote('rebuild', '--index', '2', 'no_such_param=1')
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /INVALID_ARGUMENT_ERROR: unsupported parameter: no_such_param/)
  })

  it('says plainly when no server answers', () => {
    const result = kv(['remote', 'echo', '--address', '127.0.0.1:1', '--timeout', '1', 'x'])
    assert.equal(result.status, 1)
    assert.match(result.stderr, /^kv: NETWORK_ERROR: cannot connect to 127\.0\.0\.1:1/)
  })
})
