import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as net from 'node:net'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, describe, it} from 'node:test'
import {hasProgram, tempDir} from '../helpers/cli.js'
import {freePort} from '../helpers/server.js'

const FLEET = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/fleet.sh')
const skip = hasProgram('nutcracker') ? false : 'nutcracker is not installed (apt-get install nutcracker)'

/** Sends memcached requests and collects what comes back until `done` says the answer is whole. */
function exchange(port: number, request: string, done: (answer: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = ''
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request))
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      answer += chunk
      if (done(answer)) {
        socket.destroy()
        resolve(answer)
      }
    })
    socket.on('error', reject)
  })
}

describe('a fleet of kv servers behind twemproxy', {skip}, () => {
  const {dir, cleanup} = tempDir()
  after(() => {
    spawnSync('bash', [FLEET, 'stop', dir])
    cleanup()
  })

  it('spreads keys over every server by consistent hashing, and answers through the proxy', async () => {
    const base = await freePort()
    const started = spawnSync('bash', [FLEET, 'start', '3', String(base), dir], {encoding: 'utf8'})
    assert.equal(started.status, 0, started.stderr)
    const keys = Array.from({length: 300}, (_, i) => `user:${i}`)
    let stored = ''
    for (let attempt = 0; attempt < 50 && stored === ''; attempt++) {
      try {
        stored = await exchange(
          base,
          keys.map((key) => `set ${key} 0 0 ${key.length}\r\n${key}\r\n`).join(''),
          (answer) => answer.split('\r\n').length > keys.length,
        )
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    assert.equal(stored.split('\r\n').filter((line) => line === 'STORED').length, keys.length, stored.slice(0, 200))
    const values = await exchange(base, `get ${keys.slice(0, 50).join(' ')}\r\n`, (answer) => answer.endsWith('END\r\n'))
    assert.equal((values.match(/^VALUE /gm) ?? []).length, 50)
    // Every server holds a share (ketama spreads 300 keys over 3 servers unevenly, but over all).
    for (let i = 1; i <= 3; i++) {
      const stats = await exchange(base + i, 'stats\r\n', (answer) => answer.endsWith('END\r\n'))
      const items = Number(/STAT curr_items (\d+)/.exec(stats)?.[1])
      assert.ok(items > 0, `server ${i} holds ${items} of ${keys.length}`)
    }
    assert.equal(spawnSync('bash', [FLEET, 'stop', dir]).status, 0)
  })
})
