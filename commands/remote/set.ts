import {Args, Flags} from '@oclif/core'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'

export default class Set extends KvCommand {
  static override description = 'Store a record on the server, append to it, or add to a counter.'
  static override examples = [
    '<%= config.bin %> remote set apple red',
    '<%= config.bin %> remote set --no_overwrite apple green',
    '<%= config.bin %> remote set --append , fruits cherry',
    '<%= config.bin %> remote set --incr 0 counter 5',
    '<%= config.bin %> remote set --multi k1 v1 k2 v2',
  ]
  static override strict = false
  static override args = {
    key: Args.string({description: 'the key', required: true}),
    value: Args.string({description: 'the value (with --incr: the amount to add)', required: true}),
  }
  static override flags = {
    ...remoteFlags,
    no_overwrite: Flags.boolean({description: 'fail if the key exists'}),
    append: Flags.string({description: 'append the value after this delimiter'}),
    incr: Flags.string({description: 'add the value to an 8-byte integer starting at this, and print the result'}),
    multi: Flags.boolean({description: 'take key value pairs'}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Set)
    const words = argv as string[]
    if (flags.multi && words.length % 2 !== 0) throw new UsageError('--multi takes key value pairs')
    const pairs: [string, string][] = flags.multi ? [] : [[args.key, args.value]]
    if (flags.multi) for (let i = 0; i < words.length; i += 2) pairs.push([words[i], words[i + 1]])
    const printed = await withRemote(flags, async (db) => {
      if (flags.incr !== undefined) return String(await db.increment(args.key, parseInteger(args.value), parseInteger(flags.incr)))
      if (flags.append !== undefined) {
        if (flags.multi) await db.appendMulti(pairs, flags.append)
        else await db.append(args.key, args.value, flags.append)
      } else if (flags.multi) {
        await db.setMulti(pairs, !flags.no_overwrite)
      } else {
        await db.set(args.key, args.value, !flags.no_overwrite)
      }
      return undefined
    })
    if (printed !== undefined) await this.write(`${printed}\n`)
  }
}

function parseInteger(text: string): bigint {
  if (!/^[-+]?\d+$/.test(text.trim())) throw new UsageError(`not an integer: "${text}"`)
  return BigInt(text.trim())
}
