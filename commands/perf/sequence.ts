import {Flags} from '@oclif/core'
import {chosenPhases} from '../../src/cli/phases.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {Progress} from '../../src/cli/progress.js'
import {latencyText} from '../../src/cli/scenario-output.js'
import {perfFlags, remoteTarget, workerThreadCount, workerThreadsFlag} from '../../src/cli/remote-options.js'
import {runRemoteSequence, type RemotePhase, type RemotePhaseResult} from '../../src/perf/remote.js'

const LABELS: {[phase: string]: string} = {echo: 'Echoing', set: 'Setting', get: 'Getting', iterate: 'Iterating', remove: 'Removing'}

export default class PerfSequence extends KvCommand {
  static override description = `Measure a server: echo, set, get, iterate and remove phases, one after another.

Works against any server speaking the Tkrzw-RPC protocol (kv serve or tkrzw_server), with
the scenario and options of tkrzw_dbm_remote_perf. --iter is per worker; worker t uses
keys t*iter ... (t+1)*iter-1, written as eight digits. Each phase prints its throughput
and the latency of its calls (p50, p99, p99.9, max, in milliseconds).`
  static override examples = [
    '<%= config.bin %> perf sequence --iter 100000',
    '<%= config.bin %> perf sequence --threads 8 --separate --iter 20000',
    '<%= config.bin %> perf sequence --threads 8 --separate --worker_threads 0 --iter 20000',
    '<%= config.bin %> perf sequence --stream --ignore_result --iter 1000000',
    '<%= config.bin %> perf sequence --multi 100 --set_only --json',
  ]
  static override flags = {
    ...perfFlags,
    random_key: Flags.boolean({description: 'random keys instead of sequential ones'}),
    random_value: Flags.boolean({description: 'values of random length up to --size'}),
    echo_only: Flags.boolean({description: 'only the echo phase'}),
    set_only: Flags.boolean({description: 'only the set phase'}),
    get_only: Flags.boolean({description: 'only the get phase'}),
    iter_only: Flags.boolean({description: 'only the iterate phase'}),
    remove_only: Flags.boolean({description: 'only the remove phase'}),
    stream: Flags.boolean({description: 'pipeline the calls on the Stream method'}),
    ignore_result: Flags.boolean({description: 'with --stream: updates ask for no response'}),
    worker_threads: workerThreadsFlag,
    multi: Flags.integer({description: 'records per SetMulti/GetMulti/RemoveMulti call (1: single calls)', default: 1, min: 1}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(PerfSequence)
    const phases = chosenPhases<RemotePhase>([
      ['echo', flags.echo_only],
      ['set', flags.set_only],
      ['get', flags.get_only],
      ['iterate', flags.iter_only],
      ['remove', flags.remove_only],
    ])
    const setting = `address=${flags.address} num_iterations=${flags.iter} value_size=${flags.size} num_threads=${flags.threads}`
    let progress: Progress | undefined
    const print = (result: RemotePhaseResult): void => {
      progress?.done()
      progress = undefined
      if (this.jsonEnabled()) return
      const label = LABELS[result.name]
      process.stdout.write(
        `${label}: ${setting}\n${label} done: elapsed_time=${result.elapsed.toFixed(6)} num_operations=${result.operations} ` +
          `qps=${Math.round(result.qps)} ${latencyText(result.latency)}\n\n`,
      )
    }
    let phaseIndex = 0
    const results = await runRemoteSequence(remoteTarget(flags), {
      iterations: flags.iter,
      processes: workerThreadCount(flags.worker_threads),
      valueSize: flags.size,
      threads: flags.threads,
      separate: flags.separate,
      seed: flags.random_seed,
      randomKey: flags.random_key,
      randomValue: flags.random_value,
      phases,
      stream: flags.stream,
      ignoreResult: flags.ignore_result,
      multi: flags.multi,
      onPhase: (result) => {
        print(result)
        phaseIndex++
      },
      onProgress: (completed) => {
        progress ??= new Progress(LABELS[phases[phaseIndex]] ?? 'Running', flags.iter * flags.threads)
        progress.tick(completed)
      },
    })
    if (this.jsonEnabled()) {
      await this.write(
        `${JSON.stringify({scenario: 'sequence', address: flags.address, iterations: flags.iter, threads: flags.threads, value_size: flags.size, phases: results}, null, 2)}\n`,
      )
    }
  }
}
