import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {openDBM} from '../../src/engine/poly.js'
import {kv, shell, tempDir} from '../helpers/cli.js'
import {startServer, type RunningServer} from '../helpers/server.js'

// The command line as scripts and cron jobs use it, through the real executable.
const {dir, cleanup} = tempDir()
const big = path.join(dir, 'big.tkh')
let server: RunningServer

before(async () => {
  // More than a pipe holds, so that the reader goes away while kv still writes.
  const dbm = openDBM(big, new Map(), {writable: true})
  for (let i = 0; i < 30000; i++) dbm.set(`key${i}`, `value${i}`)
  dbm.close()
  const served = path.join(dir, 'served.tkh')
  fs.copyFileSync(big, served)
  server = await startServer([served])
})

after(async () => {
  await server?.stop()
  cleanup()
})

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as net.AddressInfo).port
  await new Promise((resolve) => probe.close(resolve))
  return port
}

describe('kv in scripts and cron jobs', () => {
  it('ends quietly with status 0 when its reader goes away (pipefail)', () => {
    for (const line of [
      `kv dbm list --items 0 ${big} | head -1`,
      `kv dbm export --tsv ${big} - | head -1`,
      `kv remote list --address ${server.address} --items 0 | head -1`,
    ]) {
      const result = shell(line, 30_000)
      assert.equal(result.status, 0, `${line}: ${result.stderr}`)
      assert.match(result.stdout, /^key\d+\tvalue\d+\n$/, line)
      assert.equal(result.stderr, '', line)
    }
  })

  it('knows at once that a server is not there, long before the timeout', async () => {
    const port = await closedPort()
    const started = performance.now()
    const result = kv(['remote', 'echo', '--address', `127.0.0.1:${port}`, '--timeout', '30', 'hello'])
    const seconds = (performance.now() - started) / 1000
    assert.equal(result.status, 1)
    assert.match(result.stderr, new RegExp(`^kv: NETWORK_ERROR: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`))
    // Waiting out the 30-second timeout is the failure this guards against.
    assert.ok(seconds < 15, `took ${seconds.toFixed(1)} s`)
    const unknown = kv(['remote', 'echo', '--address', 'no-such-host.invalid:1978', 'hi'])
    assert.match(unknown.stderr, /NETWORK_ERROR: cannot connect to no-such-host\.invalid:1978: unknown host/)
    const socket = kv(['remote', 'echo', '--address', `unix:${path.join(dir, 'nothing.sock')}`, 'hi'])
    assert.match(socket.stderr, /NETWORK_ERROR: .*no such socket file/)
  })

  it('refuses extra arguments instead of dropping them, unless --multi takes several', () => {
    const file = path.join(dir, 'args.tkh')
    const cases: string[][] = [
      ['dbm', 'set', file, 'a', 'b', 'c'],
      ['dbm', 'get', file, 'k1', 'k2'],
      ['dbm', 'remove', file, 'k1', 'k2'],
      ['remote', 'set', '--address', server.address, 'a', 'b', 'c'],
      ['remote', 'get', '--address', server.address, 'k1', 'k2'],
      ['remote', 'remove', '--address', server.address, 'k1', 'k2'],
    ]
    for (const args of cases) {
      const result = kv(args)
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, /^kv: unexpected argument/, args.join(' '))
    }
    assert.equal(fs.existsSync(file), false, 'a refused command makes nothing')
    assert.equal(kv(['dbm', 'set', '--multi', file, 'k1', 'v1', 'k2', 'v2']).status, 0)
    assert.equal(kv(['dbm', 'get', '--multi', file, 'k1', 'k2']).stdout, 'k1\tv1\nk2\tv2\n')
    assert.equal(kv(['dbm', 'remove', '--multi', file, 'k1', 'k2']).status, 0)
    assert.equal(kv(['dbm', 'get', file, 'k1']).status, 1)
  })

  it('makes nothing when a command fails or is mistaken', () => {
    const cases: [string[], string, RegExp][] = [
      [['dbm', 'rebuild', path.join(dir, 'missing.tkmt')], 'missing.tkmt', /NOT_FOUND_ERROR: no such database/],
      [['dbm', 'remove', path.join(dir, 'missing.tkh'), 'k'], 'missing.tkh', /NOT_FOUND_ERROR: no such database/],
      [['dbm', 'import', path.join(dir, 'new.tkh'), path.join(dir, 'missing.flat')], 'new.tkh', /NOT_FOUND_ERROR: no such record file/],
      [['dbm', 'import', '--tsv', path.join(dir, 'new.tkmb'), path.join(dir, 'missing.tsv')], 'new.tkmb', /NOT_FOUND_ERROR: no such record file/],
      [['dbm', 'import', '--params', 'num_shards=2', path.join(dir, 'newshards.tkh'), path.join(dir, 'missing.flat')], 'newshards.tkh', /NOT_FOUND_ERROR/],
    ]
    for (const [args, made, message] of cases) {
      const result = kv(args)
      assert.equal(result.status, 1, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
      assert.deepEqual(
        fs.readdirSync(dir).filter((name) => name.startsWith(made)),
        [],
        `${args.join(' ')} left files behind`,
      )
    }
  })

  it('reads standard input and writes standard output for -', () => {
    const file = path.join(dir, 'stdio.tkh')
    assert.equal(kv(['dbm', 'import', '--tsv', file, '-'], 'a\t1\nb\t2\n').status, 0)
    assert.equal(kv(['dbm', 'export', '--tsv', file, '-']).stdout.split('\n').sort().join('\n'), '\na\t1\nb\t2')
    const copy = path.join(dir, 'stdio-copy.tkmb')
    const piped = shell(`kv dbm export ${file} - | kv dbm import ${copy} -`)
    assert.equal(piped.status, 0, piped.stderr)
    assert.equal(kv(['dbm', 'list', copy]).stdout, 'a\t1\nb\t2\n')
    assert.equal(fs.existsSync(path.join(dir, '-')), false)
  })

  it('opens a sharded database by its plain name', () => {
    const file = path.join(dir, 'sharded.tkh')
    assert.equal(kv(['dbm', 'create', '--params', 'num_shards=3', file]).status, 0)
    assert.equal(kv(['dbm', 'set', file, 'k', 'v']).status, 0)
    assert.equal(fs.existsSync(file), false, 'no second, unsharded database beside the shards')
    assert.equal(kv(['dbm', 'get', file, 'k']).stdout, 'v\n')
    assert.match(kv(['dbm', 'inspect', file]).stdout, /num_records=1|num_records\s+1/)
  })

  it('takes binary keys and values in hexadecimal with --sx', () => {
    const file = path.join(dir, 'binary.tkh')
    assert.equal(kv(['dbm', 'set', '--sx', file, '00 ff', '0a0d']).status, 0)
    const got = shell(`kv dbm get --sx ${file} 00ff | od -An -tx1`)
    assert.equal(got.stdout.trim(), '0a 0d 0a')
    const bad = kv(['dbm', 'set', '--sx', file, 'zz', '00'])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /^kv: the key is not hexadecimal: "zz"/)
  })

  it('says a usage error whole, on one line, and suggests the command meant', () => {
    const cases: [string[], RegExp][] = [
      [['dbm', 'get'], /^kv: Missing 2 required args: file database file or configuration string; key the key\n$/],
      [['dbm', 'list', '--items', 'x', big], /^kv: Parsing --items: Expected an integer but received: x\n$/],
      [['dbm', 'gte'], /^kv: no such command: dbm gte \(did you mean "dbm get"\?\); see kv --help\n$/],
      [['remot', 'list'], /^kv: no such command: remot list \(did you mean "remote list"\?\)/],
    ]
    for (const [args, message] of cases) {
      const result = kv(args)
      assert.equal(result.status, 2, args.join(' '))
      assert.match(result.stderr, message)
    }
  })

  it('prints data as JSON with --json: records as text (hexadecimal when not UTF-8), attributes typed', () => {
    const file = path.join(dir, 'json.tkmb')
    kv(['dbm', 'set', '--multi', file, 'apple', 'red', 'banana', 'yellow'])
    kv(['dbm', 'set', '--sx', file, 'ff', '00'])
    assert.deepEqual(JSON.parse(kv(['dbm', 'get', '--json', file, 'apple']).stdout), {key: 'apple', value: 'red'})
    assert.deepEqual(JSON.parse(kv(['dbm', 'list', '--json', file]).stdout), [
      {key: 'apple', value: 'red'},
      {key: 'banana', value: 'yellow'},
      {key: 'ff', value: '00', encoding: 'hex'},
    ])
    assert.deepEqual(JSON.parse(kv(['dbm', 'get', '--json', '--multi', file, 'apple', 'banana']).stdout), [
      {key: 'apple', value: 'red'},
      {key: 'banana', value: 'yellow'},
    ])
    const info = JSON.parse(kv(['dbm', 'inspect', '--json', file]).stdout)
    assert.equal(info.num_records, 3)
    assert.equal(info.class, 'BabyDBM')
    const remote = (...args: string[]) => JSON.parse(kv(['remote', ...args, '--json', '--address', server.address]).stdout)
    const listed = remote('list', '--items', '2') as {key: string; value: string}[]
    assert.equal(listed.length, 2)
    for (const record of listed) assert.equal(record.value, record.key.replace('key', 'value'))
    assert.deepEqual(remote('get', 'key7'), {key: 'key7', value: 'value7'})
    const found = remote('search', '--mode', 'begin', '--items', '3', 'key2999') as {key: string}[]
    assert.equal(found.length, 3)
    for (const record of found) assert.match(record.key, /^key2999/)
    assert.equal(typeof remote('inspect').num_records, 'number')
  })

  it('removes only what a failed command made, and finishes work whose report nobody reads', () => {
    const sharded = path.join(dir, 'kept.tkh')
    assert.equal(kv(['dbm', 'create', '--params', 'num_shards=3', sharded]).status, 0)
    // A shard that cannot be opened fails the command; the other shards were there before.
    fs.rmSync(`${sharded}-00000-of-00003`)
    fs.mkdirSync(`${sharded}-00000-of-00003`)
    const failed = kv(['dbm', 'set', '--params', 'num_shards=3', sharded, 'k', 'v'])
    assert.equal(failed.status, 1, failed.stderr)
    for (const shard of ['00001', '00002']) assert.ok(fs.existsSync(`${sharded}-${shard}-of-00003`), `shard ${shard} was there before and stays`)
    const plain = path.join(dir, 'plain-kept.tkh')
    kv(['dbm', 'set', plain, 'a', 'b'])
    assert.equal(kv(['dbm', 'import', '--params', 'num_shards=2', plain, path.join(dir, 'missing.flat')]).status, 1)
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.startsWith('plain-kept')),
      ['plain-kept.tkh'],
    )
    // A rebuild whose statistics nobody reads still rebuilds.
    const rebuilt = path.join(dir, 'rebuilt-unread.tkh')
    kv(['dbm', 'set', '--multi', rebuilt, 'a', '1', 'b', '2'])
    assert.equal(shell(`kv dbm rebuild --buckets 7 ${rebuilt} | true`).status, 0)
    assert.equal(JSON.parse(kv(['dbm', 'inspect', '--json', rebuilt]).stdout).num_buckets, 7)
    // Output that cannot be written (a full disk) is one line and status 1, not a stack trace.
    const full = shell(`kv dbm get ${rebuilt} a > /dev/full`)
    assert.equal(full.status, 1)
    assert.match(full.stderr, /^kv: SYSTEM_ERROR: cannot write the standard output: ENOSPC[^\n]*\n$/)
  })
})
