import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, before, describe, it} from 'node:test'
import {kv, tempDir} from '../helpers/cli.js'

describe('kv dbm commands', () => {
  let dir: string
  let cleanup: () => void
  before(() => ({dir, cleanup} = tempDir()))
  after(() => cleanup())

  it('creates, sets, gets, lists, removes and rekeys', () => {
    const file = path.join(dir, 'basic.tkmb')
    assert.equal(kv(['dbm', 'create', file]).status, 0)
    assert.ok(fs.existsSync(file))
    assert.equal(kv(['dbm', 'create', file]).status, 1, 'create refuses an existing file')
    for (const [k, v] of [
      ['b', '2'],
      ['a', '1'],
      ['c', '3'],
    ])
      assert.equal(kv(['dbm', 'set', file, k, v]).status, 0)
    assert.equal(kv(['dbm', 'get', file, 'a']).stdout, '1\n')
    assert.equal(kv(['dbm', 'list', file]).stdout, 'a\t1\nb\t2\nc\t3\n')
    assert.equal(kv(['dbm', 'list', '--move', 'jumpupper', '--jump_key', 'a', '--keys', file]).stdout, 'b\nc\n')
    assert.equal(kv(['dbm', 'list', '--items', '1', file]).stdout, 'a\t1\n')
    const dup = kv(['dbm', 'set', '--no_overwrite', file, 'a', 'x'])
    assert.equal(dup.status, 1)
    assert.match(dup.stderr, /DUPLICATION_ERROR/)
    assert.equal(kv(['dbm', 'set', '--append', ',', file, 'a', 'more']).status, 0)
    assert.equal(kv(['dbm', 'get', file, 'a']).stdout, '1,more\n')
    assert.equal(kv(['dbm', 'set', '--incr', '10', file, 'n', '5']).stdout, '15\n')
    assert.equal(kv(['dbm', 'set', '--incr', '10', file, 'n', '5']).stdout, '20\n')
    assert.equal(kv(['dbm', 'rekey', file, 'b', 'bb']).status, 0)
    assert.equal(kv(['dbm', 'remove', file, 'c']).status, 0)
    assert.equal(kv(['dbm', 'list', '--keys', file]).stdout, 'a\nbb\nn\n')
    assert.equal(kv(['dbm', 'inspect', file, 'num_records']).stdout, '3\n')
    const json = JSON.parse(kv(['dbm', 'inspect', '--json', '--validate', file]).stdout)
    assert.equal(json.class, 'BabyDBM')
    assert.equal(json.validation, 'ok')
  })

  it('exports and imports flat records and TSV, escaped', () => {
    const src = path.join(dir, 'src.tkmt')
    kv(['dbm', 'set', src, 'tab\tkey', 'line\nvalue'])
    kv(['dbm', 'set', src, 'plain', 'v'])
    const flat = path.join(dir, 'out.flat')
    const tsv = path.join(dir, 'out.tsv')
    assert.equal(kv(['dbm', 'export', src, flat]).status, 0)
    assert.equal(kv(['dbm', 'export', '--tsv', '--escape', src, tsv]).status, 0)
    assert.match(fs.readFileSync(tsv, 'utf8'), /tab\\tkey\tline\\nvalue\n/)
    for (const [file, extra] of [
      [flat, []],
      [tsv, ['--tsv', '--escape']],
    ] as [string, string[]][]) {
      const dest = path.join(dir, `in-${path.basename(file)}.tkmb`)
      assert.equal(kv(['dbm', 'import', ...extra, dest, file]).status, 0)
      assert.equal(kv(['dbm', 'list', '--escape', dest]).stdout, 'plain\tv\ntab\\tkey\tline\\nvalue\n')
    }
  })

  it('exports as JSON to standard output or a file, and says failures in JSON too', () => {
    const src = path.join(dir, 'json-src.tkmb')
    kv(['dbm', 'set', src, 'tab\tkey', 'line\nvalue'])
    kv(['dbm', 'set', '--sx', src, '6b', 'ff00'])
    const expected = [
      {key: '6b', value: 'ff00', encoding: 'hex'},
      {key: 'tab\tkey', value: 'line\nvalue'},
    ]
    assert.deepEqual(JSON.parse(kv(['dbm', 'export', '--json', src, '-']).stdout), expected)
    const file = path.join(dir, 'out.json')
    assert.deepEqual(JSON.parse(kv(['dbm', 'export', '--json', src, file]).stdout), {file, records: 2})
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), expected)
    assert.deepEqual(JSON.parse(kv(['dbm', 'export', '--json', '--keys', src, '-']).stdout), [{key: 'k'}, {key: 'tab\tkey'}])
    const empty = path.join(dir, 'json-empty.tkmt')
    kv(['dbm', 'create', empty])
    assert.deepEqual(JSON.parse(kv(['dbm', 'export', '--json', empty, '-']).stdout), [])
    assert.equal(kv(['dbm', 'export', '--json', '--tsv', src, '-']).status, 2)

    const missing = kv(['dbm', 'get', '--json', src, 'nokey'])
    assert.equal(missing.status, 1)
    assert.deepEqual(JSON.parse(missing.stdout), {error: {status: 'NOT_FOUND_ERROR', message: 'no such key: nokey', exit: 1}})
    assert.equal(missing.stderr, 'kv: NOT_FOUND_ERROR: no such key: nokey\n')
    const usage = kv(['dbm', 'list', '--json', '--items', 'x', src])
    assert.equal(usage.status, 2)
    assert.equal(JSON.parse(usage.stdout).error.exit, 2)
    // A partial result is the one document: the records found, then the failure on stderr.
    const partial = kv(['dbm', 'get', '--json', '--multi', src, 'tab\tkey', 'nokey'])
    assert.equal(partial.status, 1)
    assert.deepEqual(JSON.parse(partial.stdout), [{key: 'tab\tkey', value: 'line\nvalue'}])
  })

  it('merges databases and rebuilds', () => {
    const a = path.join(dir, 'a.tkmt')
    const b = path.join(dir, 'b.tkmc')
    const dest = path.join(dir, 'merged.tkmb')
    kv(['dbm', 'set', a, 'x', '1'])
    kv(['dbm', 'create', b])
    kv(['dbm', 'set', b, 'y', '2'])
    assert.equal(kv(['dbm', 'merge', dest, a, b]).status, 0)
    assert.equal(kv(['dbm', 'list', dest]).stdout, 'x\t1\ny\t2\n')
    assert.equal(kv(['dbm', 'rebuild', '--buckets', '100', a]).status, 0)
    assert.equal(kv(['dbm', 'inspect', a, 'num_buckets']).stdout, '100\n')
    const bad = kv(['dbm', 'rebuild', '--rebuild_params', 'bogus=1', a])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /unsupported parameter: bogus/)
  })

  it('uses shards named like the reference', () => {
    const base = path.join(dir, 'sharded.tkmb')
    assert.equal(kv(['dbm', 'create', '--params', 'num_shards=3', base]).status, 0)
    assert.ok(fs.existsSync(`${base}-00002-of-00003`))
    for (const k of ['d', 'a', 'c', 'b']) kv(['dbm', 'set', '--params', 'num_shards=0', base, k, k])
    assert.equal(kv(['dbm', 'list', '--keys', '--params', 'num_shards=0', base]).stdout, 'a\nb\nc\nd\n')
  })

  it('gives one-line errors and a non-zero status for bad input', () => {
    const file = path.join(dir, 'errors.tkmt')
    kv(['dbm', 'set', file, 'k', 'v'])
    const cases: [string[], RegExp, number][] = [
      [['dbm', 'get', path.join(dir, 'missing.tkmt'), 'k'], /NOT_FOUND_ERROR/, 1],
      [['dbm', 'get', file, 'nokey'], /NOT_FOUND_ERROR: no such key/, 1],
      [['dbm', 'get', `${file}#num_buckets`, 'k'], /malformed parameter/, 1],
      [['dbm', 'get', `${file}#bogus=1`, 'k'], /unsupported parameter: bogus/, 1],
      [['dbm', 'get', '--dbm', 'nosuch', file, 'k'], /Expected --dbm=nosuch to be one of: auto, hash/, 2],
      [['dbm', 'get', path.join(dir, 'noext.xyz'), 'k'], /unknown DBM class/, 1],
      [['dbm', 'set', '--incr', '0', file, 'k', 'abc'], /not an integer/, 2],
      [['dbm', 'set', '--incr', 'x', file, 'k', '1'], /not an integer/, 2],
      [['dbm', 'list', '--move', 'sideways', file], /Expected --move=sideways/, 2],
      [['dbm', 'set', file], /Missing 2 required args/, 2],
      [['dbm', 'create', ''], /INVALID_ARGUMENT_ERROR: no database file/, 1],
      [['dbm', 'create', '#num_buckets=10'], /INVALID_ARGUMENT_ERROR: no database file/, 1],
    ]
    for (const [args, message, status] of cases) {
      const result = kv(args)
      assert.equal(result.status, status, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message, args.join(' '))
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${result.stderr}`)
      assert.doesNotMatch(result.stderr, /\bat .*\.js:\d+/, 'no stack trace')
    }
  })

  it('never overwrites a damaged file when opening it fails', () => {
    const file = path.join(dir, 'damaged.tkmt')
    kv(['dbm', 'set', file, 'key', 'value'])
    const whole = fs.readFileSync(file)
    const cases = [whole.subarray(0, whole.length - 3), Buffer.concat([whole, Buffer.from([0x42, 0x01])]), Buffer.from([0xff, 0x85])]
    for (const damaged of cases) {
      fs.writeFileSync(file, damaged)
      for (const args of [
        ['set', file, 'x', 'y'],
        ['get', file, 'key'],
        ['list', file],
      ]) {
        const result = kv(['dbm', ...args])
        assert.equal(result.status, 1, args.join(' '))
        assert.match(result.stderr, /BROKEN_DATA_ERROR/)
        assert.deepEqual(fs.readFileSync(file), damaged, 'the file is left as it was')
      }
    }
  })

  it('clears what an interrupted save left beside an on-memory database file', () => {
    const file = path.join(dir, 'leftovers.tkmt')
    kv(['dbm', 'set', file, 'k', 'v'])
    for (const suffix of ['.tmp.export', '.tmp.12345']) fs.writeFileSync(file + suffix, 'half-written')
    fs.writeFileSync(`${file}.tmp.notours`, 'someone else')
    assert.equal(kv(['dbm', 'set', file, 'k2', 'v2']).status, 0)
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.startsWith('leftovers.tkmt.')),
      ['leftovers.tkmt.tmp.notours'],
    )
    assert.equal(kv(['dbm', 'get', file, 'k']).stdout, 'v\n')
  })

  it('measures with perf sequence and wicked', () => {
    const seq = JSON.parse(kv(['dbm', 'perf', 'sequence', '--dbm', 'baby', '--iter', '2000', '--json']).stdout)
    assert.deepEqual(
      seq.phases.map((p: {name: string}) => p.name),
      ['set', 'get', 'iterate', 'remove'],
    )
    assert.equal(seq.phases[2].iterations, 2000)
    const text = kv(['dbm', 'perf', 'sequence', '--dbm', 'tiny', '--iter', '1000', '--random_key'])
    assert.match(text.stdout, /Setting done: elapsed_time=[\d.]+ num_records=\d+ qps=\d+ mem=\d+/)
    for (const dbm of ['tiny', 'baby', 'cache']) {
      const wicked = kv(['dbm', 'perf', 'wicked', '--dbm', dbm, '--iter', '20000', '--json'])
      assert.equal(wicked.status, 0, wicked.stderr)
      assert.deepEqual(JSON.parse(wicked.stdout).errors, [])
    }
  })

  it('answers --help with examples', () => {
    const help = kv(['dbm', 'set', '--help'])
    assert.equal(help.status, 0)
    assert.match(help.stdout, /EXAMPLES/)
    assert.match(kv(['--help']).stdout, /dbm/)
  })
})
