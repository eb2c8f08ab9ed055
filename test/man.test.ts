import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {it} from 'node:test'

it('man/ matches the command definitions (run npm run man after changing a command)', () => {
  const result = spawnSync(process.execPath, ['scripts/gen-man.js', '--check'], {encoding: 'utf8'})
  assert.equal(result.status, 0, result.stderr)
})
