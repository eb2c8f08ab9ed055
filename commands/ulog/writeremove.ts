import {Args} from '@oclif/core'
import {argBytes, sxFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {ulogWriteFlags, writeLoggedChange} from '../../src/cli/ulog.js'

export default class UlogWriteremove extends KvCommand {
  static override description = 'Append a REMOVE record to an update log.'
  static override examples = ['<%= config.bin %> ulog writeremove casket-ulog japan']
  static override args = {
    prefix: Args.string({description: 'the update log: its files are PREFIX.NNNNNNNNNN', required: true}),
    key: Args.string({description: 'the key', required: true}),
  }
  static override flags = {...ulogWriteFlags, ...sxFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(UlogWriteremove)
    writeLoggedChange(args.prefix, {op: 'remove', key: argBytes(args.key, flags.sx, 'key')}, flags)
  }
}
