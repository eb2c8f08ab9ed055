import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {RemoteDBM} from '../../src/client/remote-dbm.js'
import {openConfig} from '../../src/engine/poly.js'
import {LogReader} from '../../src/engine/ulog/reader.js'
import {decodeChange} from '../../src/engine/ulog/update-log.js'
import {run, tempDir} from '../helpers/cli.js'
import {oracle} from '../helpers/oracle.js'
import {startServer} from '../helpers/server.js'

const {dir, cleanup} = tempDir()
after(cleanup)

/**
 * Whether a backup holds exactly the records of one moment: the records after some number
 * of the changes the update log recorded, applied in order. Keeps count of the keys on
 * which the replayed state and the backup differ, and looks for a point where none do.
 */
function matchesSomePrefix(backup: Map<string, string>, prefix: string): {matched: boolean; at: number; total: number} {
  const model = new Map<string, string>()
  let differing = backup.size
  let matchedAt = differing === 0 ? 0 : -1
  const reader = new LogReader(prefix, 0)
  let count = 0
  for (let message = reader.next(); message; message = reader.next()) {
    const change = decodeChange(message.payload)
    count++
    if (change.op === 'clear') {
      model.clear()
      differing = backup.size
    } else {
      const key = change.key.toString('latin1')
      const before = model.get(key) !== backup.get(key)
      if (change.op === 'set') model.set(key, change.value.toString('latin1'))
      else model.delete(key)
      const now = model.get(key) !== backup.get(key)
      differing += Number(now) - Number(before)
    }
    if (differing === 0 && matchedAt < 0) matchedAt = count
  }
  reader.close()
  return {matched: matchedAt >= 0, at: matchedAt, total: count}
}

const CLASSES = [
  ['hash', 'casket.tkh', 'hash'],
  ['tree', 'casket.tkt', 'tree'],
  ['skip list', 'casket.tks', 'skip'],
  ['tiny, saved as a flat file', 'casket.tkmt', 'tiny'],
  ['hash in 3 shards', 'sharded.tkh#num_shards=3', 'hash'],
] as const

describe('online backups while four clients write', () => {
  for (const [name, file, dbmClass] of CLASSES) {
    it(`${name}: the backup holds exactly the records of one moment`, async () => {
      const config = path.join(dir, name.replace(/\W+/g, '-'), file)
      fs.mkdirSync(path.dirname(config), {recursive: true})
      const server = await startServer(['--ulog_prefix', path.join(path.dirname(config), 'ulog'), config])
      const clients = await Promise.all([0, 1, 2, 3, 4].map(() => RemoteDBM.connect(server.address, {timeout: 60})))
      try {
        const [admin, ...writers] = clients
        for (let i = 0; i < 20000; i += 500) await admin.setMulti(Array.from({length: 500}, (_, j): [string, string] => [`key${i + j}`, `initial${i + j}`]))
        let writing = true
        const work = writers.map(async (db, w) => {
          for (let i = 0; writing; i++) {
            const key = `key${(i * 131 + w * 7919) % 25000}`
            if (i % 4 === 3) await db.remove(key).catch(() => undefined)
            else await db.set(key, `w${w}-${i}`)
          }
        })
        await new Promise((resolve) => setTimeout(resolve, 50))
        // A skip list keeps every value of a key unless a reducer says otherwise: the last one, here.
        await admin.synchronize(false, dbmClass === 'skip' ? {make_backup: 'moment', reducer: 'last'} : {make_backup: 'moment'})
        await new Promise((resolve) => setTimeout(resolve, 50))
        writing = false
        await Promise.all(work)
        // The backup's name no longer tells the class: dbm= does.
        const backupConfig = `${config.split('#')[0]}.backup.moment#dbm=${dbmClass}`
        const backup = openConfig(backupConfig, {writable: false})
        const records = new Map<string, string>()
        for (const [key, value] of backup.records()) records.set(key.toString('latin1'), value.toString('latin1'))
        backup.close()
        assert.ok(records.size > 10000, `${records.size} records`)
        // The reference's tool finds the copies sound (the on-memory class's flat file aside).
        if (oracle && dbmClass !== 'tiny') {
          const base = path.basename(config.split('#')[0]) + '.backup.moment'
          const copies = fs.readdirSync(path.dirname(config)).filter((name) => name.startsWith(base))
          assert.ok(copies.length > 0)
          for (const copy of copies) {
            const checked = run('tkrzw_dbm_util', ['inspect', '--dbm', dbmClass, '--validate', path.join(path.dirname(config), copy)])
            assert.equal(checked.status, 0, `${copy}: ${checked.stdout}${checked.stderr}`)
          }
        }
        const outcome = matchesSomePrefix(records, path.join(path.dirname(config), 'ulog'))
        assert.ok(outcome.matched, `the backup matches no moment of the ${outcome.total} logged changes`)
        // Writes came both before and after the moment.
        assert.ok(outcome.at > 20000 && outcome.at < outcome.total, `${outcome.at} of ${outcome.total}`)
      } finally {
        for (const client of clients) client.close()
        await server.stop()
      }
    })
  }
})
