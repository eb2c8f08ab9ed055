import * as fs from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {parseSignedMetric} from '../../src/cli/ulog.js'
import {applyLogFiles, databaseTimestampMillis} from '../../src/engine/ulog/update-log.js'
import {commonDbmFlags, openTarget, tuningFlags, withDbm} from '../../src/cli/dbm-options.js'
import {STDIO, importRecords} from '../../src/cli/transfer.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class DbmImport extends KvCommand {
  static override description = 'Store every record of a flat record file (or TSV) in a database.'
  static override examples = [
    '<%= config.bin %> dbm import casket.tkmt casket.flat',
    '<%= config.bin %> dbm import --tsv --escape casket.tkmb casket.tsv',
    'printf "a\\t1\\n" | <%= config.bin %> dbm import --tsv casket.tkh -',
    '<%= config.bin %> dbm import --ulog -10000 casket-restored.tkh casket-ulog',
  ]
  static override args = {
    dbm_file: Args.string({description: 'database file or configuration string', required: true}),
    rec_file: Args.string({description: 'the record file to read (- for standard input), or with --ulog the update-log prefix', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    ...tuningFlags,
    tsv: Flags.boolean({description: 'read TSV instead of flat records'}),
    escape: Flags.boolean({description: 'unescape C-style TSV fields'}),
    ulog: Flags.custom<number>({
      description:
        "apply the changes of the update log whose prefix is the second argument, from this timestamp in milliseconds on; negative: that many milliseconds before the database's own timestamp (its last synchronize)",
      parse: async (input) => parseSignedMetric(input, '--ulog'),
    })(),
    ulog_server_id: Flags.custom<number>({
      description: 'with --ulog: only the changes of this server ID (negative: all but those of the server -ID)',
      parse: async (input) => parseSignedMetric(input, '--ulog_server_id'),
    })(),
    ulog_dbm_index: Flags.custom<number>({
      description: 'with --ulog: only the changes of this database index (negative: all but those of index -N)',
      parse: async (input) => parseSignedMetric(input, '--ulog_dbm_index'),
    })(),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmImport)
    if (flags.ulog !== undefined) {
      if (flags.tsv || flags.escape) throw new UsageError('--ulog reads an update log, not TSV')
      const since = flags.ulog
      const filter = {serverId: flags.ulog_server_id, dbmIndex: flags.ulog_dbm_index}
      await withDbm(openTarget(args.dbm_file, flags, true, {create: true}), flags.sync_hard, (dbm) => {
        const from = since >= 0 ? since : Math.max(0, databaseTimestampMillis(dbm) + since)
        applyLogFiles(dbm, args.rec_file, from, filter)
      })
      return
    }
    if (flags.ulog_server_id !== undefined || flags.ulog_dbm_index !== undefined) throw new UsageError('--ulog_server_id and --ulog_dbm_index go with --ulog')
    // A record file that is not there is known before any database is made for it.
    if (args.rec_file !== STDIO && !fs.existsSync(args.rec_file)) throw new StatusError(Code.NOT_FOUND_ERROR, `no such record file: ${args.rec_file}`)
    await withDbm(openTarget(args.dbm_file, flags, true, {create: true}), flags.sync_hard, (dbm) => importRecords(dbm, args.rec_file, flags))
  }
}
