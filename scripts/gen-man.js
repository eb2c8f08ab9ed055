#!/usr/bin/env node
// Writes one man page per command into man/, from the oclif manifest (the command
// definitions). With --check, writes nothing and fails if man/ differs from what it
// would write.
import {existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8'))
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const check = process.argv.includes('--check')

const esc = (text) =>
  String(text ?? '')
    .replace(/\\/g, '\\e')
    .replace(/^\./gm, '\\&.')
    .replace(/-/g, '\\-')

function page(id, cmd) {
  const name = `kv ${id.replace(/:/g, ' ')}`
  const args = Object.values(cmd.args ?? {})
  const synopsis = [name, '[flags]', ...args.map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`))].join(' ')
  const lines = [
    `.TH "${name.toUpperCase().replace(/ /g, '-')}" 1 "" "kv ${pkg.version}" "kv manual"`,
    '.SH NAME',
    `${esc(name)} \\- ${esc(cmd.summary ?? cmd.description?.split('\n')[0] ?? '')}`,
    '.SH SYNOPSIS',
    `.B ${esc(synopsis)}`,
    '.SH DESCRIPTION',
    esc(cmd.description ?? ''),
  ]
  if (args.length > 0) {
    lines.push('.SH ARGUMENTS')
    for (const a of args) lines.push('.TP', `.B ${esc(a.name.toUpperCase())}`, esc(a.description ?? ''))
  }
  const flags = Object.values(cmd.flags ?? {}).filter((f) => !f.hidden)
  if (flags.length > 0) {
    lines.push('.SH OPTIONS')
    for (const f of flags.sort((a, b) => a.name.localeCompare(b.name))) {
      const value = f.type === 'option' ? ` ${f.name.toUpperCase()}` : ''
      let text = f.description ?? ''
      if (f.options) text += ` (one of: ${f.options.join(', ')})`
      if (f.default !== undefined && f.type === 'option') text += ` (default: ${f.default})`
      lines.push('.TP', `.B \\-\\-${esc(f.name)}${esc(value)}`, esc(text))
    }
  }
  const examples = (cmd.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command).replace(/<%= config.bin %>/g, 'kv'))
  if (examples.length > 0) {
    lines.push('.SH EXAMPLES')
    for (const e of examples) lines.push('.nf', esc(e), '.fi', '.PP')
  }
  lines.push('.SH SEE ALSO', 'kv help, and the other kv commands.')
  return `${lines.join('\n')}\n`
}

const wanted = new Map()
for (const [id, cmd] of Object.entries(manifest.commands)) {
  if (cmd.pluginType !== 'core') continue
  wanted.set(`kv-${id.replace(/:/g, '-')}.1`, page(id, cmd))
}

if (check) {
  const stale = []
  for (const [file, text] of wanted) {
    const path = join('man', file)
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(file)
  }
  const extra = existsSync('man') ? readdirSync('man').filter((f) => !wanted.has(f)) : []
  if (stale.length + extra.length > 0) {
    console.error(`man/ is out of date (${[...stale, ...extra].join(', ')}): run 'npm run man'`)
    process.exit(1)
  }
  process.exit(0)
}
rmSync('man', {recursive: true, force: true})
mkdirSync('man')
for (const [file, text] of wanted) writeFileSync(join('man', file), text)
console.log(`wrote ${wanted.size} man pages to man/`)
