import {Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {Progress} from '../../src/cli/progress.js'
import {perfFlags, remoteTarget} from '../../src/cli/remote-options.js'
import {scenarioText} from '../../src/cli/scenario-output.js'
import {runRemoteWicked} from '../../src/perf/remote-scenarios.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class PerfWicked extends KvCommand {
  static override description = `Check a server with random mixed operations from concurrent workers, then verify what it holds.

Each worker works on its own keys and checks every answer against its own model; with
--clear and --rebuild the database is cleared or rebuilt between rounds. At the end every
key is read back and the record count compared. Any difference is printed and the command
exits with status 1. It clears the database it runs on.`
  static override examples = ['<%= config.bin %> perf wicked --threads 4 --iter 5000', '<%= config.bin %> perf wicked --iterator --clear --rebuild --index 1']
  static override flags = {
    ...perfFlags,
    iterator: Flags.boolean({description: 'walk records with iterators now and then'}),
    clear: Flags.boolean({description: 'clear the database now and then'}),
    rebuild: Flags.boolean({description: 'rebuild the database now and then'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(PerfWicked)
    const progress = new Progress('Wicked', flags.iter * flags.threads)
    const result = await runRemoteWicked(remoteTarget(flags), {
      iterations: flags.iter,
      valueSize: flags.size,
      threads: flags.threads,
      separate: flags.separate,
      seed: flags.random_seed,
      iterator: flags.iterator,
      clear: flags.clear,
      rebuild: flags.rebuild,
      onProgress: (n) => progress.tick(n),
    })
    progress.done()
    if (this.jsonEnabled()) await this.writeJson({scenario: 'wicked', threads: flags.threads, ...result})
    else await this.write(scenarioText(result, `address=${flags.address} num_iterations=${flags.iter} num_threads=${flags.threads}`))
    if (result.errors.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `the server is inconsistent: ${result.errors[0]}`)
  }
}
