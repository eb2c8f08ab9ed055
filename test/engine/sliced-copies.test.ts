import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {nextTurn, type DBM} from '../../src/engine/dbm.js'
import {parseParams} from '../../src/engine/params.js'
import {openDBM} from '../../src/engine/poly.js'
import {makeRandom} from '../../src/perf/local.js'
import {hasProgram, run, tempDir} from '../helpers/cli.js'

const {dir, cleanup} = tempDir()
after(cleanup)
let serial = 0

function contents(dbm: DBM): Map<string, string> {
  return new Map([...dbm.records()].map(([key, value]) => [key.toString('latin1'), value.toString('latin1')] as [string, string]).sort())
}

/** What a file holds, read through a copy of it (the database itself stays open and locked). */
function contentsOfFile(file: string, params: string): Map<string, string> {
  const shards = params.includes('num_shards')
  const parked = path.join(dir, `read-${serial++}${path.extname(file)}`)
  if (shards) for (let i = 0; i < 3; i++) fs.copyFileSync(`${file}-0000${i}-of-00003`, `${parked}-0000${i}-of-00003`)
  else fs.copyFileSync(file, parked)
  const copy = openDBM(parked, parseParams(params), {writable: false})
  try {
    assert.deepEqual(copy.validateStructure(), [])
    return contents(copy)
  } finally {
    copy.close()
  }
}

/** Writes until the promise settles, a few per turn: overwrites, removals, growth. */
async function writeWhile(dbm: DBM, work: Promise<void>, size: number): Promise<number> {
  let done = false
  const finished = work.finally(() => (done = true))
  let round = 0
  while (!done) {
    for (let i = 0; i < 20; i++) {
      const n = (round * 20 + i) % size
      if (i % 4 === 0) dbm.remove(`key${n}`)
      else dbm.set(`key${n}`, `changed ${round} ${'y'.repeat(i * 10)}`)
      dbm.set(`new${round}-${i}`, 'x'.repeat(200))
    }
    round++
    await nextTurn()
  }
  await finished
  return round
}

const cases: [string, string, string][] = [
  ['tiny', 'tkmt', ''],
  ['baby', 'tkmb', ''],
  ['cache', 'tkmc', ''],
  ['hash in place', 'tkh', 'num_buckets=5000'],
  ['hash appending', 'tkh', 'num_buckets=5000,update_mode=appending'],
  ['hash in 3 shards', 'tkh', 'num_buckets=2000,num_shards=3'],
  ['tiny in 3 shards', 'tkmt', 'num_shards=3'],
  ['tree', 'tkt', 'max_page_size=2000,max_cached_pages=50'],
  ['tree in 3 shards', 'tkt', 'num_shards=3'],
]

// The files whose synchronize writes what changed up to its end, not a snapshot of its start.
const writeThrough = (ext: string): boolean => ext === 'tkh' || ext === 'tkt'

describe('copies and saves made in slices while writers go on', () => {
  for (const [name, ext, params] of cases) {
    it(`${name}: a backup holds exactly the records of the moment it was asked for`, async () => {
      const file = path.join(dir, `db-${serial++}.${ext}`)
      const dbm = openDBM(file, parseParams(params), {writable: true, truncate: true})
      try {
        // Values that do not compress, so that the files are large enough to be copied in several slices.
        const random = makeRandom(99)
        const pool = Buffer.from(Array.from({length: 1 << 16}, () => Math.floor(random() * 256)))
        const size = writeThrough(ext) ? 100000 : 40000
        for (let i = 0; i < size; i++) {
          const start = Math.floor(random() * 60000)
          dbm.set(`key${i}`, pool.subarray(start, start + (i % 300)))
        }
        const expected = contents(dbm)
        const backup = path.join(dir, `backup-${serial++}.${ext}`)
        const rounds = await writeWhile(dbm, dbm.copyFileDataInSlices(backup, false), size)
        // Each shard is small enough to be copied in one slice; a single file is not.
        if (!params.includes('num_shards')) assert.ok(rounds > 1, 'the copy yielded to the writers')
        assert.deepEqual(contentsOfFile(backup, params), expected)
        assert.notDeepEqual(contents(dbm), expected)
        if (writeThrough(ext) && !params.includes('num_shards') && hasProgram('tkrzw_dbm_util')) {
          const check = run('tkrzw_dbm_util', ['inspect', '--validate', backup])
          assert.equal(check.status, 0, check.stdout + check.stderr)
          assert.match(check.stdout, /Healthy: true/)
        }
        for (const name of fs.readdirSync(dir)) assert.ok(!name.includes('.tmp.'), `left behind: ${name}`)
      } finally {
        dbm.close()
      }
    })
  }

  for (const [name, ext, params] of cases.filter(([, ext]) => !writeThrough(ext))) {
    it(`${name}: a sliced synchronize saves the moment it was asked for, and a close after it keeps everything`, async () => {
      const file = path.join(dir, `db-${serial++}.${ext}`)
      const dbm = openDBM(file, parseParams(params), {writable: true, truncate: true})
      let closed = false
      try {
        // Enough records that the save takes several slices on a fast machine too.
        for (let i = 0; i < 250000; i++) dbm.set(`key${i}`, `value ${i}`)
        const expected = contents(dbm)
        const rounds = await writeWhile(dbm, dbm.synchronizeInSlices(false), 250000)
        if (!params.includes('num_shards')) assert.ok(rounds > 1, 'the save yielded to the writers')
        assert.deepEqual(contentsOfFile(file, params), expected)
        // A close while a sliced save is under way wins: the file has the final state.
        const last = dbm.synchronizeInSlices(true)
        dbm.set('written', 'during the save')
        const final = contents(dbm)
        dbm.close()
        closed = true
        await last
        assert.deepEqual(contentsOfFile(file, params), final)
        for (const name of fs.readdirSync(dir)) assert.ok(!name.includes('.tmp.'), `left behind: ${name}`)
      } finally {
        if (!closed) dbm.close()
      }
    })
  }

  for (const [name, ext, params] of cases.filter(([, ext]) => !writeThrough(ext))) {
    it(`${name}: a sliced synchronize called while another runs saves its own moment at once, and both end well`, async () => {
      const file = path.join(dir, `db-${serial++}.${ext}`)
      const dbm = openDBM(file, parseParams(params), {writable: true, truncate: true})
      try {
        for (let i = 0; i < 100000; i++) dbm.set(`key${i}`, `value ${i}`)
        const first = dbm.synchronizeInSlices(false)
        dbm.set('between', 'the two')
        const expected = contents(dbm)
        const second = dbm.synchronizeInSlices(true)
        dbm.set('after', 'both')
        await Promise.all([first, second])
        assert.deepEqual(contentsOfFile(file, params), expected)
      } finally {
        dbm.close()
      }
    })
  }

  it('two backups to the same name at once each end whole', async () => {
    const file = path.join(dir, `db-${serial++}.tkh`)
    const dbm = openDBM(file, new Map(), {writable: true, truncate: true})
    try {
      for (let i = 0; i < 20000; i++) dbm.set(`key${i}`, 'x'.repeat(500))
      const backup = path.join(dir, `backup-${serial++}.tkh`)
      const first = dbm.copyFileDataInSlices(backup, false)
      dbm.set('between', 'the two')
      const expected = contents(dbm)
      await Promise.all([first, dbm.copyFileDataInSlices(backup, false)])
      assert.deepEqual(contentsOfFile(backup, ''), expected)
      for (const name of fs.readdirSync(dir)) assert.ok(!name.includes('.tmp.'), `left behind: ${name}`)
    } finally {
      dbm.close()
    }
  })

  it('a hash backup lists exactly the free space of its moment, so writing to it later damages nothing', async () => {
    const file = path.join(dir, `db-${serial++}.tkh`)
    const dbm = openDBM(file, parseParams('num_buckets=1000'), {writable: true, truncate: true})
    const backup = path.join(dir, `backup-${serial++}.tkh`)
    try {
      // Removals leave free blocks, which the close lists in the file.
      for (let i = 0; i < 3000; i++) dbm.set(`key${i}`, 'v'.repeat(200))
      for (let i = 0; i < 3000; i += 2) dbm.remove(`key${i}`)
      dbm.close()
      const again = openDBM(file, parseParams('num_buckets=1000'), {writable: true})
      try {
        // New records take free blocks: the list in the file is out of date until it is written again.
        for (let i = 0; i < 500; i++) again.set(`new${i}`, 'n'.repeat(150))
        await again.copyFileDataInSlices(backup, false)
      } finally {
        again.close()
      }
    } finally {
      if (dbm.isOpen()) dbm.close()
    }
    const copy = openDBM(backup, new Map(), {writable: true})
    try {
      const before = contents(copy)
      for (let i = 0; i < 1500; i++) copy.set(`later${i}`, 'l'.repeat(150))
      assert.deepEqual(copy.validateStructure(), [])
      for (const [key, value] of before) assert.equal(copy.get(key)?.toString('latin1'), value, key)
    } finally {
      copy.close()
    }
  })
})
