import {KvCommand} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'

export default class RemoteEcho extends KvCommand {
  static override description = 'Send a message to the server and print what comes back: a liveness check.'
  static override examples = ['<%= config.bin %> remote echo hello', '<%= config.bin %> remote echo --address unix:/tmp/kv.sock ping']
  static override strict = false
  static override flags = {...remoteFlags}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RemoteEcho)
    const echoed = await withRemote(flags, (db) => db.echo((argv as string[]).join(' ')))
    await this.write(`${echoed}\n`)
  }
}
