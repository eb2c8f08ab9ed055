import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {replicateFromServer} from '../../src/cli/replicate.js'
import {parseSignedMetric} from '../../src/cli/ulog.js'
import {readTimestampFile} from '../../src/repl/timestamp-file.js'

export default class RemoteReplicate extends KvCommand {
  static override description = `Pull a server's changes from its update log, as a replica does.
Without database files, print them as TSV: timestamp, origin server ID, database index, then
SET key value, REMOVE key or CLEAR. With database files (configuration strings), apply the
changes of database index i to the i-th file, or with --index N those of N to the only one:
a differential backup. --ts_file keeps the newest timestamp applied, so that the next run
goes on from there.`
  static override examples = [
    '<%= config.bin %> remote replicate --items 0',
    '<%= config.bin %> remote replicate --ts_file backup.ts --items 0 backup.tkh',
    '<%= config.bin %> remote replicate --index 1 --ts_file queue.ts --ts_skew -10000 --items 0 queue-backup.tkh',
  ]
  static override strict = false
  static override args = {
    databases: Args.string({description: 'database files (configuration strings) to apply the changes to'}),
  }
  static override flags = {
    ...remoteFlags,
    index: Flags.integer({description: 'only the changes of this database index; -1 for all', default: -1}),
    ts_file: Flags.string({description: 'start from the timestamp in this file, and keep the newest applied there'}),
    ts_from_dbm: Flags.boolean({description: "without a timestamp file, start from the oldest database file's own timestamp"}),
    ts_skew: Flags.custom<number>({
      description: 'milliseconds added to the starting timestamp (negative: replay a little)',
      default: 0,
      parse: async (input) => parseSignedMetric(input, '--ts_skew'),
    })(),
    server_id: Flags.integer({description: 'the ID to replicate as: changes that came from it are not sent', default: 0, min: 0}),
    wait: Flags.integer({description: 'seconds the server waits without a change before a heartbeat', default: 1, min: 1}),
    items: Flags.integer({description: 'stop after this many changes; 0: once caught up (at the first heartbeat); default: never', min: 0}),
    escape: Flags.boolean({description: 'C-style escapes in printed keys and values'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RemoteReplicate)
    const tsFromFile = flags.ts_file ? readTimestampFile(flags.ts_file, (message) => this.warn(message)) : undefined
    // The stream has no deadline of its own: it runs until --items says, or for ever.
    await withRemote({...flags, timeout: flags.timeout, index: 0}, (db) =>
      replicateFromServer(
        db,
        argv as string[],
        {
          index: flags.index,
          serverId: flags.server_id,
          waitSeconds: flags.wait,
          items: flags.items,
          escape: flags.escape,
          tsFile: flags.ts_file,
          tsFromDbm: flags.ts_from_dbm,
          tsSkew: flags.ts_skew,
          tsFromFile,
        },
        (line) => this.write(Buffer.from(line, 'latin1')),
      ),
    )
  }
}
