import Table from 'cli-table3'

/**
 * Name-value pairs for people (a table on a terminal) or programs (`name\tvalue` lines,
 * or one JSON object).
 */
export function printAttributes(pairs: [string, string][], json: boolean, tty = process.stdout.isTTY === true): string {
  if (json) return `${JSON.stringify(Object.fromEntries(pairs), null, 2)}\n`
  if (!tty) return pairs.map(([name, value]) => `${name}\t${value}\n`).join('')
  const table = new Table({head: ['attribute', 'value'], style: {head: process.env.NO_COLOR ? [] : ['cyan']}})
  for (const pair of pairs) table.push(pair)
  return `${table.toString()}\n`
}
