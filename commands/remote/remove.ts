import {Args, Flags} from '@oclif/core'
import {argBytes, sxFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'

export default class RemoteRemove extends KvCommand {
  static override description = 'Remove a record on the server (NOT_FOUND_ERROR when it is not there).'
  static override examples = ['<%= config.bin %> remote remove apple', '<%= config.bin %> remote remove --multi a b c']
  static override strict = false
  static override args = {key: Args.string({description: 'the key', required: true})}
  static override flags = {...remoteFlags, ...sxFlag, multi: Flags.boolean({description: 'take several keys'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(RemoteRemove)
    if (!flags.multi) this.refuseExtraArgs(argv, 1, 'with --multi, remove takes several keys')
    const keys = (argv as string[]).map((word) => argBytes(word, flags.sx, 'key'))
    await withRemote(flags, (db) => (flags.multi ? db.removeMulti(keys) : db.remove(keys[0])))
  }
}
