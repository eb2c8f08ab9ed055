import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, tuningFlags, tuningParams, withDbm} from '../../src/cli/dbm-options.js'
import type {DBM} from '../../src/engine/dbm.js'
import {parseParams} from '../../src/engine/params.js'
import {Progress} from '../../src/cli/progress.js'

export default class DbmRebuild extends KvCommand {
  static override description = `Rebuild a database to reclaim space and re-tune it.

Prints the statistics before and after, and the time the rebuild took, as tkrzw_dbm_util does.`
  static override examples = [
    '<%= config.bin %> dbm rebuild casket.tkmt',
    '<%= config.bin %> dbm rebuild --buckets 2000000 casket.tkmt',
    '<%= config.bin %> dbm rebuild --rebuild_params cap_rec_num=5000 casket.tkmc',
    '<%= config.bin %> dbm rebuild --append --offset_width 5 --record_comp zstd casket.tkh',
    '<%= config.bin %> dbm rebuild --restore damaged.tkh',
  ]
  static override args = {file: Args.string({description: 'database file or configuration string', required: true})}
  static override flags = {
    ...commonDbmFlags,
    ...tuningFlags,
    rebuild_params: Flags.string({description: 'rebuild parameters as "name=value,name=value"'}),
    restore: Flags.boolean({description: 'skip broken records (file classes)'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmRebuild)
    const params: {[name: string]: string} = {}
    if (flags.rebuild_params) for (const [name, value] of parseParams(flags.rebuild_params)) params[name] = value
    for (const [name, value] of tuningParams(flags)) params[name] = value
    if (flags.restore) params.skip_broken_records = 'true'
    await withDbm(
      openTarget(args.file, {dbm: flags.dbm, params: flags.params, no_wait: flags.no_wait, no_lock: flags.no_lock}, true),
      flags.sync_hard,
      async (dbm) => {
        // The statistics before and after, as tkrzw_dbm_util prints them.
        this.report(statisticsText('Old', dbm))
        this.report('Optimizing the database: ... ')
        const started = performance.now()
        // On a terminal, a progress line: the rebuild runs in slices that say how far along it is.
        const records = dbm.count()
        const progress = new Progress('rebuilding', records)
        if (progress.shown) {
          await dbm.rebuildInSlices(params, (fraction) => progress.at(Math.round(fraction * records)))
          progress.done()
        } else {
          dbm.rebuild(params)
        }
        this.report(`ok (elapsed=${((performance.now() - started) / 1000).toFixed(6)})\n`)
        this.report(statisticsText('New', dbm))
      },
    )
  }
}

/** Records, file size and, where the class has them, effective data size and buckets. */
function statisticsText(when: string, dbm: DBM): string {
  const attributes = new Map(dbm.inspect())
  const lines = [`${when} Number of Records: ${dbm.count()}`, `${when} File Size: ${dbm.getFileSize()}`]
  const effective = attributes.get('eff_data_size')
  if (effective !== undefined) lines.push(`${when} Effective Data Size: ${effective}`)
  const buckets = attributes.get('num_buckets')
  if (buckets !== undefined) lines.push(`${when} Number of Buckets: ${buckets}`)
  return `${lines.join('\n')}\n`
}
