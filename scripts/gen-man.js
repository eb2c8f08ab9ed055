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

// What every page says of exit statuses and the environment.
const EXIT_STATUS = [
  '.SH EXIT STATUS',
  '.TP',
  '.B 0',
  'Success; also when the reader of the output went away (kv ... | head).',
  '.TP',
  '.B 1',
  'An operation failed; the message names its status, e.g. NOT_FOUND_ERROR.',
  '.TP',
  '.B 2',
  'The command line was wrong: an unknown command or flag, a missing or extra argument, a flag value of the wrong type.',
]

function environment(id) {
  const lines = ['.SH ENVIRONMENT', '.TP', '.B NO_COLOR', 'When set and not empty, nothing is colored (as with \\-\\-no\\-color).']
  if (/^(remote|perf|serve)/.test(id))
    lines.push('.TP', '.B KV_ADDRESS', 'The default of \\-\\-address: where kv serve listens and kv remote and kv perf connect.')
  lines.push('.TP', '.B CI', 'When set, no progress lines or spinners are drawn, even on a terminal.')
  lines.push('.TP', '.B KV_DEBUG', 'When set, unexpected errors also print their stack trace.')
  return lines
}

/** A flag as the synopsis shows it: [--name VALUE], [--[no-]name] or [--name]. */
function synopsisFlag(f) {
  if (f.type === 'option') return `[\\-\\-${esc(f.name)} ${esc(f.name.toUpperCase())}]`
  return f.allowNo ? `[\\-\\-[no\\-]${esc(f.name)}]` : `[\\-\\-${esc(f.name)}]`
}

function page(id, cmd) {
  const name = `kv ${id.replace(/:/g, ' ')}`
  const args = Object.values(cmd.args ?? {})
  const visible = Object.values(cmd.flags ?? {})
    .filter((f) => !f.hidden)
    .sort((a, b) => a.name.localeCompare(b.name))
  const rest = cmd.strict === false ? ' ...' : ''
  const synopsis = `.B ${esc(name)}\n${visible.map(synopsisFlag).join(' ')} ${args.map((a) => (a.required ? esc(a.name.toUpperCase()) : `[${esc(a.name.toUpperCase())}]`)).join(' ')}${rest}`
  const lines = [
    `.TH "${name.toUpperCase().replace(/ /g, '-')}" 1 "" "kv ${pkg.version}" "kv manual"`,
    '.SH NAME',
    `${esc(name)} \\- ${esc(cmd.summary ?? cmd.description?.split('\n')[0] ?? '')}`,
    '.SH SYNOPSIS',
    synopsis,
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
  lines.push(...EXIT_STATUS, ...environment(id))
  lines.push('.SH SEE ALSO', 'kv(1), kv help, and the other kv commands.')
  return `${lines.join('\n')}\n`
}

/** kv(1): the overview, with every command and what it does. */
function overview(commands) {
  const lines = [
    `.TH "KV" 1 "" "kv ${pkg.version}" "kv manual"`,
    '.SH NAME',
    `kv \\- ${esc(pkg.description)}`,
    '.SH SYNOPSIS',
    '.B kv',
    'COMMAND [flags] [arguments]',
    '.SH DESCRIPTION',
    esc(
      'kv creates, inspects, fills, lists, rebuilds, restores, merges, exports and imports database files in the formats of Tkrzw (kv dbm), serves them over the Tkrzw-RPC protocol (kv serve), uses and administers a running server (kv remote), and measures both (kv dbm perf, kv perf). Every command has --help with examples, and a page of its own.',
    ),
    '.SH COMMANDS',
  ]
  for (const [id, cmd] of commands) {
    lines.push('.TP', `.B kv ${esc(id.replace(/:/g, ' '))}`, esc(cmd.summary ?? cmd.description?.split('\n')[0] ?? ''))
  }
  lines.push(
    '.SH DATABASES',
    esc(
      'A database argument is a path, or a configuration string path#name=value,... with the parameter names of Tkrzw. The class comes from the extension (.tkh hash, .tkmt tiny, .tkmb baby, .tkmc cache) or from dbm=. A path whose shard files exist (path-00000-of-00003 ...) opens the shards.',
    ),
  )
  lines.push(...EXIT_STATUS, ...environment('serve'))
  lines.push('.SH SEE ALSO', commands.map(([id]) => `kv-${id.replace(/:/g, '-')}(1)`).join(', '))
  return `${lines.join('\n')}\n`
}

const wanted = new Map()
const ours = Object.entries(manifest.commands)
  .filter(([, cmd]) => cmd.pluginType === 'core')
  .sort(([a], [b]) => a.localeCompare(b))
for (const [id, cmd] of ours) wanted.set(`kv-${id.replace(/:/g, '-')}.1`, page(id, cmd))
wanted.set('kv.1', overview(ours))

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
