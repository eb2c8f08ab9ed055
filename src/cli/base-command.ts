import {Command, Errors, Flags} from '@oclif/core'
import {paintError, turnColorOff} from './color.js'
import {StatusError} from '../engine/status.js'

/** Exit status 1: an operation failed. */
export const EXIT_FAILURE = 1
/** Exit status 2: the command line was wrong. */
export const EXIT_USAGE = 2

/**
 * The base of every kv command: expected failures become one line on stderr and an exit
 * status (1 for a failed operation, 2 for bad usage), never a stack trace.
 */
export abstract class KvCommand extends Command {
  static override baseFlags = {
    color: Flags.boolean({
      description: 'color on a terminal (the default); --no-color, or NO_COLOR in the environment, turns it off',
      allowNo: true,
      helpGroup: 'GLOBAL',
    }),
  }

  public override async init(): Promise<void> {
    endQuietlyOnClosedPipe()
    // Known before parsing, so that even a usage error comes out plain.
    if (this.argv.includes('--no-color')) turnColorOff()
    await super.init()
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    // A reader that went away while a synchronous write was under way: a normal end.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0)
    const usage = error instanceof UsageError || isUsageError(error)
    if (!usage && !(error instanceof StatusError) && process.env.KV_DEBUG) process.stderr.write(`${error.stack}\n`)
    process.stderr.write(`kv: ${paintError(oneLine(error.message))}\n`)
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILURE
  }

  /** Writes data to stdout, waiting when the pipe is full. */
  protected async write(text: string | Buffer): Promise<void> {
    if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve))
  }

  /**
   * Refuses arguments beyond the `count` a command takes one at a time: a forgotten
   * `--multi` or a value that needed quoting must not be half done.
   */
  protected refuseExtraArgs(argv: unknown[], count: number, hint = ''): void {
    if (argv.length <= count) return
    const extra = argv.slice(count).map((word) => JSON.stringify(word))
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}${hint ? ` (${hint})` : ''}`)
  }

  /** Prints data as --json does, for commands that must still fail afterwards (some keys missing). */
  protected async writeJson(data: unknown): Promise<void> {
    await this.write(`${JSON.stringify(data, null, 2)}\n`)
  }

  /** A message for the person at the terminal: stderr, so that stdout stays data. */
  protected note(text: string): void {
    process.stderr.write(`${text}\n`)
  }

  /** Writes a binary string (one character per byte) as its bytes. */
  protected async writeBinary(text: string): Promise<void> {
    await this.write(Buffer.from(text, 'latin1'))
  }
}

let pipeWatched = false

/**
 * A reader that goes away (`kv ... | head -1`) is a normal end, as for any Unix filter: the
 * command stops at once with status 0 instead of failing with EPIPE or waiting forever for
 * a pipe that will never drain.
 */
function endQuietlyOnClosedPipe(): void {
  if (pipeWatched) return
  pipeWatched = true
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
}

/**
 * A message on one line, whole: oclif spreads a usage error over several lines (the
 * missing arguments one per line, the reason a flag failed to parse on the next).
 */
export function oneLine(message: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim().replace(/\s+/g, ' '))
    .filter((line) => line !== '' && !/^See more help with/.test(line))
  if (lines.length <= 1) return lines[0] ?? ''
  const [first, ...rest] = lines
  return `${first.replace(/:?\s*$/, ':')} ${rest.join('; ')}`
}

/** A command line that cannot be carried out as written. */
export class UsageError extends Error {}

function isUsageError(error: Error): boolean {
  // Flag and argument parsing errors from oclif.
  const name = error.constructor?.name ?? ''
  return /Parse|Flag|Arg|Required|Unexpected|Nonexistent|Validation/.test(name) || (error as {oclif?: {exit?: number}}).oclif?.exit === 2
}
