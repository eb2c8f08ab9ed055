import {Args, Flags} from '@oclif/core'
import {argBytes, pairsOf, parseInteger, sxFlag} from '../../src/cli/args.js'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'

export default class RemoteSet extends KvCommand {
  static override description = 'Store a record on the server, append to it, or add to a counter.'
  static override examples = [
    '<%= config.bin %> remote set apple red',
    '<%= config.bin %> remote set --no_overwrite apple green',
    '<%= config.bin %> remote set --append , fruits cherry',
    '<%= config.bin %> remote set --incr 0 counter 5',
    '<%= config.bin %> remote set --multi k1 v1 k2 v2',
    '<%= config.bin %> remote set --ttl 3600 session:42 alice',
  ]
  static override strict = false
  static override args = {
    key: Args.string({description: 'the key', required: true}),
    value: Args.string({description: 'the value (with --incr: the amount to add)', required: true}),
  }
  static override flags = {
    ...remoteFlags,
    ...sxFlag,
    no_overwrite: Flags.boolean({description: 'fail if the key exists'}),
    append: Flags.string({description: 'append the value after this delimiter'}),
    incr: Flags.string({description: 'add the value to an 8-byte integer starting at this, and print the result'}),
    multi: Flags.boolean({description: 'take key value pairs'}),
    ttl: Flags.integer({
      description: 'seconds until the record expires (a kv server, on a database opened with expiration=true); a plain set otherwise keeps no expiry',
      min: 1,
    }),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(RemoteSet)
    const words = argv as string[]
    if (!flags.multi) this.refuseExtraArgs(words, 2, 'with --multi, set takes key value pairs; quote a value with spaces')
    if (flags.ttl !== undefined && (flags.append !== undefined || flags.incr !== undefined)) {
      throw new UsageError('--ttl goes with a plain set (of one record, or of several with --multi)')
    }
    const pairs = flags.multi ? pairsOf(words, flags.sx) : [[argBytes(args.key, flags.sx, 'key'), argBytes(args.value, flags.sx, 'value')] as [Buffer, Buffer]]
    const printed = await withRemote(flags, async (db) => {
      if (flags.incr !== undefined) return String(await db.increment(pairs[0][0], parseInteger(args.value, 'the value'), parseInteger(flags.incr, '--incr')))
      if (flags.append !== undefined) {
        if (flags.multi) await db.appendMulti(pairs, flags.append)
        else await db.append(pairs[0][0], pairs[0][1], flags.append)
      } else if (flags.multi) {
        await db.setMulti(pairs, !flags.no_overwrite, flags.ttl ?? 0)
      } else {
        await db.set(pairs[0][0], pairs[0][1], !flags.no_overwrite, flags.ttl ?? 0)
      }
      return undefined
    })
    if (printed !== undefined) await this.write(`${printed}\n`)
  }
}
