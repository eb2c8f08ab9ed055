import {Args, Flags} from '@oclif/core'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {STDIO, exportRecords} from '../../src/cli/transfer.js'

export default class DbmExport extends KvCommand {
  static override description = 'Write every record to a flat record file (or TSV).'
  static override examples = [
    '<%= config.bin %> dbm export casket.tkmt casket.flat',
    '<%= config.bin %> dbm export --tsv --escape casket.tkmb casket.tsv',
    '<%= config.bin %> dbm export --tsv casket.tkh - | head',
    '<%= config.bin %> dbm export --json casket.tkh - | jq length',
  ]
  static override args = {
    dbm_file: Args.string({description: 'database file or configuration string', required: true}),
    rec_file: Args.string({description: 'the record file to write; - for standard output (with --json, the records as a JSON array)', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    tsv: Flags.boolean({description: 'write TSV instead of flat records'}),
    escape: Flags.boolean({description: 'escape TSV fields C-style'}),
    keys: Flags.boolean({description: 'write keys only'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(DbmExport)
    const json = this.jsonEnabled()
    if (json && flags.tsv) throw new UsageError('--json and --tsv are two formats: choose one')
    const count = await withDbm(openTarget(args.dbm_file, flags, false), false, (dbm) => exportRecords(dbm, args.rec_file, {...flags, json}))
    // The records went to standard output as the JSON document; to a file, stdout says what was written.
    if (json && args.rec_file !== STDIO) return {file: args.rec_file, records: count}
  }
}
