#!/usr/bin/env node
// Runs every compiled test file with Node's own test runner. Node 20's runner takes no
// globs, so the files are found here. Extra arguments filter test files by substring.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

function find(dir) {
  const found = []
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) found.push(...find(path))
    else if (name.endsWith('.test.js')) found.push(path)
  }
  return found
}

const filters = process.argv.slice(2)
const files = find('dist/test')
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort()
// The test files run with kv's own Node.js flag (see bin/run.js): they inherit it.
const result = spawnSync(process.execPath, ['--no-concurrent-recompilation', '--test', '--test-concurrency=2', ...files], {stdio: 'inherit'})
process.exit(result.status ?? 1)
