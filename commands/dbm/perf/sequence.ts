import {Flags} from '@oclif/core'
import {KvCommand} from '../../../src/cli/base-command.js'
import {chosenPhases} from '../../../src/cli/phases.js'
import {dbmPerfFlags, openPerfTarget} from '../../../src/cli/dbm-options.js'
import {runSequence, type PhaseResult, type SequenceOptions} from '../../../src/perf/local.js'
import {defaultThreads, runShardThreads} from '../../../src/perf/local-parallel.js'
import {threadedTarget} from '../../../src/cli/perf-target.js'
import {validateDBM} from '../../../src/engine/validate.js'
import type {DBM} from '../../../src/engine/dbm.js'

const PHASE_LABELS: {[name: string]: string} = {set: 'Setting', get: 'Getting', iterate: 'Iterating', remove: 'Removing'}

export default class DbmPerfSequence extends KvCommand {
  static override description = 'Measure set, get, iterate and remove throughput of the local engine, one phase after another.'
  static override examples = [
    '<%= config.bin %> dbm perf sequence --dbm tiny --iter 1000000',
    '<%= config.bin %> dbm perf sequence --dbm baby --iter 100000 --random_key --json',
    '<%= config.bin %> dbm perf sequence --dbm cache --path /tmp/casket.tkmc --size 100',
  ]
  static override flags = {
    ...dbmPerfFlags,
    random_key: Flags.boolean({description: 'use random keys instead of sequential ones'}),
    random_value: Flags.boolean({description: 'use values of random length up to --size'}),
    set_only: Flags.boolean({description: 'only the set phase'}),
    get_only: Flags.boolean({description: 'only the get phase (on an existing --path)'}),
    iter_only: Flags.boolean({description: 'only the iterate phase'}),
    remove_only: Flags.boolean({description: 'only the remove phase'}),
    validate: Flags.boolean({description: "after the phases, check the file's structure (and that a full iteration matches the count)"}),
    copy: Flags.string({description: 'after the phases, copy the database file to this path (as a backup does)'}),
    threads: Flags.integer({description: 'worker threads, each on a shard of its own with the keys that hash to it (0: one per core)', default: 1, min: 0}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(DbmPerfSequence)
    const phases = chosenPhases<'set' | 'get' | 'iterate' | 'remove'>([
      ['set', flags.set_only],
      ['get', flags.get_only],
      ['iterate', flags.iter_only],
      ['remove', flags.remove_only],
    ])
    const threads = flags.threads === 0 ? defaultThreads() : flags.threads
    const setting = `impl=${flags.dbm} num_iterations=${flags.iter} value_size=${flags.size} num_threads=${threads}`
    const print = (result: PhaseResult): void => {
      if (this.jsonEnabled()) return
      const label = PHASE_LABELS[result.name]
      this.report(
        `${label}: ${setting}\n${label} done: elapsed_time=${result.elapsed.toFixed(6)} num_records=${result.numRecords} ` +
          `qps=${Math.round(result.qps)} mem=${result.mem}\n\n`,
      )
    }
    const options: SequenceOptions = {
      iterations: flags.iter,
      valueSize: flags.size,
      randomKey: flags.random_key,
      randomValue: flags.random_value,
      seed: flags.random_seed,
      phases,
    }
    /** Validation and copy, on the one database or on the shards together. */
    const finish = (dbm: DBM): void => {
      if (flags.validate) {
        validateDBM(dbm)
        if (!this.jsonEnabled()) this.report('Validation done: ok\n\n')
      }
      if (flags.copy !== undefined) dbm.copyFileData(flags.copy)
    }
    let results: PhaseResult[]
    if (threads === 1) {
      // Without a set phase, the phases work on the records an earlier run left in --path.
      const {dbm, cleanup} = openPerfTarget(flags, phases.includes('set'))
      try {
        results = runSequence(dbm, {...options, onPhase: print})
        finish(dbm)
      } finally {
        dbm.close()
        cleanup()
      }
    } else {
      const {target, withSharded, cleanup} = threadedTarget(flags, threads)
      try {
        const shares = await runShardThreads<PhaseResult[]>('local-sequence-thread.js', threads, (thread) => ({target, options, share: {thread, threads}}))
        // A phase of all threads: their operations over the longest thread's time.
        results = shares[0].map((first, i) => {
          const phase = shares.map((share) => share[i])
          const iterations = phase.reduce((sum, result) => sum + result.iterations, 0)
          const elapsed = Math.max(...phase.map((result) => result.elapsed))
          const numRecords = phase.reduce((sum, result) => sum + result.numRecords, 0)
          return {name: first.name, iterations, elapsed, qps: iterations / elapsed, numRecords, mem: process.memoryUsage().rss}
        })
        for (const result of results) print(result)
        if (flags.validate || flags.copy !== undefined) withSharded(true, finish)
      } finally {
        cleanup()
      }
    }
    const peak = process.resourceUsage().maxRSS * 1024
    if (this.jsonEnabled()) {
      await this.writeJson({scenario: 'sequence', dbm: flags.dbm, iterations: flags.iter, threads, value_size: flags.size, peak_rss: peak, phases: results})
    } else {
      await this.write(`Peak memory: ${peak}\n`)
    }
  }
}
