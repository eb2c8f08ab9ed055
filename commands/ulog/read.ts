import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {readLoggedChanges, ulogReadFlags} from '../../src/cli/ulog.js'

export default class UlogRead extends KvCommand {
  static override description = `Print the records of an update log as TSV: timestamp, server ID, database index, then SET key value, REMOVE key or CLEAR.
Reads while a server writes the log, without waiting for it or locking anything.`
  static override examples = [
    '<%= config.bin %> ulog read casket-ulog',
    '<%= config.bin %> ulog read --timestamp -1h --items 1000 --escape casket-ulog',
    '<%= config.bin %> ulog read --server_id 2 --dbm_index 0 casket-ulog',
  ]
  static override args = {
    prefix: Args.string({description: 'the update log: its files are PREFIX.NNNNNNNNNN', required: true}),
  }
  static override flags = {...ulogReadFlags}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(UlogRead)
    await readLoggedChanges(args.prefix, flags, (line) => this.write(Buffer.from(line, 'latin1')))
  }
}
