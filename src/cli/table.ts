import Table from 'cli-table3'
import {colorOn} from './color.js'

/** Name-value pairs for people (a table on a terminal) or programs (`name\tvalue` lines). */
export function printAttributes(pairs: [string, string][], tty = process.stdout.isTTY === true): string {
  if (!tty) return pairs.map(([name, value]) => `${name}\t${value}\n`).join('')
  const color = colorOn(process.stdout)
  // As wide as the terminal at most: long values wrap within their column.
  const nameWidth = Math.max(9, ...pairs.map(([name]) => name.length)) + 2
  const widest = Math.max(5, ...pairs.map(([, value]) => value.length)) + 2
  const room = Math.max(12, (process.stdout.columns ?? 80) - nameWidth - 3)
  const table = new Table({
    head: ['attribute', 'value'],
    colWidths: [nameWidth, Math.min(widest, room)],
    wordWrap: true,
    wrapOnWordBoundary: false,
    style: {head: color ? ['cyan'] : [], border: color ? ['grey'] : []},
  })
  for (const pair of pairs) table.push(pair)
  return `${table.toString()}\n`
}
