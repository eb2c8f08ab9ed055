import {Chalk, type ChalkInstance} from 'chalk'

/**
 * Color for people at a terminal, never in pipes or files: on when the stream is a
 * terminal, off with NO_COLOR set (https://no-color.org), with --no-color, or where the
 * terminal cannot show it. Each stream has its own painter, so stdout can be a pipe while
 * stderr is a terminal.
 */
let turnedOff = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''

/** Turns color off for the rest of the process (the --no-color flag). */
export function turnColorOff(): void {
  turnedOff = true
}

/** The painter for a stream: colors when that stream is a terminal that shows them, plain text otherwise. */
export function painter(stream: NodeJS.WriteStream = process.stdout): ChalkInstance {
  if (turnedOff || stream.isTTY !== true) return new Chalk({level: 0})
  const depth = stream.getColorDepth?.() ?? 1
  return new Chalk({level: depth >= 24 ? 3 : depth >= 8 ? 2 : depth >= 4 ? 1 : 0})
}

/** Whether a stream gets colors. */
export function colorOn(stream: NodeJS.WriteStream = process.stdout): boolean {
  return painter(stream).level > 0
}

/** A status name (`NOT_FOUND_ERROR`) at the head of an error line, in red on a terminal. */
export function paintError(message: string, stream: NodeJS.WriteStream = process.stderr): string {
  const paint = painter(stream)
  const match = /^([A-Z_]+_ERROR)(:.*)?$/s.exec(message)
  return match ? `${paint.red.bold(match[1])}${match[2] ?? ''}` : message
}

/** A verdict line of a benchmark: green when it holds, red when it fails. */
export function paintVerdict(line: string, good: boolean, stream: NodeJS.WriteStream = process.stdout): string {
  const paint = painter(stream)
  return good ? paint.green(line) : paint.red.bold(line)
}
