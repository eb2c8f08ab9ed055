import {Args, Flags} from '@oclif/core'
import {KvCommand, UsageError} from '../../src/cli/base-command.js'
import {restoreByOpening, restoreDatabase, restoreDatabaseInPlace} from '../../src/engine/poly.js'

export default class DbmRestore extends KvCommand {
  static override description = `Recover the records of a damaged database file.

Reads every record that proves sound (checksum, CRC, padding) by scanning the file, so it
works even when the metadata or the buckets are broken. With NEW, the records go to NEW
(an existing NEW keeps its own tuning, so you can create it first with other parameters);
without it, the recovered file takes OLD's place and the damaged one is kept as OLD.old.
In the appending mode, --end_offset replays the history up to the moment the file had
that size; 0 means the state of the last synchronize.

With --auto MODE, the file is instead opened for writing with that restore_mode, as a
server would open it after a crash, and closed again: default recovers every readable
record, sync goes back to the last synchronize. The -ns forms (no shortcuts, in
tkrzw_dbm_util) are accepted and mean the same here: kv always restores in full.`
  static override examples = [
    '<%= config.bin %> dbm restore casket.tkh',
    '<%= config.bin %> dbm restore casket.tkh casket-restored.tkh',
    '<%= config.bin %> dbm create --buckets 10m big.tkh && <%= config.bin %> dbm restore casket.tkh big.tkh',
    '<%= config.bin %> dbm restore --end_offset 4198440 casket.tkh snapshot.tkh',
    '<%= config.bin %> dbm restore --auto sync casket.tkh',
  ]
  static override args = {
    old: Args.string({description: 'the damaged database file', required: true}),
    new: Args.string({description: 'where to write the recovered database (default: in place)'}),
  }
  static override flags = {
    dbm: Flags.string({description: 'database class when the extension does not tell it: hash', default: 'auto'}),
    class: Flags.string({description: 'same as --dbm (the name tkrzw_dbm_util uses)'}),
    auto: Flags.string({
      description: 'open the file with this restore mode and close it, instead of copying the records',
      options: ['none', 'default', 'default-ns', 'sync', 'sync-ns'],
      default: 'none',
      exclusive: ['end_offset'],
    }),
    end_offset: Flags.integer({description: '-1: read every record; 0: stop at the size of the last synchronize; N: stop at offset N', default: -1, min: -1}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmRestore)
    const cls = flags.class ?? flags.dbm
    const options = {dbm: cls === 'auto' ? undefined : cls, endOffset: flags.end_offset}
    if (flags.auto !== 'none') {
      if (args.new !== undefined) throw new UsageError('--auto restores the file where it is: give no NEW')
      const started = performance.now()
      const restored = restoreByOpening(args.old, flags.auto.replace(/-ns$/, ''), options.dbm)
      this.note(
        `opened ${args.old} with restore_mode=${flags.auto}: ${restored ? 'restored' : 'it was healthy'} (elapsed=${((performance.now() - started) / 1000).toFixed(6)})`,
      )
      return
    }
    if (args.new !== undefined) {
      const result = restoreDatabase(args.old, args.new, options)
      this.note(`restored ${result.records} records into ${args.new}${result.broken > 0 ? ` (skipped ${result.broken} damaged regions)` : ''}`)
    } else {
      const result = restoreDatabaseInPlace(args.old, options)
      this.note(`restored ${result.records} records into ${args.old}; the damaged file is kept as ${result.keptAs}`)
    }
  }
}
