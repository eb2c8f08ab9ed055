import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'

export default class Remove extends KvCommand {
  static override description = 'Remove a record.'
  static override examples = ['<%= config.bin %> dbm remove casket.tkmt apple']
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    key: Args.string({description: 'the key', required: true}),
  }
  static override flags = {...commonDbmFlags, multi: Flags.boolean({description: 'use the multi-record operation'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Remove)
    await withDbm(openTarget(args.file, flags, true), flags.sync_hard, (dbm) => (flags.multi ? dbm.removeMulti([args.key]) : dbm.remove(args.key)))
  }
}
