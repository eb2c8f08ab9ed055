import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {ulogWriteFlags, writeLoggedChange} from '../../src/cli/ulog.js'

export default class UlogWriteclear extends KvCommand {
  static override description = 'Append a CLEAR record to an update log.'
  static override examples = ['<%= config.bin %> ulog writeclear --dbm_index 1 casket-ulog']
  static override args = {
    prefix: Args.string({description: 'the update log: its files are PREFIX.NNNNNNNNNN', required: true}),
  }
  static override flags = {...ulogWriteFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(UlogWriteclear)
    writeLoggedChange(args.prefix, {op: 'clear'}, flags)
  }
}
