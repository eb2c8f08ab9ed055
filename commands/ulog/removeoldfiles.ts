import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {checkPrefix, timestampFlag, timestampOf} from '../../src/cli/ulog.js'
import {removeOldLogFiles} from '../../src/engine/ulog/files.js'

export default class UlogRemoveoldfiles extends KvCommand {
  static override description = `Remove the files of an update log whose newest record is older than a timestamp.
A file a server is writing is never removed. Safe to run from cron while the server runs.`
  static override examples = [
    '<%= config.bin %> ulog removeoldfiles casket-ulog',
    '<%= config.bin %> ulog removeoldfiles --timestamp -3D --exclude_latest casket-ulog',
  ]
  static override args = {
    prefix: Args.string({description: 'the update log: its files are PREFIX.NNNNNNNNNN', required: true}),
  }
  static override flags = {
    timestamp: timestampFlag('remove files whose records are all older than this', '-7D'),
    exclude_latest: Flags.boolean({description: 'keep the last file whatever its age'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(UlogRemoveoldfiles)
    checkPrefix(args.prefix)
    removeOldLogFiles(args.prefix, timestampOf(flags.timestamp, '-7D'), flags.exclude_latest)
  }
}
