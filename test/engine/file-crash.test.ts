import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {openDBM} from '../../src/engine/poly.js'
import {ParamReader, parseParams} from '../../src/engine/params.js'
import {makeRandom} from '../../src/perf/local.js'
import {run, tempDir} from '../helpers/cli.js'
import {oracle} from '../helpers/oracle.js'
import {CRASH_REACH, crashModel, crashWorkload} from '../helpers/crash-workload.js'

// A child writes in a loop and is killed with SIGKILL at a random moment; the file must
// then reopen, restore itself, validate, and hold what the last synchronize promised.
const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/crash-writer.js')
const KILLS = 20
const INTERVAL = 40

const {dir, cleanup} = tempDir()
after(cleanup)

/** Runs the writer until it has synchronized at least once and the delay has passed; returns the last synchronize it reported. */
function writeAndKill(file: string, params: string, delayMs: number, syncParams = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, WRITER, file, params, String(INTERVAL), syncParams], {stdio: ['ignore', 'pipe', 'pipe']})
    let lastSync = 0
    let buffered = ''
    let stderr = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) if (line !== '') lastSync = Number(line)
      if (lastSync > 0 && timer === undefined) timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`the writer ended on its own (${code}): ${stderr}`))
      else resolve(lastSync)
    })
  })
}

function recordsOf(dbm: DBM): Map<string, string> {
  const found = new Map<string, string>()
  for (const [key, value] of dbm.records()) found.set(key.toString(), value.toString())
  return found
}

/** Every key the last synchronize covered, and nothing touched since, is there as it was. */
function assertKeepsSynchronized(found: Map<string, string>, lastSync: number): void {
  const model = crashModel(lastSync)
  for (let i = 1; i <= lastSync - CRASH_REACH; i++) {
    const key = `k${i}`
    assert.equal(found.get(key), model.get(key), `${key} after a crash past operation ${lastSync}`)
  }
}

function open(file: string, params: string): HashDBM {
  const dbm = new HashDBM(new ParamReader(parseParams(params)))
  dbm.open(file, true)
  return dbm
}

/**
 * The synchronize whose state the records are, at or after the one the parent last read
 * (the child may have synchronized again before it died); -1 for none.
 */
function synchronizedStateOf(found: Map<string, string>, lastSync: number, model: (n: number) => Map<string, string>): number {
  for (let n = lastSync; n <= lastSync + 50 * INTERVAL; n += INTERVAL) {
    const expected = model(n)
    if (expected.size === found.size && [...expected].every(([k, v]) => found.get(k) === v)) return n
  }
  return -1
}

// The first auto_restored: a tree lists its hash file's attributes after its own.
const autoRestored = (dbm: DBM): boolean => dbm.inspect().find(([name]) => name === 'auto_restored')?.[1] === 'true'

/**
 * After a kill: the next writable open restores the file, which validates (in kv and the
 * oracle) and holds what the last synchronize promised; closed cleanly after that, the
 * open after it needs no repair. Removes the file.
 */
function checkRestored(file: string, params: string, lastSync: number): void {
  const dbm = openDBM(file, parseParams(params), {writable: true})
  try {
    assert.equal(autoRestored(dbm), true)
    assert.deepEqual(dbm.validateStructure(), [])
    assertKeepsSynchronized(recordsOf(dbm), lastSync)
  } finally {
    dbm.close()
  }
  if (oracle) {
    const checked = run('tkrzw_dbm_util', ['inspect', '--validate', file])
    assert.equal(checked.status, 0, checked.stdout + checked.stderr)
  }
  const again = openDBM(file, parseParams(params), {writable: true})
  assert.equal(autoRestored(again), false)
  assert.equal(again.isHealthy(), true)
  again.close()
  fs.rmSync(file, {force: true})
}

describe('HashDBM survives SIGKILL', () => {
  for (const mode of ['in_place', 'appending']) {
    it(`${mode}: restores every synchronized record after ${KILLS} kills`, async () => {
      const random = makeRandom(mode.length)
      const params = `num_buckets=200,update_mode=${mode}`
      for (let round = 0; round < KILLS; round++) {
        const file = path.join(dir, `crash-${mode}-${round}.tkh`)
        const lastSync = await writeAndKill(file, params, Math.floor(random() * 150))
        checkRestored(file, params, lastSync)
      }
    })
  }

  it(`appending with restore_mode=sync: holds exactly a synchronized state after ${KILLS} kills`, async () => {
    const random = makeRandom(7)
    for (let round = 0; round < KILLS; round++) {
      const file = path.join(dir, `crash-sync-${round}.tkh`)
      const lastSync = await writeAndKill(file, 'num_buckets=200,update_mode=appending', Math.floor(random() * 150))
      const dbm = open(file, 'restore_mode=sync')
      try {
        assert.deepEqual(dbm.validateStructure(), [])
        const found = recordsOf(dbm)
        // The parent may have read fewer lines than the child wrote before it died: the
        // state is that of the reported synchronize or of a later one.
        assert.ok(
          synchronizedStateOf(found, lastSync, crashModel) >= lastSync,
          `the restored records match no synchronized state at or after operation ${lastSync}`,
        )
      } finally {
        dbm.close()
      }
      fs.rmSync(file, {force: true})
    }
  })
})

describe('TreeDBM survives SIGKILL', () => {
  // Small pages, so that the writer splits and merges pages between its synchronizes.
  for (const [label, params] of [
    ['pages written at eviction and synchronize', 'max_page_size=200,max_branches=4,max_cached_pages=3'],
    ['pages written at every change', 'max_page_size=200,max_branches=4,page_update_mode=write'],
  ]) {
    it(`${label}: restores every synchronized record after ${KILLS} kills`, async () => {
      const random = makeRandom(label.length)
      for (let round = 0; round < KILLS; round++) {
        const file = path.join(dir, `crash-tree-${label.length}-${round}.tkt`)
        const lastSync = await writeAndKill(file, params, Math.floor(random() * 150))
        checkRestored(file, params, lastSync)
      }
    })
  }
})

describe('SkipDBM survives SIGKILL', () => {
  /**
   * What a skip list holds after the synchronize at operation n of the crash workload:
   * updates wait for the synchronize (last value wins), and a removal is queued like any
   * update, even of a key only queued so far.
   */
  function skipModel(n: number): Map<string, string> {
    const synced = new Map<string, string>()
    let queued = new Map<string, string | null>()
    for (let i = 1; i <= n; i++) {
      for (const op of crashWorkload(i)) {
        if (op.value !== undefined) queued.set(op.key, op.value)
        else queued.set(op.key, null)
      }
      if (i % INTERVAL === 0) {
        for (const [key, value] of queued) {
          if (value === null) synced.delete(key)
          else synced.set(key, value)
        }
        queued = new Map()
      }
    }
    return synced
  }

  // A skip list's file changes only at a synchronize, which writes a new file and renames
  // it into place: a kill leaves one synchronized state whole.
  it(`holds exactly a synchronized state after ${KILLS} kills`, async () => {
    const random = makeRandom(3)
    for (let round = 0; round < KILLS; round++) {
      const file = path.join(dir, `crash-skip-${round}.tks`)
      const lastSync = await writeAndKill(file, 'sort_mem_size=2048', Math.floor(random() * 150), 'reducer=last')
      const dbm = openDBM(file, new Map(), {writable: true})
      try {
        assert.deepEqual(dbm.validateStructure(), [])
        const found = new Map<string, string>()
        for (const [key, value] of dbm.records()) found.set(key.toString(), value.toString())
        assert.ok(synchronizedStateOf(found, lastSync, skipModel) >= lastSync, `the records match no synchronized state at or after operation ${lastSync}`)
        const left = fs.readdirSync(dir).filter((name) => name.startsWith(`crash-skip-${round}.tks.tmp`))
        assert.deepEqual(left, [], "the writer's temporary files are gone once the file is opened again")
      } finally {
        dbm.close()
      }
      if (oracle) {
        const checked = run('tkrzw_dbm_util', ['inspect', '--validate', file])
        assert.equal(checked.status, 0, checked.stdout + checked.stderr)
      }
      for (const name of fs.readdirSync(dir)) if (name.startsWith(`crash-skip-${round}.tks`)) fs.rmSync(path.join(dir, name), {force: true})
    }
  })
})
