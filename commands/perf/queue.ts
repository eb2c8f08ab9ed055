import {Flags} from '@oclif/core'
import {secondsFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {Progress} from '../../src/cli/progress.js'
import {perfFlags, remoteTarget} from '../../src/cli/remote-options.js'
import {scenarioText} from '../../src/cli/scenario-output.js'
import {runRemoteQueue} from '../../src/perf/remote-scenarios.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class PerfQueue extends KvCommand {
  static override description = `Measure a server as a queue: producers push, consumers pop, and every value must come out once.

--threads producers each push --iter values (PushLast) while as many consumers pop them
(PopFirst, waiting up to --retry seconds, woken at once by --notify). At the end each
value must have been consumed exactly once; otherwise the command exits with status 1.
It clears the database it runs on.`
  static override examples = ['<%= config.bin %> perf queue --threads 4 --iter 5000 --notify --retry 5', '<%= config.bin %> perf queue --index 1 --json']
  static override flags = {
    ...perfFlags,
    notify: Flags.boolean({description: 'wake waiting consumers when pushing'}),
    retry: secondsFlag({description: 'seconds a consumer waits for a value', default: 10}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(PerfQueue)
    const retry = Math.max(0, flags.retry)
    const progress = new Progress('Queue', flags.iter * flags.threads * 2)
    const result = await runRemoteQueue(remoteTarget(flags), {
      iterations: flags.iter,
      valueSize: flags.size,
      threads: flags.threads,
      separate: flags.separate,
      seed: flags.random_seed,
      notify: flags.notify,
      retry,
      onProgress: (n) => progress.tick(n),
    })
    progress.done()
    if (this.jsonEnabled()) await this.writeJson({scenario: 'queue', threads: flags.threads, ...result})
    else await this.write(scenarioText(result, `address=${flags.address} num_iterations=${flags.iter} num_threads=${flags.threads}`))
    if (result.errors.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `values were lost or repeated: ${result.errors[0]}`)
  }
}
