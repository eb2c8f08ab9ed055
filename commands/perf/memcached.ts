import {Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {chosenPhases} from '../../src/cli/phases.js'
import {latencyText} from '../../src/cli/scenario-output.js'
import {runMemcachedSequence, type MemcachedPhase, type MemcachedPhaseResult} from '../../src/perf/memcached.js'

const LABELS: {[phase: string]: string} = {set: 'Setting', get: 'Getting', remove: 'Removing'}

export default class PerfMemcached extends KvCommand {
  static override description = `Measure any memcached protocol server (kv serve --memcached, memcached, a proxy): set, get and delete phases.

--iter is per worker; worker t uses keys t*iter ... (t+1)*iter-1 as eight digits (or random
ones), each worker on a connection of its own with --pipeline requests in flight. Each phase
prints its throughput, the answers that were errors or misses, and the latency of its requests
(p50, p99, p99.9, max, in milliseconds), as kv perf sequence does.`
  static override examples = [
    '<%= config.bin %> perf memcached --address 11211 --threads 4 --iter 20000',
    '<%= config.bin %> perf memcached --address 127.0.0.1:11211 --pipeline 16 --set_only',
    '<%= config.bin %> perf memcached --address 22121 --random_key --json',
  ]
  static override flags = {
    address: Flags.string({description: 'the server: [host:]port', default: '127.0.0.1:11211'}),
    iter: Flags.integer({description: 'requests per worker and phase', default: 10000, min: 1}),
    size: Flags.integer({description: 'value size in bytes', default: 8, min: 0}),
    threads: Flags.integer({description: 'concurrent workers, each on its own connection', default: 1, min: 1}),
    pipeline: Flags.integer({description: 'requests each worker has in flight at once', default: 1, min: 1}),
    random_key: Flags.boolean({description: 'random keys instead of sequential ones'}),
    random_seed: Flags.integer({description: 'random seed', default: 0}),
    set_only: Flags.boolean({description: 'only the set phase'}),
    get_only: Flags.boolean({description: 'only the get phase'}),
    remove_only: Flags.boolean({description: 'only the delete phase'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(PerfMemcached)
    const phases = chosenPhases<MemcachedPhase>([
      ['set', flags.set_only],
      ['get', flags.get_only],
      ['remove', flags.remove_only],
    ])
    const setting = `address=${flags.address} num_iterations=${flags.iter} value_size=${flags.size} num_threads=${flags.threads} pipeline=${flags.pipeline}`
    const print = (result: MemcachedPhaseResult): void => {
      if (this.jsonEnabled()) return
      const label = LABELS[result.name]
      process.stdout.write(
        `${label}: ${setting}\n${label} done: elapsed_time=${result.elapsed.toFixed(6)} num_operations=${result.operations} ` +
          `qps=${Math.round(result.qps)} misses=${result.misses} ${latencyText(result.latency)}\n\n`,
      )
    }
    const results = await runMemcachedSequence({
      address: flags.address,
      iterations: flags.iter,
      threads: flags.threads,
      valueSize: flags.size,
      pipeline: flags.pipeline,
      randomKey: flags.random_key,
      seed: flags.random_seed,
      phases,
      onPhase: print,
    })
    if (this.jsonEnabled()) {
      await this.write(
        `${JSON.stringify({scenario: 'memcached', address: flags.address, iterations: flags.iter, threads: flags.threads, value_size: flags.size, pipeline: flags.pipeline, phases: results}, null, 2)}\n`,
      )
    }
  }
}
