import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {listLogLines, timestampFlag, timestampOf} from '../../src/cli/ulog.js'

export default class UlogListfiles extends KvCommand {
  static override description = "List the files of an update log as TSV: path, file ID, newest timestamp, its age, size (as of the file's last header save)."
  static override examples = ['<%= config.bin %> ulog listfiles casket-ulog', '<%= config.bin %> ulog listfiles --timestamp -1d casket-ulog']
  static override args = {
    prefix: Args.string({description: 'the update log: its files are PREFIX.NNNNNNNNNN', required: true}),
  }
  static override flags = {timestamp: timestampFlag('only files with records at or after this timestamp', '0')}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(UlogListfiles)
    for (const line of listLogLines(args.prefix, timestampOf(flags.timestamp, '0'))) await this.write(line)
  }
}
