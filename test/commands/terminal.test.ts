import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {after, describe, it} from 'node:test'
import {KV_COMMAND, hasProgram, kv, run, tempDir} from '../helpers/cli.js'

const {dir, cleanup} = tempDir()
after(cleanup)

const ESCAPE = '\x1b['

/**
 * Runs a kv command line under a pseudo-terminal (util-linux's script), as a person at a
 * color terminal would: not under CI, which turns colors off as Node.js decides them.
 */
function atTerminal(args: string, env = ''): string {
  return run('script', ['-qec', `env -u CI TERM=xterm-256color ${env} ${KV_COMMAND} ${args}`, '/dev/null']).stdout
}

describe('kv at a terminal', () => {
  it('accepts --no-color on every command, and never colors a pipe', () => {
    const file = path.join(dir, 'plain.tkh')
    assert.equal(kv(['dbm', 'set', '--no-color', file, 'k', 'v']).status, 0)
    const missing = kv(['dbm', 'get', '--no-color', file, 'nokey'])
    assert.equal(missing.status, 1)
    assert.equal(missing.stderr, 'kv: NOT_FOUND_ERROR: no such key: nokey\n')
    assert.ok(!kv(['dbm', 'inspect', file]).stdout.includes(ESCAPE))
  })

  it(
    'colors errors and tables at a terminal, unless NO_COLOR or --no-color says not to',
    {skip: !hasProgram('script') && 'util-linux script is not installed'},
    () => {
      const file = path.join(dir, 'colored.tkh')
      kv(['dbm', 'set', file, 'k', 'v'])
      assert.ok(atTerminal(`dbm get ${file} nokey`).includes(`${ESCAPE}31m`), 'a red status name')
      assert.ok(atTerminal(`dbm inspect ${file}`).includes(ESCAPE), 'a colored table')
      for (const plain of [
        atTerminal(`dbm get ${file} nokey`, 'NO_COLOR=1'),
        atTerminal(`dbm inspect ${file}`, 'NO_COLOR=1'),
        atTerminal(`dbm inspect --no-color ${file}`),
      ]) {
        assert.ok(!plain.includes(ESCAPE), JSON.stringify(plain))
      }
    },
  )

  it("draws a rebuild's progress at a terminal, with its percentage", {skip: !hasProgram('script') && 'util-linux script is not installed'}, () => {
    const file = path.join(dir, 'progress.tkh')
    const tsv = path.join(dir, 'progress.tsv')
    fs.writeFileSync(tsv, Array.from({length: 3000}, (_, i) => `k${i}\tv${i}\n`).join(''))
    assert.equal(kv(['dbm', 'import', '--tsv', file, tsv]).status, 0)
    const shown = atTerminal(`dbm rebuild ${file}`)
    assert.match(shown, /rebuilding: [\d,]+ \/ 3,000 \[[#.]+\] \d+%/)
    assert.match(shown, /New Number of Records: 3000/)
    assert.doesNotMatch(kv(['dbm', 'rebuild', file]).stdout + kv(['dbm', 'rebuild', file]).stderr, /rebuilding:/)
  })

  it('refuses flag values of the wrong type at parse time, naming the flag', () => {
    const file = path.join(dir, 'typed.tkh')
    const cases: [string[], RegExp][] = [
      [['dbm', 'create', '--buckets', 'many', file], /^kv: Parsing --buckets: not an integer: "many"/],
      [['dbm', 'create', '--record_crc', '7', file], /^kv: Expected --record_crc=7 to be one of: -1, 0, 8, 16, 32/],
      [['dbm', 'create', '--record_comp', 'gzip', file], /^kv: Expected --record_comp=gzip to be one of: default, none, zlib, zstd, lz4, lzma/],
      [['remote', 'echo', '--timeout', 'soon', 'x'], /^kv: Parsing --timeout: not a number of seconds: "soon"/],
      [['remote', 'queue', '--retry', 'x'], /^kv: Parsing --retry: not a number of seconds: "x"/],
    ]
    for (const [args, message] of cases) {
      const result = kv(args)
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message)
    }
    assert.equal(kv(['dbm', 'create', '--buckets', '10k', '--record_crc', '16', file]).status, 0)
  })
})
