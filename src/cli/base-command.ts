import {Command, Errors, Flags} from '@oclif/core'
import {paintError, turnColorOff} from './color.js'
import {Code, StatusError, codeName} from '../engine/status.js'

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

  /** Whether the command printed its JSON document already (a partial result before a failure). */
  private jsonWritten = false

  public override async init(): Promise<void> {
    endQuietlyOnClosedPipe()
    // Known before parsing, so that even a usage error comes out plain.
    if (this.argv.includes('--no-color')) turnColorOff()
    await super.init()
  }

  protected override async catch(error: Error & {exitCode?: number}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    // The reader went away: a normal end, as for any Unix filter.
    if (error instanceof OutputClosed || (error as NodeJS.ErrnoException).code === 'EPIPE') {
      process.exitCode = 0
      return
    }
    const usage = error instanceof UsageError || isUsageError(error)
    if (!usage && !(error instanceof StatusError) && process.env.KV_DEBUG) process.stderr.write(`${error.stack}\n`)
    // Usage messages are oclif's, spread over lines; other messages may carry keys or paths
    // with line breaks of their own, which stay visible as escapes.
    const text = usage ? oneLine(error.message) : error.message.replace(/\r/g, '\\r').replace(/\n/g, '\\n')
    process.stderr.write(`kv: ${paintError(text)}\n`)
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILURE
    // A script that asked for JSON reads its stdout: the failure is there too, as JSON.
    // (Unless it printed its partial result already: one document per run.)
    if (this.jsonEnabled() && !this.jsonWritten) this.report(`${JSON.stringify({error: errorJson(error, usage, text)}, null, 2)}\n`)
  }

  /**
   * Writes data to stdout, waiting when the pipe is full. Once the reader has gone away it
   * throws OutputClosed, which ends the command quietly with status 0 (the database it
   * worked on is closed on the way out).
   */
  protected async write(text: string | Buffer): Promise<void> {
    if (output.closed) throw new OutputClosed()
    let flowing: boolean
    try {
      flowing = process.stdout.write(text)
    } catch (error) {
      // Files are written synchronously: their errors come here, and as an event too.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') throw new OutputClosed()
      throw new StatusError(Code.SYSTEM_ERROR, `cannot write the standard output: ${(error as Error).message}`)
    }
    // A stream that failed already will neither drain nor fail again: do not wait for it.
    if (!flowing && !output.closed && !process.stdout.destroyed) {
      await new Promise((resolve) => {
        process.stdout.once('drain', resolve)
        process.stdout.once('error', resolve)
        process.stdout.once('close', resolve)
      })
    }
    if (output.closed || process.stdout.destroyed) {
      output.closed = true
      throw new OutputClosed()
    }
  }

  /**
   * Writes a report of work that must be done whether anyone reads it or not (a rebuild's
   * statistics): a reader that went away is ignored rather than ending the work.
   */
  protected report(text: string): void {
    if (output.closed) return
    try {
      process.stdout.write(text)
    } catch (error) {
      // A pipe is written synchronously: a reader that went away shows here, as EPIPE.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error
      output.closed = true
    }
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
    this.jsonWritten = true
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

/** A failure as --json prints it: the status name, the message without it, and the exit status. */
function errorJson(error: Error, usage: boolean, text: string): {status: string; message: string; exit: number} {
  if (error instanceof StatusError) return {status: codeName(error.code), message: error.detail, exit: EXIT_FAILURE}
  const match = /^([A-Z_]+_ERROR): (.*)$/s.exec(text)
  if (match) return {status: match[1], message: match[2], exit: usage ? EXIT_USAGE : EXIT_FAILURE}
  return {status: usage ? 'INVALID_ARGUMENT_ERROR' : 'UNKNOWN_ERROR', message: text, exit: usage ? EXIT_USAGE : EXIT_FAILURE}
}

/** Thrown by KvCommand.write once the reader of stdout has gone away. */
export class OutputClosed extends Error {
  constructor() {
    super('the reader of the output went away')
  }
}

const output = {watched: false, closed: false}

/**
 * A reader that goes away (`kv ... | head -1`) is a normal end, as for any Unix filter:
 * data commands stop at their next write with status 0, instead of failing with EPIPE or
 * waiting forever for a pipe that will never drain. Any other failure to write stdout (a
 * full disk) is one line and status 1.
 */
function endQuietlyOnClosedPipe(): void {
  if (output.watched) return
  output.watched = true
  // This handler decides alone (oclif's own rethrows anything but EPIPE, as a stack trace).
  process.stdout.removeAllListeners('error')
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
      output.closed = true
      return
    }
    process.stderr.write(`kv: SYSTEM_ERROR: cannot write the standard output: ${error.message}\n`)
    process.exit(1)
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
