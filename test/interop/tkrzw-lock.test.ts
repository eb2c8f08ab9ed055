import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {setTimeout as sleep} from 'node:timers/promises'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {kv, tempDir} from '../helpers/cli.js'
import {skip} from '../helpers/oracle.js'

// kv takes the same whole-file record lock Tkrzw takes, so each keeps out of a file the
// other has open for writing: Tkrzw's tools and kv wait for it (kv refuses at once with --no_wait).
const {dir, cleanup} = tempDir()
after(cleanup)

/** Whether /proc/locks shows a classic (process) lock held by the process. */
function holdsLock(pid: number): boolean {
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .some((line) => new RegExp(`\\bPOSIX\\s+ADVISORY\\s+WRITE\\s+${pid}\\b`).test(line))
}

describe('locks that Tkrzw sees', {skip}, () => {
  it('tkrzw_dbm_util waits while kv holds a file, then writes', async () => {
    const file = path.join(dir, 'held-by-kv.tkh')
    const dbm = new HashDBM()
    dbm.open(file, true)
    dbm.set('from-kv', '1')
    const tkrzw = spawn('tkrzw_dbm_util', ['set', file, 'from-tkrzw', '2'], {stdio: 'ignore'})
    const exited = new Promise<number | null>((resolve) => tkrzw.on('exit', resolve))
    await sleep(800)
    assert.equal(tkrzw.exitCode, null, 'tkrzw_dbm_util wrote into a file kv holds')
    dbm.close()
    assert.equal(await exited, 0)
    const again = new HashDBM()
    again.open(file, false)
    assert.deepEqual([again.get('from-kv')?.toString(), again.get('from-tkrzw')?.toString()], ['1', '2'])
    again.close()
  })

  it('kv refuses a file a Tkrzw process holds, naming the process', async () => {
    const file = path.join(dir, 'held-by-tkrzw.tkh')
    const tkrzw = spawn('tkrzw_dbm_perf', ['sequence', '--path', file, '--iter', '100000000', '--set_only'], {stdio: 'ignore'})
    try {
      for (let waited = 0; !holdsLock(tkrzw.pid!); waited += 20) {
        assert.ok(waited < 10000, 'tkrzw_dbm_perf never locked its file')
        await sleep(20)
      }
      const refused = kv(['dbm', 'set', '--no_wait', file, 'a', 'b'])
      assert.equal(refused.status, 1)
      assert.match(refused.stderr, new RegExp(`is open for writing by process ${tkrzw.pid}`))
      const reader = kv(['dbm', 'get', '--no_wait', file, 'a'])
      assert.equal(reader.status, 1)
    } finally {
      tkrzw.kill('SIGKILL')
    }
  })
})
