import {Args, Flags} from '@oclif/core'
import {argBytes, sxFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'

export default class DbmRemove extends KvCommand {
  static override description = 'Remove a record (with --multi, several).'
  static override examples = ['<%= config.bin %> dbm remove casket.tkmt apple', '<%= config.bin %> dbm remove --multi casket.tkmt a b c']
  static override strict = false
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    key: Args.string({description: 'the key', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    ...sxFlag,
    multi: Flags.boolean({description: 'take several keys and remove them with the multi-record operation'}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(DbmRemove)
    const words = (argv as string[]).slice(1)
    if (!flags.multi) this.refuseExtraArgs(words, 1, 'with --multi, remove takes several keys')
    const keys = words.map((word) => argBytes(word, flags.sx, 'key'))
    await withDbm(openTarget(args.file, flags, true), flags.sync_hard, (dbm) => (flags.multi ? dbm.removeMulti(keys) : dbm.remove(keys[0])))
  }
}
