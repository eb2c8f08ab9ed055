import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {exportRecords} from '../../src/cli/transfer.js'

export default class DbmExport extends KvCommand {
  static override description = 'Write every record to a flat record file (or TSV).'
  static override examples = [
    '<%= config.bin %> dbm export casket.tkmt casket.flat',
    '<%= config.bin %> dbm export --tsv --escape casket.tkmb casket.tsv',
    '<%= config.bin %> dbm export --tsv casket.tkh - | head',
  ]
  static override args = {
    dbm_file: Args.string({description: 'database file or configuration string', required: true}),
    rec_file: Args.string({description: 'the record file to write; - for standard output', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    tsv: Flags.boolean({description: 'write TSV instead of flat records'}),
    escape: Flags.boolean({description: 'escape TSV fields C-style'}),
    keys: Flags.boolean({description: 'write keys only'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmExport)
    await withDbm(openTarget(args.dbm_file, flags, false), false, (dbm) => exportRecords(dbm, args.rec_file, flags))
  }
}
