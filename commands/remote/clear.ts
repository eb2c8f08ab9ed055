import {KvCommand} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'

export default class RemoteClear extends KvCommand {
  static override description = 'Remove every record of a database on the server.'
  static override examples = ['<%= config.bin %> remote clear', '<%= config.bin %> remote clear --index 2']
  static override flags = {...remoteFlags}

  async run(): Promise<void> {
    const {flags} = await this.parse(RemoteClear)
    await withRemote(flags, (db) => db.clear())
  }
}
