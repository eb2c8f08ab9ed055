import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {kv} from '../helpers/cli.js'
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
    assert.deepEqual(report.phases.map((p: {name: string}) => p.name), ['echo', 'set', 'get', 'iterate', 'remove'])
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
})
