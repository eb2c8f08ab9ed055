import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {typedAttributes} from '../../src/cli/json.js'
import {printAttributes} from '../../src/cli/table.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class RemoteInspect extends KvCommand {
  static override description = `Print the attributes of a database on the server, or of the server itself with --index -1.

The server's attributes: version, process_id, num_dbms, dbm_N_path, dbm_N_count,
dbm_N_class for each database, memory_usage, memory_capacity, repl_max_timestamp,
num_active_calls, current_time and running_time.`
  static override examples = [
    '<%= config.bin %> remote inspect',
    '<%= config.bin %> remote inspect --index -1',
    '<%= config.bin %> remote inspect --index 1 num_records',
    '<%= config.bin %> remote inspect --json',
  ]
  static override args = {attr: Args.string({description: 'print only this attribute'})}
  static override flags = {...remoteFlags}
  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(RemoteInspect)
    const pairs = await withRemote(flags, (db) => (flags.index < 0 ? db.inspectServer() : db.inspect()))
    if (args.attr !== undefined) {
      const found = pairs.find(([name]) => name === args.attr)
      if (!found) throw new StatusError(Code.NOT_FOUND_ERROR, `no such attribute: ${args.attr}`)
      await this.write(`${found[1]}\n`)
      return
    }
    if (this.jsonEnabled()) return typedAttributes(pairs)
    await this.write(printAttributes(pairs))
  }
}
