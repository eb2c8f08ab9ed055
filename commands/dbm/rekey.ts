import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'

export default class DbmRekey extends KvCommand {
  static override description = 'Change the key of a record.'
  static override examples = ['<%= config.bin %> dbm rekey casket.tkmt old-name new-name']
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    old_key: Args.string({description: 'the current key', required: true}),
    new_key: Args.string({description: 'the new key', required: true}),
  }
  static override flags = {...commonDbmFlags, no_overwrite: Flags.boolean({description: 'fail if the new key exists'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmRekey)
    await withDbm(openTarget(args.file, flags, true), flags.sync_hard, (dbm) => dbm.rekey(args.old_key, args.new_key, !flags.no_overwrite))
  }
}
