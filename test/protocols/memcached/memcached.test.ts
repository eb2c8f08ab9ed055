import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as net from 'node:net'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {hasProgram, kv, tempDir} from '../../helpers/cli.js'
import {freePort, frontEndPort, startServer, type RunningServer} from '../../helpers/server.js'
import {makeRandom} from '../../../src/perf/local.js'

const {dir, cleanup} = tempDir()
const servers: RunningServer[] = []
const children: ChildProcess[] = []
after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
  cleanup()
})

/** A connection that sends a request and reads its whole answer (up to the VERSION line of a version sent after it). */
class Conversation {
  private buffered = ''
  private waiting: (() => void) | undefined

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      this.buffered += chunk
      this.waiting?.()
    })
  }

  static open(port: number): Promise<Conversation> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Conversation(socket)))
      socket.once('error', reject)
    })
  }

  async say(request: string): Promise<string> {
    this.socket.write(`${request}version\r\n`)
    for (;;) {
      const at = this.buffered.search(/VERSION [^\r]*\r\n/)
      if (at >= 0) {
        const answer = this.buffered.slice(0, at)
        this.buffered = this.buffered.slice(this.buffered.indexOf('\r\n', at) + 2)
        return answer
      }
      await new Promise<void>((resolve) => (this.waiting = resolve))
    }
  }

  close(): void {
    this.socket.destroy()
  }
}

/**
 * The conversation every server must hold the same way. `cas` stands for the CAS value the
 * last gets reported, so that servers with different CAS numbering compare.
 */
async function converse(port: number): Promise<string[]> {
  const talk = await Conversation.open(port)
  const answers: string[] = []
  let cas = ''
  const say = async (request: string) => {
    const answer = await talk.say(request.replace('<cas>', cas))
    const found = / (\d+)\r\n/.exec(answer.split('\r\n')[0] + '\r\n')
    if (request.startsWith('gets ') && found) cas = found[1]
    answers.push(`${request.trim()} => ${request.startsWith('gets ') ? answer.replace(/ \d+\r\n/, ' <cas>\r\n') : answer}`)
  }
  const steps = [
    'flush_all\r\n',
    'set a 5 0 3\r\nabc\r\n',
    'get a\r\n',
    'get a missing a\r\n',
    'add a 0 0 1\r\nx\r\n',
    'add b 7 0 2\r\nbb\r\n',
    'replace missing 0 0 1\r\nx\r\n',
    'replace b 8 0 3\r\nccc\r\n',
    'append b 0 0 2\r\ndd\r\n',
    'prepend b 0 0 2\r\nzz\r\n',
    'append missing 0 0 1\r\nx\r\n',
    'get b\r\n',
    'gets b\r\n',
    'cas b 1 0 1 <cas>\r\nq\r\n',
    'cas b 1 0 1 <cas>\r\nr\r\n',
    'cas missing 1 0 1 1\r\nr\r\n',
    'get b\r\n',
    'set n 0 0 2\r\n10\r\n',
    'incr n 5\r\n',
    'decr n 100\r\n',
    'incr n 18446744073709551615\r\n',
    'incr a 1\r\n',
    'incr missing 1\r\n',
    'incr n abc\r\n',
    'delete a\r\n',
    'delete a\r\n',
    'delete b 0\r\n',
    'delete b 5\r\n',
    'set q 0 0 1 noreply\r\nq\r\n',
    'get q\r\n',
    'set big 0 0 2\r\nabcd\r\n',
    'set bad 0 0 -1\r\n',
    'set k 0\r\n',
    'bogus command\r\n',
    'get\r\n',
    'touch q 100\r\n',
    'touch missing 100\r\n',
    'verbosity 1\r\n',
    'set x 4294967295 0 0\r\n\r\n',
    'get x\r\n',
    'set neg 0 -1 1\r\nv\r\n',
    'get neg\r\n',
    'flush_all\r\n',
    'get q n\r\n',
  ]
  for (const step of steps) await say(step)
  talk.close()
  return answers
}

/** Lines a careless or hostile client sends: mutated commands, lying lengths, binary junk, half lines. */
function junkRequests(count: number, seed: number): Buffer[] {
  const random = makeRandom(seed)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]
  const commands = [
    'set',
    'add',
    'replace',
    'append',
    'prepend',
    'cas',
    'get',
    'gets',
    'gat',
    'gats',
    'delete',
    'incr',
    'decr',
    'touch',
    'flush_all',
    'stats',
    'version',
    'verbosity',
    'SET',
    'bogus',
    '',
  ]
  const numbers = ['0', '1', '-1', '5', '4294967296', '18446744073709551616', '99999999999', 'abc', '', '2000000000', '1048577']
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const kind = random()
    if (kind < 0.15) {
      out.push(Buffer.from(Array.from({length: Math.floor(random() * 64)}, () => Math.floor(random() * 256))))
    } else {
      const words = [pick(commands), `k${Math.floor(random() * 20)}`]
      for (let w = Math.floor(random() * 5); w > 0; w--) words.push(pick(numbers))
      if (random() < 0.2) words.push('noreply')
      let line = words.join(random() < 0.1 ? '  ' : ' ')
      if (random() < 0.1) line = line.slice(0, Math.floor(random() * line.length))
      const data = random() < 0.5 ? `\r\n${'x'.repeat(Math.floor(random() * 8))}` : ''
      out.push(Buffer.from(`${line}${random() < 0.9 ? '\r\n' : '\n'}${data}${random() < 0.8 ? '\r\n' : ''}`, 'latin1'))
    }
  }
  return out
}

describe('the memcached protocol', () => {
  it('holds the same conversation as memcached itself (on a database with expiry times)', async () => {
    const server = await startServer(['--memcached', '127.0.0.1:0', `${path.join(dir, 'cache.tkh')}#expiration=true`])
    servers.push(server)
    const port = await frontEndPort(server, 'memcached')
    const ours = await converse(port)
    if (hasProgram('memcached')) {
      const theirs = await freePort()
      const child = spawn('memcached', ['-l', '127.0.0.1', '-p', String(theirs), '-U', '0', '-u', 'nobody'], {stdio: 'ignore'})
      children.push(child)
      let reference: string[] | undefined
      for (let i = 0; i < 50 && !reference; i++) {
        try {
          reference = await converse(theirs)
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      assert.deepEqual(ours, reference)
    }
    assert.ok(ours.includes('get a => VALUE a 5 3\r\nabc\r\nEND\r\n'), ours.join('\n'))
  })

  it('reports the records and bytes of every database in stats', async () => {
    const server = await startServer(['--memcached', '127.0.0.1:0', '#dbm=tiny', path.join(dir, 'stats.tkh')])
    servers.push(server)
    const conversation = await Conversation.open(await frontEndPort(server, 'memcached'))
    await conversation.say('set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\n')
    const stats = await conversation.say('stats\r\n')
    assert.match(stats, /STAT curr_items 2\r\n/)
    assert.match(stats, /STAT kv_db_0_records 2\r\n/)
    assert.match(stats, /STAT kv_db_1_records 0\r\n/)
    assert.match(stats, /STAT kv_db_1_bytes \d+\r\n/)
  })

  it('answers 10,000 junk requests with errors or a closed connection, and keeps serving everyone else', async () => {
    const server = await startServer(['--memcached', '127.0.0.1:0', `${path.join(dir, 'junk.tkh')}#expiration=true`])
    servers.push(server)
    const port = await frontEndPort(server, 'memcached')
    const requests = junkRequests(10_000, 20261130)
    // Ten connections, a thousand requests each, sent at once; some are closed by the server.
    await Promise.all(
      Array.from(
        {length: 10},
        (_, c) =>
          new Promise<void>((resolve) => {
            const socket = net.connect(port, '127.0.0.1', () => socket.end(Buffer.concat(requests.slice(c * 1000, (c + 1) * 1000))))
            socket.on('data', () => undefined)
            socket.on('error', () => resolve())
            socket.on('close', () => resolve())
          }),
      ),
    )
    // A client that sends a big value in pieces and never reads: the server holds out.
    const greedy = net.connect(port, '127.0.0.1')
    greedy.on('error', () => undefined)
    for (let i = 0; i < 200; i++) greedy.write(`set g${i} 0 0 100000\r\n${'v'.repeat(100000)}\r\nget g${i}\r\n`)
    const talk = await Conversation.open(port)
    assert.equal(await talk.say('set after 1 0 2\r\nok\r\n'), 'STORED\r\n')
    assert.equal(await talk.say('get after\r\n'), 'VALUE after 1 2\r\nok\r\nEND\r\n')
    talk.close()
    greedy.destroy()
    assert.equal(server.child.exitCode, null, server.log())
  })

  it("takes Kyoto Tycoon's options: read-only, exptimes beyond 2^24 s, and the queue mode", async () => {
    const readOnly = await startServer(['--memcached', '127.0.0.1:0', '--memcached_options', 'r', path.join(dir, 'ro.tkh')])
    servers.push(readOnly)
    const ro = await Conversation.open(await frontEndPort(readOnly, 'memcached'))
    assert.equal(await ro.say('set a 0 0 1\r\nx\r\n'), 'SERVER_ERROR server is read-only\r\n')
    assert.equal(await ro.say('delete a\r\n'), 'SERVER_ERROR server is read-only\r\n')
    assert.equal(await ro.say('get a\r\n'), 'END\r\n')
    ro.close()

    const queued = await startServer([
      '--memcached',
      '127.0.0.1:0',
      '--memcached_options',
      'q,kt_exptime',
      '--memcached_queue_wait',
      '1',
      `${path.join(dir, 'queue.tkt')}#expiration=true`,
    ])
    servers.push(queued)
    const port = await frontEndPort(queued, 'memcached')
    const [first, second] = [await Conversation.open(port), await Conversation.open(port)]
    assert.equal(await first.say('set jobs 3 0 3\r\none\r\nset jobs 0 0 3\r\ntwo\r\n'), 'STORED\r\nSTORED\r\n')
    // Each get takes the oldest message and holds it; a delete acknowledges it.
    assert.equal(await first.say('get jobs\r\n'), 'VALUE jobs 3 3\r\none\r\nEND\r\n')
    assert.equal(await second.say('get jobs\r\n'), 'VALUE jobs 0 3\r\ntwo\r\nEND\r\n')
    assert.equal(await second.say('delete jobs\r\n'), 'DELETED\r\n')
    // A get waits for a message, and one set meanwhile wakes it.
    const waiting = second.say('get later\r\n')
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(await first.say('set later 0 0 1\r\nL\r\n'), 'STORED\r\n')
    assert.equal(await waiting, 'VALUE later 0 1\r\nL\r\nEND\r\n')
    // What a connection took and did not acknowledge goes back when it ends: at least once.
    first.close()
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(await second.say('get jobs\r\n'), 'VALUE jobs 3 3\r\none\r\nEND\r\n')
    assert.equal(await second.say('get nothing\r\n'), 'END\r\n')
    // Beyond 2^24 s an exptime is an epoch time: this one has passed.
    second.close()
    const plain = await startServer(['--memcached', '127.0.0.1:0', '--memcached_options', 'kt_exptime', `${path.join(dir, 'kt.tkh')}#expiration=true`])
    servers.push(plain)
    const kt = await Conversation.open(await frontEndPort(plain, 'memcached'))
    assert.equal(await kt.say('set old 0 20000000 1\r\nx\r\nset soon 0 2592001 1\r\ny\r\n'), 'STORED\r\nSTORED\r\n')
    assert.equal(await kt.say('get old soon\r\n'), 'VALUE soon 0 1\r\ny\r\nEND\r\n')
    kt.close()
  })

  it('is measured by kv perf memcached, one request at a time and pipelined', async () => {
    const server = await startServer(['--memcached', '127.0.0.1:0', path.join(dir, 'perf.tkh')])
    servers.push(server)
    const port = await frontEndPort(server, 'memcached')
    for (const pipeline of ['1', '8']) {
      const result = kv(['perf', 'memcached', '--address', String(port), '--threads', '2', '--iter', '300', '--pipeline', pipeline, '--json'])
      assert.equal(result.status, 0, result.stderr)
      const report = JSON.parse(result.stdout) as {phases: {name: string; operations: number; misses: number; qps: number}[]}
      assert.deepEqual(
        report.phases.map((phase) => [phase.name, phase.operations, phase.misses]),
        [
          ['set', 600, 0],
          ['get', 600, 0],
          ['remove', 600, 0],
        ],
      )
      assert.ok(report.phases.every((phase) => phase.qps > 0))
    }
  })
})
