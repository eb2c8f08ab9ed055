import {Flags} from '@oclif/core'
import {secondsFlag} from '../../../src/cli/args.js'
import {KvCommand} from '../../../src/cli/base-command.js'
import {dbmPerfFlags, openPerfTarget} from '../../../src/cli/dbm-options.js'
import {threadedTarget} from '../../../src/cli/perf-target.js'
import {Code, StatusError} from '../../../src/engine/status.js'
import {validateDBM} from '../../../src/engine/validate.js'
import {defaultThreads, runParallelShare, runParallelThreads, type ParallelOptions, type ParallelResult} from '../../../src/perf/local-parallel.js'

export default class DbmPerfParallel extends KvCommand {
  static override description = `Measure random mixed operations (set, get, append, remove) on the local engine, on one or more threads.

With --threads N, each worker thread has a shard of its own (the files PATH-0000T-of-0000N,
or an on-memory database each) and the keys that hash to it, as the shards of a sharded
database do, so the run uses every core. The keys are always random, as in the reference's
parallel run.`
  static override examples = [
    '<%= config.bin %> dbm perf parallel --dbm tiny --iter 1000000',
    '<%= config.bin %> dbm perf parallel --dbm hash --threads 2 --iter 500000 --path /tmp/casket.tkh',
    '<%= config.bin %> dbm perf parallel --dbm hash --keys 1000 --rebuild --validate',
  ]
  static override flags = {
    ...dbmPerfFlags,
    threads: Flags.integer({description: 'worker threads, each on a shard of its own (0: one per core)', default: 1, min: 0}),
    keys: Flags.integer({description: 'distinct keys at most (0: iterations times threads)', default: 0, min: 0}),
    random_key: Flags.boolean({description: 'accepted for compatibility: the keys are always random'}),
    random_value: Flags.boolean({description: 'use values of random length up to --size'}),
    rebuild: Flags.boolean({description: 'rebuild now and then, when the database says it should be'}),
    sleep: secondsFlag({description: 'seconds to sleep between operations', default: 0}),
    validate: Flags.boolean({description: "at the end, check the database's structure"}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(DbmPerfParallel)
    const threads = flags.threads === 0 ? defaultThreads() : flags.threads
    const options: ParallelOptions = {
      iterations: flags.iter,
      threads,
      valueSize: flags.size,
      randomValue: flags.random_value,
      keys: flags.keys,
      seed: flags.random_seed,
      rebuild: flags.rebuild,
      sleepMicros: Math.max(0, flags.sleep) * 1e6,
    }
    if (!this.jsonEnabled()) this.report(`Doing parallel: impl=${flags.dbm} num_iterations=${flags.iter} value_size=${flags.size} num_threads=${threads}\n`)
    let result: ParallelResult
    let numRecords: number | undefined
    if (threads === 1) {
      const {dbm, cleanup} = openPerfTarget(flags)
      try {
        result = runParallelShare(dbm, options, {thread: 0, threads: 1})
        if (flags.validate) validateDBM(dbm)
        numRecords = dbm.count()
      } finally {
        dbm.close()
        cleanup()
      }
    } else {
      const {target, withSharded, cleanup} = threadedTarget(flags, threads)
      try {
        result = await runParallelThreads(target, options)
        numRecords = withSharded(false, (sharded) => {
          if (flags.validate) validateDBM(sharded)
          return sharded.count()
        })
      } finally {
        cleanup()
      }
    }
    const peak = process.resourceUsage().maxRSS * 1024
    if (this.jsonEnabled()) {
      await this.writeJson({
        scenario: 'parallel',
        dbm: flags.dbm,
        iterations: flags.iter,
        threads,
        value_size: flags.size,
        num_records: numRecords,
        peak_rss: peak,
        ...result,
      })
    } else {
      await this.write(
        `Parallel done: elapsed_time=${result.elapsed.toFixed(6)} num_operations=${result.operations}${numRecords === undefined ? '' : ` num_records=${numRecords}`} qps=${Math.round(result.qps)}\n`,
      )
      if (flags.validate) await this.write('Validation done: ok\n')
      await this.write(`Peak memory: ${peak}\n`)
    }
    if (result.errors.length > 0) throw new StatusError(Code.APPLICATION_ERROR, `${result.errors.length} operations failed; the first: ${result.errors[0]}`)
  }
}
