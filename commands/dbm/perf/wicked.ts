import {Flags} from '@oclif/core'
import {KvCommand} from '../../../src/cli/base-command.js'
import {dbmPerfFlags, openPerfTarget} from '../../../src/cli/dbm-options.js'
import {runWicked} from '../../../src/perf/local.js'
import {Code, StatusError} from '../../../src/engine/status.js'

export default class DbmPerfWicked extends KvCommand {
  static override description = 'Run random mixed operations (with iterators, clear and rebuild) and check every result against a model.'
  static override examples = [
    '<%= config.bin %> dbm perf wicked --dbm baby --iter 100000',
    '<%= config.bin %> dbm perf wicked --dbm tiny --iter 50000 --no-clear --json',
    '<%= config.bin %> dbm perf wicked --dbm hash --iter 100000 --iterator --validate',
  ]
  static override flags = {
    ...dbmPerfFlags,
    iterator: Flags.boolean({description: 'walk with iterators now and then', default: true, allowNo: true}),
    clear: Flags.boolean({description: 'clear the database now and then', default: true, allowNo: true}),
    rebuild: Flags.boolean({description: 'rebuild the database now and then', default: true, allowNo: true}),
    validate: Flags.boolean({description: "at the end, check the file's structure and iterate every record against the model"}),
  }

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(DbmPerfWicked)
    const {dbm, cleanup} = openPerfTarget(flags)
    let outcome
    try {
      outcome = runWicked(dbm, {
        iterations: flags.iter,
        valueSize: flags.size,
        seed: flags.random_seed,
        iterator: flags.iterator,
        clear: flags.clear,
        rebuild: flags.rebuild,
        validate: flags.validate,
      })
    } finally {
      dbm.close()
      cleanup()
    }
    const qps = outcome.operations / outcome.elapsed
    if (this.jsonEnabled()) {
      await this.writeJson({scenario: 'wicked', dbm: flags.dbm, ...outcome, qps})
    } else {
      await this.write(`Wicked done: impl=${flags.dbm} elapsed_time=${outcome.elapsed.toFixed(6)} operations=${outcome.operations} qps=${Math.round(qps)}\n`)
      for (const error of outcome.errors) await this.write(`inconsistency: ${error}\n`)
    }
    if (outcome.errors.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, `${outcome.errors.length} inconsistencies found`)
  }
}
