import {Args} from '@oclif/core'
import {argBytes, sxFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {ulogWriteFlags, writeLoggedChange} from '../../src/cli/ulog.js'

export default class UlogWriteset extends KvCommand {
  static override description = 'Append a SET record to an update log (files PREFIX.0000000000, PREFIX.0000000001 ...).'
  static override examples = [
    '<%= config.bin %> ulog writeset casket-ulog japan tokyo',
    '<%= config.bin %> ulog writeset --timestamp 1700000000000 --server_id 2 --dbm_index 1 casket-ulog key value',
  ]
  static override args = {
    prefix: Args.string({description: 'the update log: its files are PREFIX.NNNNNNNNNN', required: true}),
    key: Args.string({description: 'the key', required: true}),
    value: Args.string({description: 'the value', required: true}),
  }
  static override flags = {...ulogWriteFlags, ...sxFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(UlogWriteset)
    writeLoggedChange(args.prefix, {op: 'set', key: argBytes(args.key, flags.sx, 'key'), value: argBytes(args.value, flags.sx, 'value')}, flags)
  }
}
