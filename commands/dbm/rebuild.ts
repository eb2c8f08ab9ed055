import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {parseParams} from '../../src/engine/params.js'

export default class Rebuild extends KvCommand {
  static override description = 'Rebuild a database to reclaim space and re-tune it.'
  static override examples = [
    '<%= config.bin %> dbm rebuild casket.tkmt',
    '<%= config.bin %> dbm rebuild --buckets 2000000 casket.tkmt',
    '<%= config.bin %> dbm rebuild --rebuild_params cap_rec_num=5000 casket.tkmc',
  ]
  static override args = {file: Args.string({description: 'database file or configuration string', required: true})}
  static override flags = {
    ...commonDbmFlags,
    buckets: Flags.string({description: 'new number of hash buckets'}),
    rebuild_params: Flags.string({description: 'rebuild parameters as "name=value,name=value"'}),
    restore: Flags.boolean({description: 'skip broken records (file classes)'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Rebuild)
    const params: {[name: string]: string} = {}
    if (flags.rebuild_params) for (const [name, value] of parseParams(flags.rebuild_params)) params[name] = value
    if (flags.buckets !== undefined) params.num_buckets = flags.buckets
    if (flags.restore) params.skip_broken_records = 'true'
    await withDbm(openTarget(args.file, {...flags, buckets: undefined}, true), flags.sync_hard, (dbm) => dbm.rebuild(params))
  }
}
