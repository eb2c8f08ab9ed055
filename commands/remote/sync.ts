import {Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {withSpinner} from '../../src/cli/progress.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {parseParams} from '../../src/engine/params.js'

export default class RemoteSync extends KvCommand {
  static override description = `Write a database on the server to its file; make_backup=SUFFIX copies it instead.

The backup goes to PATH.backup.SUFFIX beside the database file (an empty suffix means the
UTC time, YYYYMMDDhhmmss). --hard waits until the device has the data.`
  static override examples = [
    '<%= config.bin %> remote sync --hard',
    '<%= config.bin %> remote sync make_backup=nightly',
    '<%= config.bin %> remote sync --index 1 make_backup=',
  ]
  static override strict = false
  static override flags = {...remoteFlags, hard: Flags.boolean({description: 'synchronize to the device, not only the file system'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RemoteSync)
    const params = Object.fromEntries(parseParams((argv as string[]).join(',')))
    const what = params.make_backup !== undefined ? 'copying a backup on the server' : 'synchronizing on the server'
    await withRemote(flags, (db) => withSpinner(what, () => db.synchronize(flags.hard, params)))
  }
}
