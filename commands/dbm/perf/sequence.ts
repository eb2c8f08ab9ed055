import {Flags} from '@oclif/core'
import {KvCommand} from '../../../src/cli/base-command.js'
import {dbmPerfFlags, openPerfTarget} from '../../../src/cli/dbm-options.js'
import {runSequence, type PhaseResult} from '../../../src/perf/local.js'
import {Code, StatusError} from '../../../src/engine/status.js'

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
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(DbmPerfSequence)
    const only = (['set', 'get', 'iterate', 'remove'] as const).filter(
      (phase) => ({set: flags.set_only, get: flags.get_only, iterate: flags.iter_only, remove: flags.remove_only})[phase],
    )
    const phases = only.length > 0 ? [...only] : (['set', 'get', 'iterate', 'remove'] as ('set' | 'get' | 'iterate' | 'remove')[])
    // Without a set phase, the phases work on the records an earlier run left in --path.
    const {dbm, cleanup} = openPerfTarget(flags, phases.includes('set'))
    const setting = `impl=${flags.dbm} num_iterations=${flags.iter} value_size=${flags.size} num_threads=1`
    const print = (result: PhaseResult): void => {
      if (this.jsonEnabled()) return
      const label = PHASE_LABELS[result.name]
      process.stdout.write(
        `${label}: ${setting}\n${label} done: elapsed_time=${result.elapsed.toFixed(6)} num_records=${result.numRecords} ` +
          `qps=${Math.round(result.qps)} mem=${result.mem}\n\n`,
      )
    }
    let results: PhaseResult[]
    try {
      results = runSequence(dbm, {
        iterations: flags.iter,
        valueSize: flags.size,
        randomKey: flags.random_key,
        randomValue: flags.random_value,
        seed: flags.random_seed,
        phases,
        onPhase: print,
      })
      if (flags.validate) {
        const problems = dbm.validateStructure()
        let iterated = 0
        for (const record of dbm.records()) if (record) iterated++
        if (iterated !== dbm.count()) problems.push(`${iterated} records iterated, ${dbm.count()} counted`)
        if (problems.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `validation failed: ${problems.slice(0, 5).join('; ')}`)
        if (!this.jsonEnabled()) process.stdout.write('Validation done: ok\n\n')
      }
      if (flags.copy !== undefined) dbm.copyFileData(flags.copy)
    } finally {
      dbm.close()
      cleanup()
    }
    const peak = process.resourceUsage().maxRSS * 1024
    if (this.jsonEnabled()) {
      await this.write(
        `${JSON.stringify({scenario: 'sequence', dbm: flags.dbm, iterations: flags.iter, value_size: flags.size, peak_rss: peak, phases: results}, null, 2)}\n`,
      )
    } else {
      await this.write(`Peak memory: ${peak}\n`)
    }
  }
}
