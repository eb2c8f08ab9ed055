import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import * as path from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {fillsDatabases} from '../../src/cli/young-generation.js'

const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/young-generation.js')

/** The young generation's size after a process, held or not, keeps 400,000 small objects. */
function youngGenerationAfterFilling(hold: boolean): number {
  const script = `
    import v8 from 'node:v8'
    import {holdYoungGeneration} from ${JSON.stringify(HELPER)}
    if (${hold}) holdYoungGeneration()
    const kept = []
    for (let i = 0; i < 400000; i++) kept.push({i, text: 'record ' + i})
    process.stdout.write(String(v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size))
  `
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'})
  assert.equal(result.status, 0, result.stderr)
  return Number(result.stdout)
}

describe('the young generation of commands that fill databases', () => {
  it('is held by the dbm topic only', () => {
    assert.equal(fillsDatabases(['dbm', 'perf', 'sequence']), true)
    assert.equal(fillsDatabases(['dbm:import', 'x.tkh']), true)
    for (const argv of [['serve'], ['perf', 'sequence'], ['remote', 'get', 'dbm'], ['dbmx'], []]) assert.equal(fillsDatabases(argv), false, argv.join(' '))
  })

  it('stays at its first size once held, where it would grow by default (a Node.js whose V8 ignores the setting fails here)', () => {
    const held = youngGenerationAfterFilling(true)
    const grown = youngGenerationAfterFilling(false)
    assert.ok(grown >= 4 * held, `held ${held} bytes, default ${grown} bytes`)
  })
})
