import {Args, Flags} from '@oclif/core'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'

export default class Set extends KvCommand {
  static override description = 'Store a record; or append to it, or add to its integer value.'
  static override examples = [
    '<%= config.bin %> dbm set casket.tkmt apple red',
    '<%= config.bin %> dbm set --no_overwrite casket.tkmt apple green',
    '<%= config.bin %> dbm set --append , casket.tkmt fruits cherry',
    '<%= config.bin %> dbm set --incr 0 casket.tkmt counter 5',
  ]
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    key: Args.string({description: 'the key', required: true}),
    value: Args.string({description: 'the value (with --incr, the amount to add)', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    no_overwrite: Flags.boolean({description: 'fail if the key exists'}),
    append: Flags.string({description: 'append the value after this delimiter to an existing value'}),
    incr: Flags.string({description: 'treat the value as an integer to add; the argument is the initial value'}),
    multi: Flags.boolean({description: 'use the multi-record operation'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Set)
    let increment: bigint | undefined
    let initial = 0n
    if (flags.incr !== undefined) {
      increment = parseInteger(args.value, 'the value')
      initial = parseInteger(flags.incr, '--incr')
    }
    const result = await withDbm(openTarget(args.file, {dbm: flags.dbm, params: flags.params}, true), flags.sync_hard, (dbm) => {
      if (increment !== undefined) return dbm.increment(args.key, increment, initial)
      if (flags.append !== undefined) dbm.append(args.key, args.value, flags.append)
      else if (flags.multi) dbm.setMulti([[args.key, args.value]], !flags.no_overwrite)
      else dbm.set(args.key, args.value, !flags.no_overwrite)
      return undefined
    })
    if (result !== undefined) await this.write(`${result}\n`)
  }
}

function parseInteger(text: string, what: string): bigint {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new UsageError(`${what} is not an integer: "${text}"`)
  const value = BigInt(text.trim())
  if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new UsageError(`${what} is out of the 64-bit range: "${text}"`)
  return value
}
