import {Flags} from '@oclif/core'
import {secondsFlag} from '../../src/cli/args.js'
import {withSpinner} from '../../src/cli/progress.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {tsvField} from '../../src/cli/escape.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {ANY_VALUE} from '../../src/engine/dbm.js'

export default class RemoteQueue extends KvCommand {
  static override description = `Use a database on the server as a queue: push the values given, or pop one.

With values, each is stored under a key made from the current time (PushLast). Without,
the first record is removed and its value printed (PopFirst); --retry waits that many
seconds for one to arrive, and --notify on the pushing side wakes such waiters at once.
Use an ordered database (.tkmb, .tkt, .tks) for first-in first-out order.
--compex KEY keeps the queue in one record instead, changed by compare-exchange.`
  static override examples = [
    '<%= config.bin %> remote queue --notify job-1 job-2',
    '<%= config.bin %> remote queue --retry 30',
    '<%= config.bin %> remote queue --key --retry 5',
    '<%= config.bin %> remote queue --compex jobs --notify job-3',
  ]
  static override strict = false
  static override flags = {
    ...remoteFlags,
    retry: secondsFlag({description: 'seconds to wait for a record when popping', default: 0}),
    notify: Flags.boolean({description: 'wake the callers waiting for records'}),
    key: Flags.boolean({description: 'also print the key, as the time it encodes'}),
    compex: Flags.string({description: 'keep the queue in this one record, as lines'}),
    escape: Flags.boolean({description: 'escape the output C-style'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RemoteQueue)
    const values = argv as string[]
    const retry = flags.retry
    const out = await withRemote(flags, async (db) => {
      if (flags.compex !== undefined) return compexQueue(db, flags.compex, values, retry, flags.notify)
      if (values.length > 0) {
        for (const value of values) await db.pushLast(value, -1, flags.notify)
        return []
      }
      const record = retry > 0 ? await withSpinner('waiting for a record', () => db.popFirst(retry)) : await db.popFirst(retry)
      if (!record) throw new StatusError(Code.NOT_FOUND_ERROR, 'the queue is empty')
      return [record]
    })
    for (const [key, value] of out) {
      const shown = tsvField(value, flags.escape)
      if (flags.key && key.length === 8) await this.writeBinary(`${(Number(key.readBigUInt64BE(0)) / 1e8).toFixed(6)}\t${shown}\n`)
      else await this.writeBinary(`${shown}\n`)
    }
  }
}

/** A queue in one record: values pushed as lines at its end, popped from its start, by compare-exchange. */
async function compexQueue(
  db: import('../../src/client/remote-dbm.js').RemoteDBM,
  key: string,
  values: string[],
  retry: number,
  notify: boolean,
): Promise<[Buffer, Buffer][]> {
  for (;;) {
    const current = (await db.get(key)) ?? Buffer.alloc(0)
    const lines = current.length === 0 ? [] : current.toString('latin1').split('\n')
    try {
      if (values.length > 0) {
        const next = Buffer.from([...lines, ...values.map((v) => Buffer.from(v).toString('latin1'))].join('\n'), 'latin1')
        await db.compareExchange(key, current.length === 0 ? null : current, next, {notify})
        return []
      }
      if (lines.length === 0) {
        // Wait for a push to change the record, then look again.
        await db.compareExchange(key, ANY_VALUE, ANY_VALUE, {retryWait: retry}).catch(() => undefined)
        const after = await db.get(key)
        if (!after || after.length === 0) throw new StatusError(Code.NOT_FOUND_ERROR, 'the queue is empty')
        continue
      }
      const [first, ...rest] = lines
      await db.compareExchange(key, current, rest.length === 0 ? null : Buffer.from(rest.join('\n'), 'latin1'))
      return [[Buffer.from(key), Buffer.from(first, 'latin1')]]
    } catch (error) {
      // Another client changed the record first: read it again.
      if (error instanceof StatusError && error.code === Code.INFEASIBLE_ERROR) continue
      throw error
    }
  }
}
