import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {parseSignedMetric} from '../../src/cli/ulog.js'
import {Flags} from '@oclif/core'

export default class RemoteChangemaster extends KvCommand {
  static override description = `Make the server replicate from another master, or stop replicating (no master, or "").
It resumes from the newest master timestamp it applied, plus --ts_skew milliseconds: after a
failover, a negative skew (e.g. -10000) replays a little, so that clocks that differ lose nothing.`
  static override examples = [
    '<%= config.bin %> remote changemaster --address 127.0.0.1:1979 127.0.0.1:1978',
    '<%= config.bin %> remote changemaster --address 127.0.0.1:1979 ""',
    '<%= config.bin %> remote changemaster --address 127.0.0.1:1978 --ts_skew -10000 127.0.0.1:1979',
  ]
  static override args = {
    master: Args.string({description: 'the new master, host:port; "" or nothing stops replicating'}),
  }
  static override flags = {
    ...remoteFlags,
    ts_skew: Flags.custom<number>({
      description: 'milliseconds added to the newest applied timestamp to resume from',
      default: 0,
      parse: async (input) => parseSignedMetric(input, '--ts_skew'),
    })(),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(RemoteChangemaster)
    await withRemote(flags, (db) => db.changeMaster(args.master ?? '', flags.ts_skew))
  }
}
