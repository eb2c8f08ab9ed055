import {KvCommand} from '../../src/cli/base-command.js'
import {withSpinner} from '../../src/cli/progress.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {parseParams} from '../../src/engine/params.js'

export default class RemoteRebuild extends KvCommand {
  static override description = `Rebuild a database on the server, with tuning parameters if given.

The server keeps answering other calls while a file hash database rebuilds.`
  static override examples = [
    '<%= config.bin %> remote rebuild',
    '<%= config.bin %> remote rebuild num_buckets=2000000',
    '<%= config.bin %> remote rebuild --index 1 update_mode=appending,record_comp_mode=zstd',
  ]
  static override strict = false
  static override flags = {...remoteFlags}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RemoteRebuild)
    const params = Object.fromEntries(parseParams((argv as string[]).join(',')))
    await withRemote(flags, (db) => withSpinner('rebuilding on the server', () => db.rebuild(params)))
  }
}
