import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as net from 'node:net'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {kv, tempDir} from '../../helpers/cli.js'
import {frontEndPort, startServer, type RunningServer} from '../../helpers/server.js'

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/kt-functions.lua')
const {dir, cleanup} = tempDir()
let server: RunningServer
let port = 0

before(async () => {
  server = await startServer(['--kt', '127.0.0.1:0', '--script', FIXTURE, '--script_timeout', '1', '--script_memory', '32Mi', '#dbm=baby,expiration=true'])
  port = await frontEndPort(server, 'kt')
})
after(async () => {
  await server.stop('SIGKILL')
  cleanup()
})

/** play_script over HTTP: status and the output map (without the underscores). */
function play(name: string, input: {[name: string]: string} = {}, at = port): Promise<{status: number; output: Map<string, string>}> {
  const query = new URLSearchParams({name, ...Object.fromEntries(Object.entries(input).map(([key, value]) => [`_${key}`, value]))})
  return new Promise((resolve, reject) => {
    http
      .get({host: '127.0.0.1', port: at, path: `/rpc/play_script?${query}`}, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('latin1')
          const encoding = /colenc=([BU])/.exec(String(response.headers['content-type']))?.[1]
          const decode = (text: string) =>
            encoding === 'B' ? Buffer.from(text, 'base64').toString('latin1') : encoding === 'U' ? decodeURIComponent(text) : text
          const output = new Map<string, string>()
          for (const line of body.split('\n').filter(Boolean)) {
            const [key, value] = line.split('\t')
            output.set(decode(key).replace(/^_/, ''), decode(value ?? ''))
          }
          resolve({status: response.statusCode ?? 0, output})
        })
      })
      .on('error', reject)
  })
}

describe("Lua scripts with Kyoto Tycoon's kt environment", () => {
  it('reach the database through the DB methods', async () => {
    const {status, output} = await play('records')
    assert.equal(status, 200, [...output].join('\n'))
    const expected: [string, string][] = [
      ['set', 'true'],
      ['add_dup', 'false'],
      ['add_dup_code', '6'],
      ['replace_missing', 'false'],
      ['replace_missing_name', 'no record'],
      ['append', 'true'],
      ['get', '12'],
      ['check', '2'],
      ['check_missing', '-1'],
      ['increment', '5'],
      ['increment_again', '3'],
      ['increment_double', '1.5'],
      ['cas_ok', 'true'],
      ['cas_bad', 'false'],
      ['seize', 'x'],
      ['seized_gone', 'nil'],
      ['remove_missing', 'false'],
      ['set_bulk', '3'],
      ['get_bulk', 'xynil'],
      ['remove_bulk', '1'],
      ['index_read', 'table-like'],
      ['index_removed', 'nil'],
      ['path', 'true'],
      ['prefix', 'b2,b3'],
      ['regex', 'b2,b3'],
      ['similar', 'b2,b3'],
      ['xt_set', 'true'],
      ['xt_relative', 'true'],
    ]
    for (const [name, value] of expected) assert.equal(output.get(name), value, name)
    assert.equal(output.get('count'), '4')
  })

  it('merge and occupy, and answer NOIMPL for copies, snapshots and transactions', async () => {
    const {status, output} = await play('whole')
    assert.equal(status, 200, [...output].join('\n'))
    assert.equal(output.get('merge_add'), 'true')
    assert.equal(output.get('after_add'), 'xy')
    assert.equal(output.get('merge_append'), 'true')
    assert.equal(output.get('after_append'), 'xxyy')
    assert.equal(output.get('merge_set'), 'true')
    assert.equal(output.get('occupy'), 'true')
    assert.equal(output.get('occupy_count'), '2')
    assert.equal(output.get('occupy_fail'), 'false')
    assert.equal(output.get('occupy_error'), 'logical inconsistency')
    assert.equal(output.get('copy'), 'false')
    assert.equal(output.get('copy_error'), 'not implemented')
    assert.equal(output.get('transaction'), 'false')
    assert.equal(output.get('snapshot'), 'false')
  })

  it('run visitors, cursors and MapReduce', async () => {
    const {status, output} = await play('visitors')
    assert.equal(status, 200, [...output].join('\n'))
    assert.equal(output.get('upper'), 'ABC')
    assert.equal(output.get('removed'), 'nil')
    assert.equal(output.get('bulk'), '1122')
    assert.equal(output.get('iterate'), '11!22!')
    assert.equal(output.get('jump'), 'true')
    assert.equal(output.get('cursor_keys'), 'x,y')
    assert.equal(output.get('jump_back'), 'true')
    assert.equal(output.get('back_key'), 'y')
    assert.equal(output.get('step_back'), 'true')
    assert.equal(output.get('set_value'), 'true')
    assert.equal(output.get('after_set'), 'new')
    assert.equal(output.get('cursor_remove'), 'true')
    assert.equal(output.get('count_after'), '1')
    assert.equal(output.get('pairs'), '1')
    assert.equal(output.get('mapreduce'), '1')
  })

  it('have the utility functions, and byte strings cross unchanged', async () => {
    const {status, output} = await play('utilities', {binary: '\u0000\u00ff\u0001'})
    assert.equal(status, 200, [...output].join('\n'))
    const expected: [string, string][] = [
      ['atoi', '-42'],
      ['atoix', '2048'],
      ['atof', '15'],
      ['split', 'a|b|c'],
      ['codec', 'hello'],
      ['hex', '4142'],
      ['zlib', 'squeeze'],
      ['url', 'a%20b%26c'],
      ['bit', '8,14,6,16,4294967295'],
      ['strstr', 'true,a-b-c'],
      ['strfwm', 'true,true'],
      ['regex', 'true,abc###'],
      ['levdist', '3'],
      ['fnv', '229247393592607'],
      ['murmur', '41887138601910'],
      ['pack', '41010200010000822cfeff07000000000000000000f83f'],
      ['unpack', '65,258,65536,300,-2,7'],
      ['sleep', 'nil'],
      ['map', '12'],
      ['array', 'xyz'],
      ['time', 'true'],
      ['version', 'true'],
      ['error', 'no record: gone'],
      ['binary', '\u0000\u00ff\u0001'],
    ]
    for (const [name, value] of expected) assert.equal(output.get(name), value, name)
  })

  it('run in a sandbox without files, processes or a way to end the server', async () => {
    const {status, output} = await play('sandbox')
    assert.equal(status, 200)
    assert.deepEqual(
      ['io', 'exit', 'execute', 'require', 'time'].map((name) => output.get(name)),
      ['nil', 'nil', 'nil', 'nil', 'number'],
    )
  })

  it('are called over the binary protocol too, byte strings unchanged, failures as 0xBF', async () => {
    const u32 = (n: number) => {
      const bytes = Buffer.alloc(4)
      bytes.writeUInt32BE(n)
      return bytes
    }
    const frame = (name: string, records: [Buffer, Buffer][]) =>
      Buffer.concat([
        Buffer.of(0xb4),
        u32(0),
        u32(name.length),
        u32(records.length),
        Buffer.from(name),
        ...records.flatMap(([key, value]) => [u32(key.length), u32(value.length), key, value]),
      ])
    const exchange = (request: Buffer, length: number) =>
      new Promise<Buffer>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(request))
        let received = Buffer.alloc(0)
        socket.on('data', (chunk: Buffer) => {
          received = Buffer.concat([received, chunk])
          if (received.length >= length) {
            socket.destroy()
            resolve(received)
          }
        })
        socket.on('error', reject)
      })
    const key = Buffer.from('k')
    const value = Buffer.of(0, 0xff, 1)
    const answer = await exchange(frame('echo', [[key, value]]), 5 + 8 + key.length + value.length)
    assert.deepEqual(answer, Buffer.concat([Buffer.of(0xb4), u32(1), u32(1), u32(3), key, value]))
    assert.deepEqual(await exchange(frame('failing', []), 1), Buffer.of(0xbf))
  })

  it('are loaded again on SIGUSR1, and one that does not load leaves the old one serving', async () => {
    const file = path.join(dir, 'reloaded.lua')
    fs.writeFileSync(file, 'function which(i, o) o.version = "one" return 0 end\n')
    const reloading = await startServer(['--kt', '127.0.0.1:0', '--script', file])
    try {
      const reloadingPort = await frontEndPort(reloading, 'kt')
      const which = async () => (await play('which', {}, reloadingPort)).output.get('version')
      assert.equal(await which(), 'one')
      fs.writeFileSync(file, 'function which(i, o) o.version = "two" return 0 end\n')
      reloading.child.kill('SIGUSR1')
      for (let i = 0; i < 50 && (await which()) !== 'two'; i++) await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(await which(), 'two')
      fs.writeFileSync(file, 'function which( end\n')
      reloading.child.kill('SIGUSR1')
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.equal(await which(), 'two')
    } finally {
      await reloading.stop('SIGKILL')
    }
  })

  it('that do not load stop the server from starting, with a one-line reason', () => {
    const bad = path.join(dir, 'bad.lua')
    fs.writeFileSync(bad, 'function broken( end\n')
    const syntax = kv(['serve', '--address', '127.0.0.1:0', '--kt', '127.0.0.1:0', '--script', bad])
    assert.notEqual(syntax.status, 0)
    assert.match(syntax.stderr, /the script does not load: .*bad\.lua:1:/)
    const missing = kv(['serve', '--address', '127.0.0.1:0', '--kt', '127.0.0.1:0', '--script', path.join(dir, 'none.lua')])
    assert.notEqual(missing.status, 0)
    assert.match(missing.stderr, /cannot read the script .*none\.lua: ENOENT/)
  })

  it("answer the script's return value, and a missing function with 501", async () => {
    assert.equal((await play('failing')).status, 450)
    assert.equal((await play('nosuch')).status, 501)
  })

  it('stop a runaway script at its time limit, one that allocates without bound at its memory limit, and keep serving', async () => {
    const started = Date.now()
    const loop = await play('loop')
    assert.equal(loop.status, 500)
    assert.match(loop.output.get('ERROR') ?? '', /ran longer than 1000 ms/)
    assert.ok(Date.now() - started < 5000)
    const bomb = await play('bomb')
    assert.equal(bomb.status, 500)
    assert.match(bomb.output.get('ERROR') ?? '', /not enough memory/)
    const raised = await play('raise')
    assert.equal(raised.status, 500)
    assert.match(raised.output.get('ERROR') ?? '', /raised on purpose/)
    assert.equal((await play('failing')).status, 450)
  })
})
