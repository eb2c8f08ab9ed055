import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as net from 'node:net'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {hasProgram, tempDir} from '../../helpers/cli.js'
import {startServer, type RunningServer} from '../../helpers/server.js'

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

describe('the memcached protocol', () => {
  it('holds the same conversation as memcached itself (on a database with expiry times)', async () => {
    const server = await startServer(['--memcached', '127.0.0.1:0', `${path.join(dir, 'cache.tkh')}#expiration=true`])
    servers.push(server)
    for (let i = 0; i < 100 && !/memcached: listening on/.test(server.log()); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    const port = Number(/memcached: listening on [^\s]*:(\d+)/.exec(server.log())?.[1])
    const ours = await converse(port)
    if (hasProgram('memcached')) {
      const theirs = await new Promise<number>((resolve) => {
        const probe = net.createServer().listen(0, '127.0.0.1', () => {
          const free = (probe.address() as net.AddressInfo).port
          probe.close(() => resolve(free))
        })
      })
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
})
