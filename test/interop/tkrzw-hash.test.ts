import assert from 'node:assert/strict'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {DBM} from '../../src/engine/dbm.js'
import {HashDBM} from '../../src/engine/hash/hash-dbm.js'
import {exportRecords} from '../../src/cli/transfer.js'
import {openDBM} from '../../src/engine/poly.js'
import {parseParams} from '../../src/engine/params.js'
import {kv, run, tempDir} from '../helpers/cli.js'
import {flatRecords, sampleRecords, skip, sortedHex} from '../helpers/oracle.js'

// HashDBM files against Debian's tkrzw_dbm_util, both ways, over the options that change
// the bytes on disk: update mode, CRC width, compression, offset width and alignment.
interface Variant {
  name: string
  /** kv's configuration parameters. */
  params: string
  /** The same tuning as tkrzw_dbm_util flags. */
  flags: string[]
}

const VARIANTS: Variant[] = [
  {name: 'in place', params: 'num_buckets=101', flags: ['--buckets', '101']},
  {name: 'appending', params: 'num_buckets=101,update_mode=appending', flags: ['--buckets', '101', '--append']},
  {
    name: 'in place, crc-8, zlib',
    params: 'num_buckets=50,record_crc_mode=crc-8,record_comp_mode=zlib',
    flags: ['--buckets', '50', '--record_crc', '8', '--record_comp', 'zlib'],
  },
  {
    name: 'appending, crc-16, lz4',
    params: 'num_buckets=500,update_mode=appending,record_crc_mode=crc-16,record_comp_mode=lz4',
    flags: ['--buckets', '500', '--append', '--record_crc', '16', '--record_comp', 'lz4'],
  },
  {
    name: 'in place, crc-32, zstd',
    params: 'num_buckets=300,record_crc_mode=crc-32,record_comp_mode=zstd',
    flags: ['--buckets', '300', '--record_crc', '32', '--record_comp', 'zstd'],
  },
  {
    name: 'appending, zstd, width 5, unaligned',
    params: 'num_buckets=7,update_mode=appending,record_comp_mode=zstd,offset_width=5,align_pow=0',
    flags: ['--buckets', '7', '--append', '--record_comp', 'zstd', '--offset_width', '5', '--align_pow', '0'],
  },
  {
    name: 'in place, crc-16, lzma',
    params: 'num_buckets=200,record_crc_mode=crc-16,record_comp_mode=lzma',
    flags: ['--buckets', '200', '--record_crc', '16', '--record_comp', 'lzma'],
  },
  {
    name: 'in place, width 3, 512-byte alignment',
    params: 'num_buckets=1000,offset_width=3,align_pow=9',
    flags: ['--buckets', '1000', '--offset_width', '3', '--align_pow', '9'],
  },
]

/** Fills a database with the sample records, then overwrites (growing and shrinking) and removes some. */
function churn(dbm: DBM): Map<string, Buffer> {
  const model = new Map<string, Buffer>()
  const put = (key: Buffer, value: Buffer) => {
    dbm.set(key, value)
    model.set(key.toString('hex'), value)
  }
  for (const [key, value] of sampleRecords()) put(key, value)
  for (let i = 0; i < 300; i += 3) put(Buffer.from(`key${i}`), Buffer.from(`grown value ${i} `.repeat((i % 7) + 1)))
  for (let i = 1; i < 300; i += 9) put(Buffer.from(`key${i}`), Buffer.from('s'))
  for (let i = 2; i < 300; i += 5) {
    dbm.remove(`key${i}`)
    model.delete(Buffer.from(`key${i}`).toString('hex'))
  }
  dbm.remove(Buffer.alloc(0))
  model.delete('')
  // Reuse of the space just freed, in the in-place mode.
  for (let i = 0; i < 40; i++) put(Buffer.from(`late${i}`), Buffer.from(`late value ${i}`))
  return model
}

function modelHex(model: Map<string, Buffer>): string[] {
  return [...model].map(([k, v]) => `${k}:${v.toString('hex')}`).sort()
}

function oracleValidates(file: string): void {
  const inspected = run('tkrzw_dbm_util', ['inspect', '--validate', file])
  assert.equal(inspected.status, 0, inspected.stdout + inspected.stderr)
  assert.match(inspected.stdout, /Validating records: \.\.\. ok/)
  assert.match(inspected.stdout, /healthy=true/)
}

function oracleRecords(dir: string, file: string): string[] {
  const exported = path.join(dir, `${path.basename(file)}.flat`)
  const result = run('tkrzw_dbm_util', ['export', file, exported])
  assert.equal(result.status, 0, result.stderr)
  return sortedHex(flatRecords(exported))
}

describe('HashDBM files against tkrzw_dbm_util', {skip}, () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  VARIANTS.forEach((variant, n) => {
    it(`${variant.name}: a file kv wrote validates and reads the same in tkrzw_dbm_util`, () => {
      const file = path.join(dir, `kv-wrote-${n}.tkh`)
      const dbm = openDBM(file, parseParams(variant.params), {writable: true, truncate: true})
      const model = churn(dbm)
      dbm.close()
      oracleValidates(file)
      assert.deepEqual(oracleRecords(dir, file), modelHex(model))
      const count = run('tkrzw_dbm_util', ['inspect', file, 'num_records'])
      assert.equal(count.stdout.trim(), String(model.size))
    })

    it(`${variant.name}: a file tkrzw_dbm_util wrote reads the same in kv, and stays valid after kv rebuilds it`, () => {
      const file = path.join(dir, `oracle-wrote-${n}.tkh`)
      assert.equal(run('tkrzw_dbm_util', ['create', ...variant.flags, file]).status, 0)
      const source = path.join(dir, `source-${n}.flat`)
      const seed = openDBM('', new Map([['dbm', 'tiny']]))
      const expected = churn(seed)
      exportRecords(seed, source)
      seed.close()
      const imported = run('tkrzw_dbm_util', ['import', file, source])
      assert.equal(imported.status, 0, imported.stderr)
      // Updates made by the oracle itself: an overwrite that grows and a removal.
      assert.equal(run('tkrzw_dbm_util', ['set', file, 'key0', 'rewritten by the oracle, longer than before']).status, 0)
      expected.set(Buffer.from('key0').toString('hex'), Buffer.from('rewritten by the oracle, longer than before'))
      assert.equal(run('tkrzw_dbm_util', ['remove', file, 'key3']).status, 0)
      expected.delete(Buffer.from('key3').toString('hex'))

      const dbm = new HashDBM()
      dbm.open(file, false)
      assert.deepEqual(sortedHex(dbm.records()), modelHex(expected))
      assert.equal(dbm.count(), expected.size)
      assert.deepEqual(dbm.validateStructure(), [])
      dbm.close()

      const rebuilt = kv(['dbm', 'rebuild', file])
      assert.equal(rebuilt.status, 0, rebuilt.stderr)
      oracleValidates(file)
      assert.deepEqual(oracleRecords(dir, file), modelHex(expected))
    })
  })

  it('kv reads the attributes tkrzw_dbm_util reports', () => {
    const file = path.join(dir, 'attributes.tkh')
    assert.equal(run('tkrzw_dbm_util', ['create', '--buckets', '1000', '--append', '--record_crc', '16', file]).status, 0)
    assert.equal(run('tkrzw_dbm_util', ['set', file, 'a', 'b']).status, 0)
    const theirs = new Map(
      run('tkrzw_dbm_util', ['inspect', file])
        .stdout.split('\n')
        .filter((line) => line.startsWith('  '))
        .map((line) => line.trim().split('=') as [string, string]),
    )
    const dbm = new HashDBM()
    dbm.open(file, false)
    const ours = new Map(dbm.inspect())
    dbm.close()
    for (const name of [
      'num_buckets',
      'num_records',
      'eff_data_size',
      'file_size',
      'record_base',
      'static_flags',
      'offset_width',
      'align_pow',
      'update_mode',
      'record_crc_mode',
      'record_comp_mode',
      'max_file_size',
      'timestamp',
      'cyclic_magic',
    ]) {
      assert.equal(ours.get(name), theirs.get(name), name)
    }
    assert.deepEqual([...ours.keys()], [...theirs.keys()])
  })
})
