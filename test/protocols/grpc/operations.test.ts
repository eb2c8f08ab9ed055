import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import {RemoteDBM} from '../../../src/client/remote-dbm.js'
import {formatLogDate, LOG_DATE_FORMATS} from '../../../src/server/logger.js'
import {kv, tempDir} from '../../helpers/cli.js'
import {startServer} from '../../helpers/server.js'

// What operators rely on besides the database calls: health checks, reflection, logs,
// pid files, log rotation and daemon mode.
const MODULES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../../node_modules')

function genericClient(protoFile: string, service: string[], address: string): grpc.Client & {[method: string]: (...args: unknown[]) => unknown} {
  const definition = protoLoader.loadSync(protoFile, {keepCase: true, longs: String, enums: String, defaults: true})
  let node: unknown = grpc.loadPackageDefinition(definition)
  for (const part of service) node = (node as {[name: string]: unknown})[part]
  const Client = node as new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client & {[method: string]: (...args: unknown[]) => unknown}
  return new Client(address, grpc.credentials.createInsecure())
}

describe('kv serve for operators', () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  it('answers gRPC health checks and server reflection', async () => {
    const server = await startServer([])
    try {
      const health = genericClient(path.join(MODULES, 'grpc-health-check/proto/health/v1/health.proto'), ['grpc', 'health', 'v1', 'Health'], server.address)
      for (const service of ['', 'tkrzw_rpc.DBMService']) {
        const response = await new Promise<{status: string}>((resolve, reject) =>
          health.Check({service}, (error: Error | null, reply: {status: string}) => (error ? reject(error) : resolve(reply))),
        )
        assert.equal(response.status, 'SERVING', service)
      }
      health.close()
      const reflection = genericClient(
        path.join(MODULES, '@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'),
        ['grpc', 'reflection', 'v1', 'ServerReflection'],
        server.address,
      )
      const call = reflection.ServerReflectionInfo() as grpc.ClientDuplexStream<object, {list_services_response?: {service: {name: string}[]}}>
      const names = await new Promise<string[]>((resolve, reject) => {
        call.on('data', (reply) => {
          resolve(reply.list_services_response?.service.map((s: {name: string}) => s.name) ?? [])
          call.end()
        })
        call.on('error', reject)
        call.write({list_services: '*'})
      })
      assert.ok(names.includes('tkrzw_rpc.DBMService'), names.join(','))
      reflection.close()
    } finally {
      await server.stop()
    }
  })

  it('logs every call at debug level, in the date format asked, and reopens the log on SIGHUP', async () => {
    const log = path.join(dir, 'kv.log')
    const pid = path.join(dir, 'kv.pid')
    const server = await startServer(['--log_file', log, '--log_level', 'debug', '--log_date', 'w3cdtf', '--log_td', '0', '--pid_file', pid], '127.0.0.1:0')
    try {
      assert.equal(fs.readFileSync(pid, 'utf8'), `${server.child.pid}\n`)
      const db = await RemoteDBM.connect(await addressFromLog(log), {timeout: 10})
      await db.set('logged', 'call')
      const text = fs.readFileSync(log, 'utf8')
      assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[INFO\] opened database 0/m)
      assert.match(text, /\[DEBUG\] Set from .*"key":"logged"/)
      fs.renameSync(log, `${log}.1`)
      server.child.kill('SIGHUP')
      await waitFor(() => fs.existsSync(log))
      await db.get('logged')
      await waitFor(() => /\[DEBUG\] Get from/.test(fs.readFileSync(log, 'utf8')))
      assert.doesNotMatch(fs.readFileSync(`${log}.1`, 'utf8'), /\[DEBUG\] Get from/)
      db.close()
    } finally {
      assert.equal(await server.stop(), 0)
    }
    assert.equal(fs.existsSync(pid), false)
  })

  it('runs as a daemon with absolute paths, and stops on SIGTERM', async () => {
    const pid = path.join(dir, 'daemon.pid')
    const log = path.join(dir, 'daemon.log')
    const data = path.join(dir, 'daemon.tkmt')
    // Relative paths, from this directory: the daemon must turn them into absolute ones.
    const started = kv([
      'serve',
      '--daemon',
      '--address',
      '127.0.0.1:0',
      '--pid_file',
      path.relative(process.cwd(), pid),
      '--log_file',
      path.relative(process.cwd(), log),
      path.relative(process.cwd(), data),
    ])
    assert.equal(started.status, 0, started.stderr)
    const match = /serving on (\S+) as process (\d+)/.exec(started.stderr)
    assert.ok(match, started.stderr)
    const db = await RemoteDBM.connect(match[1], {timeout: 10})
    await db.set('from', 'the daemon')
    db.close()
    const daemonPid = Number(fs.readFileSync(pid, 'utf8'))
    assert.equal(daemonPid, Number(match[2]))
    process.kill(daemonPid, 'SIGTERM')
    await waitFor(() => !fs.existsSync(pid))
    assert.equal(kv(['dbm', 'get', data, 'from']).stdout, 'the daemon\n')
    assert.match(fs.readFileSync(log, 'utf8'), /the server has stopped/)
  })

  it('fails to start with a clear message when the address is taken or malformed', async () => {
    const server = await startServer([])
    try {
      const taken = kv(['serve', '--address', server.address])
      assert.equal(taken.status, 1)
      assert.match(taken.stderr, /^kv: NETWORK_ERROR: cannot listen on 127\.0\.0\.1:\d+/m)
    } finally {
      await server.stop()
    }
    const malformed = kv(['serve', '--address', 'no-port-here'])
    assert.equal(malformed.status, 1)
    assert.match(malformed.stderr, /the address must be host:port/)
  })

  it('formats log dates in all seven formats', () => {
    // 2026-03-04 05:06:07.089012 UTC
    const micros = Date.UTC(2026, 2, 4, 5, 6, 7) * 1000 + 89012
    const expected: {[format: string]: string} = {
      simple: '2026/03/04 14:06:07',
      simple_micro: '2026/03/04 14:06:07.089012',
      w3cdtf: '2026-03-04T14:06:07+09:00',
      w3cdtf_micro: '2026-03-04T14:06:07.089012+09:00',
      rfc1123: 'Wed, 04 Mar 2026 14:06:07 +0900',
      epoch: '1772600767',
      epoch_micro: '1772600767.089012',
    }
    for (const format of LOG_DATE_FORMATS) assert.equal(formatLogDate(micros, format, 9 * 3600), expected[format], format)
    assert.equal(formatLogDate(micros, 'w3cdtf', 0), '2026-03-04T05:06:07Z')
    assert.equal(formatLogDate(micros, 'rfc1123', 0), 'Wed, 04 Mar 2026 05:06:07 GMT')
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function addressFromLog(log: string): Promise<string> {
  let match: RegExpExecArray | null = null
  await waitFor(() => (match = /listening on (\S+)/.exec(fs.readFileSync(log, 'utf8'))) !== null)
  return match![1]
}
