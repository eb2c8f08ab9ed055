import {Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {Progress} from '../../src/cli/progress.js'
import {perfFlags, remoteTarget, workerThreadCount, workerThreadsFlag} from '../../src/cli/remote-options.js'
import {scenarioText} from '../../src/cli/scenario-output.js'
import {runRemoteParallel} from '../../src/perf/remote-scenarios.js'

export default class PerfParallel extends KvCommand {
  static override description = 'Measure a server with sets, gets and removes mixed across concurrent workers.'
  static override examples = ['<%= config.bin %> perf parallel --threads 8 --iter 10000', '<%= config.bin %> perf parallel --random_key --stream --json']
  static override flags = {
    ...perfFlags,
    random_key: Flags.boolean({description: 'random keys instead of sequential ones'}),
    random_value: Flags.boolean({description: 'values of random length up to --size'}),
    stream: Flags.boolean({description: 'pipeline the calls on the Stream method'}),
    worker_threads: workerThreadsFlag,
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(PerfParallel)
    const progress = new Progress('Parallel', flags.iter * flags.threads)
    const result = await runRemoteParallel(remoteTarget(flags), {
      iterations: flags.iter,
      valueSize: flags.size,
      threads: flags.threads,
      separate: flags.separate,
      seed: flags.random_seed,
      randomKey: flags.random_key,
      randomValue: flags.random_value,
      stream: flags.stream,
      processes: workerThreadCount(flags.worker_threads),
      onProgress: (n) => progress.tick(n),
    })
    progress.done()
    if (this.jsonEnabled()) await this.writeJson({scenario: 'parallel', threads: flags.threads, ...result})
    else await this.write(scenarioText(result, `address=${flags.address} num_iterations=${flags.iter} num_threads=${flags.threads}`))
  }
}
