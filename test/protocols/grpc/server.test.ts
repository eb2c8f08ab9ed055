import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {ANY_VALUE} from '../../../src/engine/dbm.js'
import {HashDBM} from '../../../src/engine/hash/hash-dbm.js'
import {openDBM} from '../../../src/engine/poly.js'
import {Code, StatusError} from '../../../src/engine/status.js'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {tempDir} from '../../helpers/cli.js'
import {startServer, type RunningServer} from '../../helpers/server.js'

const b = (text: string): Buffer => Buffer.from(text)

async function rejects(code: Code, promise: Promise<unknown>, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StatusError, `expected a StatusError, got ${String(error)}`)
    assert.equal(Code[error.code], Code[code])
    if (message) assert.match(error.message, message)
    return true
  })
}

describe('kv serve, driven by RemoteDBM', () => {
  let dir: string
  let cleanup: () => void
  let server: RunningServer
  let db: RemoteDBM
  before(async () => {
    ;({dir, cleanup} = tempDir())
    server = await startServer(['#dbm=tiny', `${path.join(dir, 'ordered.tkmb')}#key_comparator=lexical`, path.join(dir, 'file.tkh')])
    db = await RemoteDBM.connect(server.address, {timeout: 10})
  })
  after(async () => {
    db.close()
    assert.equal(await server.stop(), 0)
    cleanup()
  })

  it('echoes and inspects the server and each database', async () => {
    assert.equal(await db.echo('hello'), 'hello')
    const facts = await db.inspectServer()
    assert.deepEqual(
      facts.map(([name]) => name),
      [
        'version',
        'process_id',
        'num_dbms',
        'dbm_0_path',
        'dbm_0_count',
        'dbm_0_class',
        'dbm_1_path',
        'dbm_1_count',
        'dbm_1_class',
        'dbm_2_path',
        'dbm_2_count',
        'dbm_2_class',
        'memory_usage',
        'memory_capacity',
        'repl_max_timestamp',
        'num_active_calls',
        'current_time',
        'running_time',
        // kv's own, after the reference's keys.
        'server_id',
        'ulog_prefix',
        'ulog_timestamp',
        'repl_master',
        'repl_state',
        'repl_min_timestamp',
        'repl_last_error',
        // The calls answered so far, by protocol and operation.
        'calls_grpc_Echo',
      ],
    )
    const map = new Map(facts)
    assert.equal(map.get('num_dbms'), '3')
    assert.equal(map.get('dbm_1_class'), 'BabyDBM')
    assert.equal(map.get('dbm_2_class'), 'HashDBM')
    db.setDBMIndex(2)
    assert.equal(new Map(await db.inspect()).get('class'), 'HashDBM')
    db.setDBMIndex(0)
  })

  it('sets, gets, removes and reports each status', async () => {
    await db.set('k', 'v')
    assert.deepEqual(await db.get('k'), b('v'))
    await rejects(Code.DUPLICATION_ERROR, db.set('k', 'w', false))
    await db.remove('k')
    await rejects(Code.NOT_FOUND_ERROR, db.remove('k'))
    assert.equal(await db.get('k'), undefined)
    await db.append('list', 'a', ',')
    await db.append('list', 'b', ',')
    assert.deepEqual(await db.get('list'), b('a,b'))
    await db.clear()
    assert.equal(await db.count(), 0)
  })

  it('handles the multi-record calls', async () => {
    await db.setMulti([
      ['x', '1'],
      ['y', '2'],
      ['x', 'first wins? no: the first occurrence'],
    ])
    assert.deepEqual(await db.get('x'), b('1'))
    assert.deepEqual(await db.getMulti(['y', 'missing', 'x']), [
      [b('x'), b('1')],
      [b('y'), b('2')],
    ])
    await rejects(
      Code.DUPLICATION_ERROR,
      db.setMulti(
        [
          ['x', '9'],
          ['z', '3'],
        ],
        false,
      ),
    )
    assert.deepEqual(await db.get('z'), b('3'))
    await db.appendMulti(
      [
        ['x', 'a'],
        ['w', 'b'],
      ],
      '+',
    )
    assert.deepEqual(await db.get('x'), b('1+a'))
    await rejects(Code.NOT_FOUND_ERROR, db.removeMulti(['x', 'nope']))
    assert.equal(await db.get('x'), undefined)
    await db.clear()
  })

  it('compares and exchanges, increments and rekeys', async () => {
    await db.compareExchange('c', null, 'one')
    await rejects(Code.INFEASIBLE_ERROR, db.compareExchange('c', null, 'two'))
    const result = await db.compareExchange('c', 'one', 'two', {getActual: true})
    assert.deepEqual(result, {actual: b('one'), found: true})
    assert.deepEqual(await db.compareExchange('c', ANY_VALUE, ANY_VALUE, {getActual: true}), {actual: b('two'), found: true})
    await db.compareExchange('c', ANY_VALUE, null)
    assert.equal(await db.get('c'), undefined)
    assert.equal(await db.increment('n', 5, 100), 105n)
    assert.equal(await db.increment('n', -10), 95n)
    assert.equal(await db.increment('n', -(2n ** 63n)), 95n)
    await db.compareExchangeMulti(
      [
        ['n', ANY_VALUE],
        ['absent', null],
      ],
      [
        ['n', null],
        ['p', 'q'],
      ],
    )
    await rejects(Code.INFEASIBLE_ERROR, db.compareExchangeMulti([['n', ANY_VALUE]], [['n', 'x']]))
    // The empty key is an ordinary key: no hidden expectation about it.
    await db.set('', 'empty key')
    await db.compareExchangeMulti([['p', 'q']], [['p', 'r']])
    await db.rekey('p', 'p2')
    await rejects(Code.NOT_FOUND_ERROR, db.rekey('p', 'p3'))
    await db.rekey('p2', 'p3', true, true)
    assert.deepEqual(await db.getMulti(['p2', 'p3']), [
      [b('p2'), b('r')],
      [b('p3'), b('r')],
    ])
    await db.clear()
  })

  it('answers gRPC INVALID_ARGUMENT for an index out of range, and FAILED_PRECONDITION for replication without an update log', async () => {
    db.setDBMIndex(3)
    await rejects(Code.NETWORK_ERROR, db.get('a'), /INVALID_ARGUMENT: dbm_index is out of range/)
    db.setDBMIndex(-1)
    await rejects(Code.NETWORK_ERROR, db.popFirst(1), /INVALID_ARGUMENT/)
    db.setDBMIndex(0)
    const status = await new Promise<grpc.status>((resolve) => {
      const call = db.client.Replicate({min_timestamp: '0', server_id: 7, wait_time: 1})
      call.on('error', (error: grpc.ServiceError) => resolve(error.code))
      call.on('data', () => undefined)
    })
    assert.equal(status, grpc.status.FAILED_PRECONDITION)
    // Every server can become a replica: ChangeMaster succeeds without checking the master, as the reference's.
    await db.changeMaster('127.0.0.1:1', -5)
    assert.equal(new Map(await db.inspectServer()).get('repl_master'), '127.0.0.1:1')
    await db.changeMaster('')
    assert.equal(new Map(await db.inspectServer()).get('repl_master'), '')
    // A stream request with nothing in it is protocol misuse too.
    const empty = await new Promise<grpc.status>((resolve) => {
      const call = db.client.Stream()
      call.on('error', (error: grpc.ServiceError) => resolve(error.code))
      call.on('data', () => undefined)
      call.write({omit_response: false})
    })
    assert.equal(empty, grpc.status.INVALID_ARGUMENT)
  })

  it('keeps databases apart by index and answers NOT_IMPLEMENTED for ordered moves on hashes', async () => {
    db.setDBMIndex(1)
    for (const key of ['b', 'a', 'c']) await db.set(key, key.toUpperCase())
    const iter = db.makeIterator()
    await iter.last()
    assert.deepEqual(await iter.get(), [b('c'), b('C')])
    await iter.jumpLower('c')
    assert.deepEqual(await iter.step(), [b('b'), b('B')])
    await iter.jumpUpper('a', true)
    assert.deepEqual(await iter.get(), [b('a'), b('A')])
    await iter.set('a2')
    await iter.remove()
    assert.deepEqual(await iter.get(), [b('b'), b('B')])
    iter.close()
    assert.deepEqual(await db.search('upper', 'a'), [b('b'), b('c')])
    assert.deepEqual(await db.search('contain', 'c'), [b('c')])
    await rejects(Code.INVALID_ARGUMENT_ERROR, db.search('nonsense', 'x'))
    db.setDBMIndex(0)
    assert.equal(await db.count(), 0)
    await db.set('only in 0', 'x')
    const hashIter = db.makeIterator()
    await hashIter.first()
    assert.deepEqual(await hashIter.step(), [b('only in 0'), b('x')])
    assert.equal(await hashIter.step(), undefined)
    await rejects(Code.NOT_IMPLEMENTED_ERROR, hashIter.last())
    hashIter.close()
    await db.clear()
  })

  it('pipelines operations on a stream, with and without responses', async () => {
    db.setDBMIndex(2)
    const stream = db.makeStream()
    assert.equal(await stream.echo('in stream'), 'in stream')
    for (let i = 0; i < 100; i++) void stream.set(`s${i}`, `v${i}`, true, true)
    assert.deepEqual(await stream.get('s99'), b('v99'))
    assert.equal(await stream.get('nothing'), undefined)
    await assert.rejects(stream.set('s1', 'x', false), (error: unknown) => error instanceof StatusError && error.code === Code.DUPLICATION_ERROR)
    assert.equal(await stream.increment('counter', 3), 3n)
    await stream.append('s1', 'more', '-')
    assert.deepEqual(await stream.compareExchange('s1', 'v1-more', 'swapped', true), {actual: b('v1-more'), found: true})
    await stream.remove('s2')
    stream.close()
    assert.equal(await db.count(), 100)
    db.setDBMIndex(0)
  })

  it('rebuilds, synchronizes, backs up and tells the file size', async () => {
    db.setDBMIndex(2)
    await db.rebuild({num_buckets: '5000'})
    assert.equal(new Map(await db.inspect()).get('num_buckets'), '5003')
    assert.equal(await db.shouldBeRebuilt(), false)
    await db.synchronize(true)
    await db.synchronize(false, {make_backup: 'nightly'})
    const backup = path.join(dir, 'file.tkh.backup.nightly')
    assert.ok(fs.existsSync(backup))
    assert.ok((await db.getFileSize()) > 0)
    await rejects(Code.INVALID_ARGUMENT_ERROR, db.synchronize(false, {reducer: 'total'}))
    await rejects(Code.INVALID_ARGUMENT_ERROR, db.synchronize(false, {make_backup: 'x'.repeat(300)}), /file name would be/)
    db.setDBMIndex(0)
    await rejects(Code.INFEASIBLE_ERROR, db.synchronize(false, {make_backup: ''}))
  })

  it('wakes a waiting PopFirst on notify, and times out without one', async () => {
    db.setDBMIndex(1)
    await db.clear()
    const started = performance.now()
    const popped = db.popFirst(10)
    await new Promise((resolve) => setTimeout(resolve, 200))
    await db.pushLast('job', -1, true)
    const record = await popped
    assert.deepEqual(record?.[1], b('job'))
    assert.ok(performance.now() - started < 5000)
    assert.equal(record?.[0].length, 8)
    assert.equal(await db.popFirst(0.3), undefined)
    db.setDBMIndex(0)
  })

  it('takes calls whose deadline is weeks away (the C++ client sends one when it has no limit)', async () => {
    const patient = await RemoteDBM.connect(server.address, {timeout: 40 * 24 * 3600, connectTimeout: 10})
    // Calls that last a while: a wrapped-around deadline would have cut them at once.
    db.setDBMIndex(0)
    assert.equal(await patient.popFirst(0.3), undefined)
    const iter = patient.makeIterator()
    await new Promise((resolve) => setTimeout(resolve, 100))
    await iter.first()
    assert.equal(await iter.get(), undefined)
    iter.close()
    patient.close()
  })

  it('wakes a waiting CompareExchange on notify', async () => {
    const waiting = db.compareExchange('lock', 'free', 'taken', {retryWait: 10})
    await new Promise((resolve) => setTimeout(resolve, 200))
    await db.compareExchange('lock', null, 'free', {notify: true})
    await waiting
    assert.deepEqual(await db.get('lock'), b('taken'))
    await rejects(Code.INFEASIBLE_ERROR, db.compareExchange('lock', 'free', 'x', {retryWait: 0.3}))
  })
})

describe('kv serve lifecycle', () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  it('keeps an on-memory database with a file across a restart', async () => {
    const file = path.join(dir, 'kept.tkmt')
    let server = await startServer([file])
    let db = await RemoteDBM.connect(server.address, {timeout: 10})
    await db.set('survives', 'the restart')
    db.close()
    assert.equal(await server.stop('SIGINT'), 0)
    server = await startServer([file])
    db = await RemoteDBM.connect(server.address, {timeout: 10})
    assert.deepEqual(await db.get('survives'), b('the restart'))
    db.close()
    assert.equal(await server.stop(), 0)
  })

  it('shuts down gracefully with calls in flight, and closes the databases cleanly', async () => {
    const file = path.join(dir, 'graceful.tkh')
    const server = await startServer(['--shutdown_wait', '20', file])
    const db = await RemoteDBM.connect(server.address, {timeout: 30})
    await db.set('a', '1')
    const waiting = db.compareExchange('lock', 'never', 'x', {retryWait: 25}).catch((error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const started = performance.now()
    const status = await server.stop('SIGTERM')
    assert.equal(status, 0)
    assert.ok(performance.now() - started < 10_000, 'the blocked call did not hold the shutdown')
    // The blocked call got its answer, not a broken connection.
    const outcome = await waiting
    assert.ok(outcome instanceof StatusError && outcome.code === Code.INFEASIBLE_ERROR, String(outcome))
    db.close()
    assert.match(server.log(), /the server has stopped/)
    const reopened = new HashDBM()
    reopened.open(file, false)
    assert.equal(reopened.isHealthy(), true)
    assert.deepEqual(reopened.get('a'), b('1'))
    reopened.close()
  })

  it('refuses writes with --read_only and exits 1 when a database fails to open', async () => {
    const file = path.join(dir, 'ro.tkmt')
    const seed = openDBM(file, new Map(), {writable: true})
    seed.set('a', 'kept')
    seed.close()
    fs.writeFileSync(path.join(dir, 'broken.tkh'), 'not a database at all, just text that is long enough '.repeat(5))
    const server = await startServer(['--read_only', file, path.join(dir, 'broken.tkh')])
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    await rejects(Code.PRECONDITION_ERROR, db.set('a', 'b'), /not writable/)
    assert.deepEqual(await db.get('a'), b('kept'))
    db.setDBMIndex(1)
    await rejects(Code.PRECONDITION_ERROR, db.get('a'), /did not open/)
    db.close()
    assert.match(server.log(), /cannot open database 1/)
    assert.equal(await server.stop(), 1)
  })

  it('with --read_only, refuses writes through iterators and rebuilds on every class', async () => {
    const files = ['ro-all.tkmt', 'ro-all.tkmb', 'ro-all.tkmc', 'ro-all.tkh'].map((name) => path.join(dir, name))
    for (const file of files) {
      const seed = openDBM(file, new Map(), {writable: true})
      seed.set('a', 'kept')
      seed.close()
    }
    const server = await startServer(['--read_only', ...files])
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    try {
      for (let index = 0; index < files.length; index++) {
        db.setDBMIndex(index)
        const iter = db.makeIterator()
        await iter.jump('a')
        await rejects(Code.PRECONDITION_ERROR, iter.set('changed'), /not writable/)
        await rejects(Code.PRECONDITION_ERROR, iter.remove(), /not writable/)
        assert.deepEqual(await iter.get(), [b('a'), b('kept')])
        iter.close()
        await rejects(Code.PRECONDITION_ERROR, db.rebuild(), /not writable/)
        await rejects(Code.PRECONDITION_ERROR, db.clear(), /not writable/)
        await rejects(Code.PRECONDITION_ERROR, db.popFirst(), /not writable/)
        assert.deepEqual(await db.get('a'), b('kept'), files[index])
        assert.equal(await db.count(), 1)
      }
    } finally {
      db.close()
    }
    assert.equal(await server.stop(), 0)
  })

  it('listens on a unix socket', async () => {
    const socket = path.join(dir, 'kv.sock')
    const server = await startServer([], `unix:${socket}`)
    assert.equal(server.address, `unix:${socket}`)
    const db = await RemoteDBM.connect(server.address, {timeout: 10})
    assert.equal(await db.echo('over a socket'), 'over a socket')
    db.close()
    assert.equal(await server.stop(), 0)
    assert.equal(fs.existsSync(socket), false)
  })
})
