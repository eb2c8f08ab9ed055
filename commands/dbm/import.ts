import * as fs from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, tuningFlags, withDbm} from '../../src/cli/dbm-options.js'
import {STDIO, importRecords} from '../../src/cli/transfer.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class DbmImport extends KvCommand {
  static override description = 'Store every record of a flat record file (or TSV) in a database.'
  static override examples = [
    '<%= config.bin %> dbm import casket.tkmt casket.flat',
    '<%= config.bin %> dbm import --tsv --escape casket.tkmb casket.tsv',
    'printf "a\\t1\\n" | <%= config.bin %> dbm import --tsv casket.tkh -',
  ]
  static override args = {
    dbm_file: Args.string({description: 'database file or configuration string', required: true}),
    rec_file: Args.string({description: 'the record file to read; - for standard input', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    ...tuningFlags,
    tsv: Flags.boolean({description: 'read TSV instead of flat records'}),
    escape: Flags.boolean({description: 'unescape C-style TSV fields'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmImport)
    // A record file that is not there is known before any database is made for it.
    if (args.rec_file !== STDIO && !fs.existsSync(args.rec_file)) throw new StatusError(Code.NOT_FOUND_ERROR, `no such record file: ${args.rec_file}`)
    await withDbm(openTarget(args.dbm_file, flags, true, {create: true}), flags.sync_hard, (dbm) => importRecords(dbm, args.rec_file, flags))
  }
}
