import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {RemoteDBM} from '../../src/client/remote-dbm.js'
import {kv, tempDir} from '../helpers/cli.js'
import {startServer, type RunningServer} from '../helpers/server.js'

const {dir, cleanup} = tempDir()
const servers: RunningServer[] = []
const clients: RemoteDBM[] = []
after(async () => {
  for (const client of clients) client.close()
  await Promise.all(servers.map((server) => server.stop('SIGKILL')))
  cleanup()
})

async function serve(name: string, serverId: number, more: string[] = [], databases = [`${name}.tkh`]): Promise<RunningServer> {
  const server = await startServer([
    '--server_id',
    String(serverId),
    '--ulog_prefix',
    path.join(dir, `${name}-ulog`),
    ...more,
    ...databases.map((database) => path.join(dir, database)),
  ])
  servers.push(server)
  return server
}

async function connect(server: RunningServer, index = 0): Promise<RemoteDBM> {
  const client = await RemoteDBM.connect(server.address, {timeout: 30})
  client.setDBMIndex(index)
  clients.push(client)
  return client
}

async function contents(db: RemoteDBM): Promise<Map<string, string>> {
  const records = new Map<string, string>()
  const iterator = db.makeIterator()
  await iterator.first()
  for (let record = await iterator.step(); record; record = await iterator.step()) records.set(record[0].toString(), record[1].toString())
  iterator.close()
  return records
}

/** Waits until two databases hold the same records (replication is asynchronous), then returns them. */
async function converged(a: RemoteDBM, b: RemoteDBM, what: string): Promise<Map<string, string>> {
  const deadline = Date.now() + 15000
  for (;;) {
    const [left, right] = [await contents(a), await contents(b)]
    if (left.size === right.size && [...left].every(([key, value]) => right.get(key) === value)) return left
    if (Date.now() > deadline) assert.deepEqual(new Map([...right].sort()), new Map([...left].sort()), `${what}: not converged`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Four writers at once: sets, appends and removes over shared keys, so that order matters. */
async function writeFromFour(db: RemoteDBM, tag: string, rounds: number): Promise<void> {
  await Promise.all(
    [0, 1, 2, 3].map(async (writer) => {
      for (let i = 0; i < rounds; i++) {
        const key = `${tag}-${(i * 7 + writer) % 40}`
        if (i % 5 === 4) await db.remove(key).catch(() => undefined)
        else if (i % 3 === 0) await db.append(key, `${writer}.${i}`, ',')
        else await db.set(key, `${writer}.${i}`)
      }
    }),
  )
}

describe('replication between kv servers', () => {
  it('copies a master to a replica while four clients write, and promotes the replica with the old master as its replica', async () => {
    const master = await serve('m1', 1)
    const replica = await serve('r1', 2, ['--repl_master', master.address, '--repl_ts_file', path.join(dir, 'r1.ts')])
    const [onMaster, onReplica] = [await connect(master), await connect(replica)]
    await writeFromFour(onMaster, 'a', 150)
    const records = await converged(onMaster, onReplica, 'master to replica')
    assert.ok(records.size > 20)
    // The replica logs what it applied as its master's changes.
    const logged = kv(['ulog', 'read', '--items', '5', path.join(dir, 'r1-ulog')]).stdout
    assert.match(logged, /^\d+\t1\t0\t(SET|REMOVE)\t/)
    const facts = new Map(await onReplica.inspectServer())
    assert.equal(facts.get('repl_state'), 'replicating')
    assert.ok(Number(facts.get('repl_max_timestamp')) > 0)
    assert.ok(Number(fs.readFileSync(path.join(dir, 'r1.ts'), 'latin1')) > 0)

    // Failover: the replica stops following and takes writes; the old master follows it, replaying a little.
    assert.equal(kv(['remote', 'changemaster', '--address', replica.address, '']).status, 0)
    assert.equal(kv(['remote', 'changemaster', '--address', master.address, '--ts_skew', '-10000', replica.address]).status, 0)
    await writeFromFour(onReplica, 'b', 100)
    await converged(onReplica, onMaster, 'new master to old master')
    assert.equal(new Map(await onMaster.inspectServer()).get('repl_master'), replica.address)
  })

  it('keeps two masters replicating each other equal, with writers on both sides, and echoes nothing back', async () => {
    const one = await serve('d1', 11)
    const two = await serve('d2', 12, ['--repl_master', one.address])
    const [a, b] = [await connect(one), await connect(two)]
    await a.changeMaster(two.address)
    await Promise.all([writeFromFour(a, 'x', 100), writeFromFour(b, 'y', 100)])
    await a.set('shared', 'from a')
    const records = await converged(a, b, 'dual masters')
    assert.equal(records.get('shared'), 'from a')
    // Each change is logged once on each side: its own, and the other's as the other's.
    const lines = (name: string) =>
      kv(['ulog', 'read', '--items', '100000', path.join(dir, `${name}-ulog`)])
        .stdout.trim()
        .split('\n')
    const counts = (name: string) => lines(name).filter((line) => line.includes('\tshared\t')).length
    assert.equal(counts('d1'), 1)
    assert.equal(counts('d2'), 1)
    assert.equal(lines('d1').length, lines('d2').length)
  })

  it('resumes after a replica is killed in the middle of the stream, losing nothing', async () => {
    const master = await serve('m3', 21)
    const onMaster = await connect(master)
    const args = ['--repl_master', master.address, '--repl_ts_file', path.join(dir, 'r3.ts')]
    let replica = await serve('r3', 22, args)
    const writing = writeFromFour(onMaster, 'k', 400)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await replica.stop('SIGKILL')
    await writing
    replica = await serve('r3', 22, args)
    const records = await converged(onMaster, await connect(replica), 'after the kill')
    assert.ok(records.size > 20)
    assert.match(replica.log(), /following .* from timestamp [1-9]\d*/)
  })

  it('replicates a sharded database and several databases by index, and applies changes to local files', async () => {
    const master = await serve('m4', 31, [], ['m4-main.tkh', 'm4-sharded.tkt#num_shards=3'])
    const replica = await serve('r4', 32, ['--repl_master', master.address], ['r4-main.tkh', 'r4-sharded.tkt#num_shards=3'])
    const [main, sharded] = [await connect(master, 0), await connect(master, 1)]
    await writeFromFour(main, 'main', 60)
    await writeFromFour(sharded, 'sharded', 60)
    await converged(sharded, await connect(replica, 1), 'sharded')
    await converged(main, await connect(replica, 0), 'main')
    // A differential backup of database 1, resumed through its timestamp file.
    const backup = path.join(dir, 'backup.tkt')
    const tsFile = path.join(dir, 'backup.ts')
    const pull = () => kv(['remote', 'replicate', '--address', master.address, '--index', '1', '--items', '0', '--ts_file', tsFile, backup])
    assert.equal(pull().status, 0)
    await sharded.set('late', 'change')
    assert.equal(pull().status, 0)
    const listed = kv(['dbm', 'list', '--items', '0', backup]).stdout.trim().split('\n').length
    assert.equal(listed, (await contents(sharded)).size)
  })

  it('seeds a new replica from a backup taken while clients write, replaying only what came after it', async () => {
    const master = await serve('m7', 51)
    const onMaster = await connect(master)
    await writeFromFour(onMaster, 'before', 200)
    const writing = writeFromFour(onMaster, 'during', 300)
    await onMaster.synchronize(false, {make_backup: 'seed'})
    await writing
    // The backup becomes the new replica's database; its own timestamp (less a margin) is where it starts.
    fs.copyFileSync(path.join(dir, 'm7.tkh.backup.seed'), path.join(dir, 'r7.tkh'))
    const replica = await serve('r7', 52, ['--repl_master', master.address, '--repl_ts_from_dbm', '--repl_ts_skew', '-5000'])
    await writeFromFour(onMaster, 'after', 100)
    await converged(onMaster, await connect(replica), 'seeded replica')
    const started = Number(/following .* from timestamp (\d+)/.exec(replica.log())?.[1])
    assert.ok(started > Date.now() - 120_000, `started from ${started}, not from the beginning of the log`)
  })

  it('refuses what cannot work, with a clear message, and keeps serving', async () => {
    const plain = await startServer([path.join(dir, 'plain.tkh')])
    servers.push(plain)
    const result = kv(['remote', 'replicate', '--address', plain.address, '--items', '0'])
    assert.equal(result.status, 1)
    assert.match(result.stderr, /FAILED_PRECONDITION: disabled update logging/)
    const master = await serve('m5', 41)
    const same = await serve('r5', 41, ['--repl_master', master.address])
    fs.writeFileSync(path.join(dir, 'garbage.ts'), 'not a timestamp')
    const garbage = await serve('r6', 42, ['--repl_master', '127.0.0.1:1', '--repl_ts_file', path.join(dir, 'garbage.ts')])
    const deadline = Date.now() + 8000
    while (!/has this server's own ID 41/.test(same.log()) || !/127\.0\.0\.1:1: .*trying again/.test(garbage.log())) {
      assert.ok(Date.now() < deadline, `${same.log()}\n${garbage.log()}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.match(garbage.log(), /the timestamp file .*garbage\.ts holds no timestamp/)
    assert.equal(await (await connect(same)).echo('still'), 'still')
    assert.equal(await (await connect(garbage)).echo('serving'), 'serving')
  })
})
