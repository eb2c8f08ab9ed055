import {Command, Errors} from '@oclif/core'
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
  protected override async catch(error: Error & {exitCode?: number}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    const usage = error instanceof UsageError || isUsageError(error)
    if (!usage && !(error instanceof StatusError) && process.env.KV_DEBUG) process.stderr.write(`${error.stack}\n`)
    process.stderr.write(`kv: ${error.message.split('\n')[0]}\n`)
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILURE
  }

  /** Writes data to stdout, waiting when the pipe is full. */
  protected async write(text: string | Buffer): Promise<void> {
    if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve))
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

/** A command line that cannot be carried out as written. */
export class UsageError extends Error {}

function isUsageError(error: Error): boolean {
  // Flag and argument parsing errors from oclif.
  const name = error.constructor?.name ?? ''
  return /Parse|Flag|Arg|Required|Unexpected|Nonexistent|Validation/.test(name) || (error as {oclif?: {exit?: number}}).oclif?.exit === 2
}
