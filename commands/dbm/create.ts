import * as fs from 'node:fs'
import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, dbmTarget, openTarget, tuningFlags, withDbm} from '../../src/cli/dbm-options.js'
import {shardPath} from '../../src/engine/shard.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class DbmCreate extends KvCommand {
  static override description = `Create a database file (the class comes from the extension or --dbm).

File hash databases (.tkh) take --buckets, --in_place or --append, --record_crc,
--record_comp (zlib, zstd, lz4), --offset_width and --align_pow; the file can grow to
2^(8*offset_width+align_pow) bytes (32 GiB with the defaults 4 and 3). Bucket counts
above 100 are rounded up to a prime, as Tkrzw does.

Unlike tkrzw_dbm_util, which opens damaged files read-only, every kv dbm command that
writes restores a file left unclosed by a crash when it opens it (restore_mode=default;
pass --params restore_mode=read_only to keep the old behaviour). kv dbm restore recovers
a file explicitly.`
  static override examples = [
    '<%= config.bin %> dbm create casket.tkmt',
    '<%= config.bin %> dbm create --buckets 10m --record_comp zstd casket.tkh',
    '<%= config.bin %> dbm create --append --offset_width 5 --align_pow 0 log.tkh',
    '<%= config.bin %> dbm create --dbm baby --comparator dec numbers.flat',
    '<%= config.bin %> dbm create --truncate "casket.tkmc#cap_rec_num=10000"',
    '<%= config.bin %> dbm create --params num_shards=4 casket.tkmb',
  ]
  static override args = {file: Args.string({description: 'database file or configuration string', required: true})}
  static override flags = {
    ...commonDbmFlags,
    ...tuningFlags,
    truncate: Flags.boolean({description: 'empty an existing database instead of failing'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmCreate)
    const {path, params} = dbmTarget(args.file, flags)
    const shards = Number(params.get('num_shards') ?? 0)
    const first = shards > 0 ? shardPath(path, 0, shards) : path
    if (!flags.truncate && path !== '' && fs.existsSync(first)) {
      throw new StatusError(Code.DUPLICATION_ERROR, `${first} exists (use --truncate to empty it)`)
    }
    await withDbm(openTarget(args.file, flags, true, {truncate: true}), flags.sync_hard, () => undefined)
  }
}
