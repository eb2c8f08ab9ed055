import {Args, Flags} from '@oclif/core'
import {argBytes, pairsOf, parseInteger, sxFlag} from '../../src/cli/args.js'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {asExpiring, nowSeconds} from '../../src/engine/expiry/expiring-dbm.js'
import {checkReducer, commonDbmFlags, openTarget, reducerFlag, withDbm} from '../../src/cli/dbm-options.js'

export default class DbmSet extends KvCommand {
  static override description = 'Store a record; or append to it, or add to its integer value.'
  static override examples = [
    '<%= config.bin %> dbm set casket.tkmt apple red',
    '<%= config.bin %> dbm set --no_overwrite casket.tkmt apple green',
    '<%= config.bin %> dbm set --append , casket.tkmt fruits cherry',
    '<%= config.bin %> dbm set --incr 0 casket.tkmt counter 5',
    '<%= config.bin %> dbm set --multi casket.tkmt k1 v1 k2 v2',
    '<%= config.bin %> dbm set --sx casket.tkmt 00ff 0a0d',
    '<%= config.bin %> dbm set --reducer last casket.tks apple red',
    '<%= config.bin %> dbm set --ttl 3600 "sessions.tkh#expiration=true" session:42 alice',
  ]
  static override strict = false
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    key: Args.string({description: 'the key', required: true}),
    value: Args.string({description: 'the value (with --incr, the amount to add)', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    ...sxFlag,
    no_overwrite: Flags.boolean({description: 'fail if the key exists'}),
    append: Flags.string({description: 'append the value after this delimiter to an existing value'}),
    incr: Flags.string({description: 'treat the value as an integer to add; the argument is the initial value'}),
    multi: Flags.boolean({description: 'take key value pairs and store them with the multi-record operation'}),
    reducer: reducerFlag,
    ttl: Flags.integer({description: 'seconds until the record expires (a database opened with expiration=true)', min: 1}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(DbmSet)
    const words = (argv as string[]).slice(1)
    if (!flags.multi) this.refuseExtraArgs(words, 2, 'with --multi, set takes key value pairs; quote a value with spaces')
    const pairs = flags.multi ? pairsOf(words, flags.sx) : [[argBytes(args.key, flags.sx, 'key'), argBytes(args.value, flags.sx, 'value')] as [Buffer, Buffer]]
    if (flags.ttl !== undefined && (flags.multi || flags.append !== undefined || flags.incr !== undefined))
      throw new UsageError('--ttl goes with a plain set of one record')
    let increment: bigint | undefined
    let initial = 0n
    if (flags.incr !== undefined) {
      increment = parseInteger(args.value, 'the value')
      initial = parseInteger(flags.incr, '--incr')
    }
    const result = await withDbm(
      openTarget(args.file, {dbm: flags.dbm, params: flags.params, no_wait: flags.no_wait, no_lock: flags.no_lock}, true, {create: true}),
      flags.sync_hard,
      (dbm) => {
        const reducer = checkReducer(dbm, flags.reducer)
        let result: bigint | undefined
        if (increment !== undefined) result = dbm.increment(pairs[0][0], increment, initial)
        else if (flags.append !== undefined) dbm.appendMulti(pairs, flags.append)
        else if (flags.multi) dbm.setMulti(pairs, !flags.no_overwrite)
        else if (flags.ttl !== undefined)
          asExpiring(dbm, args.file).withExpiry(nowSeconds() + flags.ttl, () => dbm.set(pairs[0][0], pairs[0][1], !flags.no_overwrite))
        else dbm.set(pairs[0][0], pairs[0][1], !flags.no_overwrite)
        // A skip list sees the record at its synchronize, where the reducer settles the key's values.
        if (reducer) dbm.synchronize(false, {reducer})
        return result
      },
    )
    if (result !== undefined) await this.write(`${result}\n`)
  }
}
