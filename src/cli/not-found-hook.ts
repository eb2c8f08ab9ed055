import type {Hook} from '@oclif/core'

/** Edits (insertions, deletions, substitutions, swaps of neighbours) from one word to another. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({length: a.length + 1}, (_, i) => Array.from({length: b.length + 1}, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The command nearest to a mistyped one, if one is near enough to be what was meant. */
export function nearestCommand(typed: string, commands: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const id of commands) {
    const distance = editDistance(typed, id)
    if (distance < bestDistance) {
      best = id
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(typed.length / 4)) ? best : undefined
}

/**
 * An unknown command gets the one-line error every kv usage error has, with the nearest
 * command suggested, and exit status 2.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const typed = options.id.replaceAll(':', ' ')
  const ids = options.config.commandIDs.map((id) => id.replaceAll(':', ' '))
  const nearest = nearestCommand(typed, ids)
  process.stderr.write(`kv: no such command: ${typed}${nearest ? ` (did you mean "${nearest}"?)` : ''}; see kv --help\n`)
  process.exit(2)
}

export default hook
