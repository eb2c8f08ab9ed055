import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {protocol} from '../../src/protocols/grpc/protocol.js'
import {Logger} from '../../src/server/logger.js'
import {ServerCore} from '../../src/server/core.js'
import {DBMServiceImpl} from '../../src/protocols/grpc/service.js'
import {kv, kvAsync} from '../helpers/cli.js'
import {startServer, type RunningServer} from '../helpers/server.js'

describe('kv perf against a kv serve child', () => {
  let server: RunningServer
  before(async () => {
    server = await startServer(['#dbm=tiny', '#dbm=baby'])
  })
  after(async () => {
    await server.stop()
  })

  const perf = (...args: string[]) => kv(['perf', ...args, '--address', server.address])

  it('runs every phase of sequence and reports counts and latencies', () => {
    const result = perf('sequence', '--iter', '200', '--threads', '2', '--json')
    assert.equal(result.status, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.deepEqual(
      report.phases.map((p: {name: string}) => p.name),
      ['echo', 'set', 'get', 'iterate', 'remove'],
    )
    for (const phase of report.phases) {
      assert.equal(phase.operations, 400, phase.name)
      assert.ok(phase.qps > 0)
      assert.ok(phase.latency.p50 <= phase.latency.p99 && phase.latency.p99 <= phase.latency.max, phase.name)
    }
  })

  it('leaves the records of a set-only run, in streams, batches and separate channels', () => {
    assert.equal(perf('sequence', '--iter', '300', '--set_only', '--stream', '--ignore_result', '--index', '1').status, 0)
    assert.equal(kv(['remote', 'inspect', '--address', server.address, '--index', '1', 'num_records']).stdout, '300\n')
    const text = perf('sequence', '--iter', '150', '--get_only', '--multi', '50', '--threads', '2', '--separate', '--index', '1')
    assert.equal(text.status, 0, text.stderr)
    assert.match(text.stdout, /^Getting done: elapsed_time=[\d.]+ num_operations=300 qps=\d+ p50=[\d.]+ms p99=[\d.]+ms p999=[\d.]+ms max=[\d.]+ms$/m)
    assert.equal(perf('sequence', '--iter', '300', '--remove_only', '--index', '1').status, 0)
    assert.equal(kv(['remote', 'inspect', '--address', server.address, '--index', '1', 'num_records']).stdout, '0\n')
  })

  it('mixes operations in parallel and counts them', () => {
    const result = perf('parallel', '--iter', '300', '--threads', '3', '--random_key', '--json')
    assert.equal(result.status, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.equal(report.operations, 900)
    assert.deepEqual(report.errors, [])
    // The same spread over two worker threads.
    const threaded = perf('parallel', '--iter', '300', '--threads', '3', '--separate', '--worker_threads', '2', '--json')
    assert.equal(threaded.status, 0, threaded.stderr)
    assert.equal(JSON.parse(threaded.stdout).operations, 900)
    const sequence = perf('sequence', '--iter', '100', '--threads', '4', '--worker_threads', '2', '--set_only', '--get_only', '--json')
    assert.equal(sequence.status, 0, sequence.stderr)
    assert.deepEqual(
      JSON.parse(sequence.stdout).phases.map((p: {operations: number}) => p.operations),
      [400, 400],
    )
  })

  it('finds a sound server consistent under wicked, with iterators, clears and rebuilds', () => {
    const result = perf('wicked', '--iter', '400', '--threads', '3', '--iterator', '--clear', '--rebuild', '--index', '1')
    assert.equal(result.status, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /^Consistent: yes$/m)
  })

  it('consumes every queued value exactly once', () => {
    const result = perf('queue', '--iter', '150', '--threads', '3', '--notify', '--retry', '5', '--index', '1', '--json')
    assert.equal(result.status, 0, result.stderr)
    const report = JSON.parse(result.stdout)
    assert.deepEqual(report.errors, [])
    assert.ok(report.operations >= 900)
  })
})

describe('kv perf wicked against a broken server', () => {
  it('fails when the server drops some writes', async () => {
    // The real service, except that every seventh Set answers success without storing.
    const core = await ServerCore.start(
      {configs: [], readOnly: false, logger: new Logger({file: '/dev/null', level: 'error', dateFormat: 'simple'}), version: 'stub'},
      [],
    )
    const service = new DBMServiceImpl(core)
    const handlers = service.handlers()
    let sets = 0
    const realSet = handlers.Set
    handlers.Set = (call, callback) => {
      if (++sets % 7 === 0) callback(null, {status: {code: 0, message: ''}})
      else realSet(call, callback)
    }
    const server = new grpc.Server()
    server.addService(protocol().tkrzw_rpc.DBMService.service, handlers)
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    )
    try {
      const result = await kvAsync(['perf', 'wicked', '--address', `127.0.0.1:${port}`, '--iter', '300', '--threads', '2'])
      assert.equal(result.status, 1, result.stdout)
      assert.match(result.stdout, /^Inconsistent: /m)
      assert.match(result.stderr, /^kv: BROKEN_DATA_ERROR: the server is inconsistent: /)
    } finally {
      server.forceShutdown()
      await core.shutdown(0)
    }
  })
})
