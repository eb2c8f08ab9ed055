import {KvCommand} from '../../../src/cli/base-command.js'
import {dbmPerfFlags, openPerfTarget} from '../../../src/cli/dbm-options.js'
import {runRebuildUnderLoad} from '../../../src/perf/rebuild.js'

export default class DbmPerfRebuild extends KvCommand {
  static override description = `Measure a rebuild under load: fill a database, then rebuild it while another task keeps reading and writing.

Reports how long the rebuild took, how many operations the other task completed meanwhile,
and the longest pause of the event loop (what a server's clients would feel). Every read is
checked against the latest write and every record afterwards; any difference makes the
command fail.`
  static override examples = [
    '<%= config.bin %> dbm perf rebuild --dbm hash --iter 1000000 --buckets 100000',
    '<%= config.bin %> dbm perf rebuild --dbm hash --append --iter 1000000 --json',
  ]
  static override flags = {...dbmPerfFlags}

  static override enableJsonFlag = true

  async run(): Promise<void> {
    const {flags} = await this.parse(DbmPerfRebuild)
    const {dbm, cleanup} = openPerfTarget(flags)
    let result
    try {
      result = await runRebuildUnderLoad(dbm, {records: flags.iter, seed: flags.random_seed})
    } finally {
      dbm.close()
      cleanup()
    }
    if (this.jsonEnabled()) {
      await this.writeJson({scenario: 'rebuild', dbm: flags.dbm, ...result})
    } else {
      await this.write(
        `Rebuilding: impl=${flags.dbm} num_records=${result.records}\n` +
          `Rebuilding done: elapsed_time=${(result.elapsed / 1000).toFixed(6)} concurrent_operations=${result.operations} ` +
          `longest_pause_ms=${result.longestPause.toFixed(1)}\n`,
      )
    }
    const problems = [...result.failures, ...result.mismatches]
    if (problems.length > 0) throw new Error(`inconsistent during the rebuild: ${problems[0]}`)
  }
}
