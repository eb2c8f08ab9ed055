#!/usr/bin/env node
// Builds the storage engine's native addon (native/kvfile.c) with node-gyp, when it is
// missing or older than its source. npm runs this at install and before every build.
import {spawnSync} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'native')
const output = join(dir, 'build', 'Release', 'kvfile.node')
const sources = ['kvfile.c', 'binding.gyp'].map((name) => join(dir, name))

const built = existsSync(output) ? statSync(output).mtimeMs : 0
if (built > 0 && sources.every((source) => statSync(source).mtimeMs <= built)) process.exit(0)

// npm names its own node-gyp to the scripts it runs; run directly, use the one beside npm.
const gyp =
  process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
if (!existsSync(gyp)) {
  process.stderr.write(`kv: cannot build the native addon: node-gyp not found at ${gyp}\n`)
  process.exit(1)
}
const args = [gyp, 'rebuild', '--silent']
// Build against the headers installed with this Node.js rather than downloading them.
const prefix = join(dirname(process.execPath), '..')
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined)
if (nodedir) args.push(`--nodedir=${nodedir}`)
const result = spawnSync(process.execPath, args, {cwd: dir, stdio: 'inherit'})
process.exit(result.status ?? 1)
