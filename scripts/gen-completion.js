#!/usr/bin/env node
// Writes completion/kv.bash, bash completion for kv, from the oclif manifest (the command
// definitions): subcommands, each command's flags, the values of flags that take one of a
// list, and file names for arguments and for flags that take a path. With --check, writes
// nothing and fails if the file differs from what it would write.
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'

const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8'))
const check = process.argv.includes('--check')
const PATH_FLAGS = new Set(['path', 'copy', 'log_file', 'pid_file'])
const quote = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`

const commands = Object.entries(manifest.commands)
  .filter(([, cmd]) => cmd.pluginType === 'core')
  .sort(([a], [b]) => a.localeCompare(b))

const lines = [
  '# bash completion for kv: source this file (from ~/.bashrc, or /etc/bash_completion.d/).',
  '# Generated from the command definitions by scripts/gen-completion.js; do not edit.',
  '',
  '_kv_commands=(',
  ...commands.map(([id]) => `  ${quote(id.replace(/:/g, ' '))}`),
  ')',
  '',
  '# The flags of a command.',
  '_kv_flags() {',
  '  case "$1" in',
]
for (const [id, cmd] of commands) {
  const flags = Object.values(cmd.flags ?? {}).filter((flag) => !flag.hidden)
  const names = flags.flatMap((flag) => (flag.allowNo ? [`--${flag.name}`, `--no-${flag.name}`] : [`--${flag.name}`]))
  lines.push(`    ${quote(id.replace(/:/g, ' '))}) echo ${quote(names.join(' '))} ;;`)
}
lines.push('  esac', '}', '', '# Whether a flag of a command takes a value.', '_kv_takes_value() {', '  case "$1 $2" in')
for (const [id, cmd] of commands) {
  const takers = Object.values(cmd.flags ?? {}).filter((flag) => flag.type === 'option')
  if (takers.length > 0) lines.push(`    ${takers.map((flag) => quote(`${id.replace(/:/g, ' ')} --${flag.name}`)).join('|')}) return 0 ;;`)
}
lines.push('    *) return 1 ;;', '  esac', '}', '', '_kv_flag_values() {', '  case "$1 $2" in')
for (const [id, cmd] of commands) {
  for (const flag of Object.values(cmd.flags ?? {})) {
    if (flag.type !== 'option') continue
    // Values from a list, file names for flags that take a path, nothing for free text.
    const values = flag.options ? flag.options.join(' ') : PATH_FLAGS.has(flag.name) ? '<file>' : ''
    lines.push(`    ${quote(`${id.replace(/:/g, ' ')} --${flag.name}`)}) echo ${quote(values)} ;;`)
  }
}
lines.push(
  "    *) echo '' ;;",
  '  esac',
  '}',
  '',
  '_kv_complete() {',
  '  # File names may hold spaces: split completions on line breaks only.',
  "  local IFS=$'\\n'",
  '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
  '  local words=("${COMP_WORDS[@]:1:COMP_CWORD-1}") command="" typed="" candidate',
  '  # The command is the longest list of leading words that names one.',
  '  local i',
  '  for ((i = 0; i < ${#words[@]}; i++)); do',
  '    [[ "${words[i]}" == -* ]] && break',
  '    typed="${typed:+$typed }${words[i]}"',
  '    for candidate in "${_kv_commands[@]}"; do [[ "$candidate" == "$typed" ]] && command="$typed"; done',
  '  done',
  '  if [[ -z "$command" ]]; then',
  '    # Still choosing the command: the next words of those that start as typed.',
  '    local next=()',
  '    for candidate in "${_kv_commands[@]}"; do',
  '      if [[ -z "$typed" ]]; then next+=("${candidate%% *}")',
  '      elif [[ "$candidate" == "$typed "* ]]; then local rest="${candidate#"$typed "}"; next+=("${rest%% *}"); fi',
  '    done',
  '    COMPREPLY=($(compgen -W "$(printf "%s\\n" ${next[@]+"${next[@]}"} | sort -u)" -- "$cur"))',
  '    return',
  '  fi',
  '  if [[ "$prev" == --* ]]; then',
  '    local values',
  '    values="$(_kv_flag_values "$command" "$prev")"',
  '    if [[ "$values" == "<file>" ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi',
  '    if [[ -n "$values" ]]; then COMPREPLY=($(compgen -W "${values// /$\'\\n\'}" -- "$cur")); return; fi',
  '    # A flag that takes free text: nothing to offer.',
  '    if _kv_takes_value "$command" "$prev"; then return; fi',
  '  fi',
  '  if [[ "$cur" == -* ]]; then',
  '    local flags',
  '    flags="$(_kv_flags "$command")"',
  '    COMPREPLY=($(compgen -W "${flags// /$\'\\n\'}" -- "$cur"))',
  '    return',
  '  fi',
  '  # An argument: database files and record files.',
  '  COMPREPLY=($(compgen -f -- "$cur"))',
  '}',
  '',
  'complete -o filenames -F _kv_complete kv',
  '',
)
const text = lines.join('\n')
if (check) {
  if (!existsSync('completion/kv.bash') || readFileSync('completion/kv.bash', 'utf8') !== text) {
    console.error("completion/kv.bash is out of date: run 'npm run man'")
    process.exit(1)
  }
  process.exit(0)
}
mkdirSync('completion', {recursive: true})
writeFileSync('completion/kv.bash', text)
console.log('wrote completion/kv.bash')
