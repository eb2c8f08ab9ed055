import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {checkReducer, commonDbmFlags, openTarget, reducerFlag, withDbm} from '../../src/cli/dbm-options.js'
import {selectClass} from '../../src/engine/classes.js'
import {Progress} from '../../src/cli/progress.js'
import {NOOP} from '../../src/engine/dbm.js'

export default class DbmMerge extends KvCommand {
  static override description = 'Copy every record of source databases into a destination database.'
  static override examples = [
    '<%= config.bin %> dbm merge all.tkmb part-1.tkmb part-2.tkmb',
    '<%= config.bin %> dbm merge --no_overwrite all.tkmt new.tkmt',
    '<%= config.bin %> dbm merge --reducer last all.tks day-1.tks day-2.tks',
  ]
  static override strict = false
  static override args = {
    dest_file: Args.string({description: 'the database to fill', required: true}),
    src_file: Args.string({description: 'a database to read (several may follow)', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    no_overwrite: Flags.boolean({description: 'keep records the destination already has'}),
    reducer: reducerFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(DbmMerge)
    const [dest, ...sources] = argv as string[]
    await withDbm(openTarget(dest, flags, true, {create: true}), flags.sync_hard, async (target) => {
      const reducer = checkReducer(target, flags.reducer)
      // Skip lists merge skip files whole at their synchronize, the sources' records first.
      if (target.syncParams().includes('merge') && !flags.no_overwrite && sources.every((source) => selectClass(source).name === 'skip')) {
        target.synchronize(false, {merge: sources.join(':'), ...(reducer ? {reducer} : {})})
        return
      }
      for (const source of sources) {
        await withDbm(openTarget(source, {dbm: 'auto', no_wait: flags.no_wait, no_lock: flags.no_lock}, false), false, (src) => {
          const progress = new Progress(`merging ${source}`, src.count())
          src.processEach(
            {
              processFull: (key, value) => {
                if (!flags.no_overwrite || target.get(key) === undefined) target.set(key, value)
                progress.tick()
                return NOOP
              },
              processEmpty: () => NOOP,
            },
            false,
          )
          progress.done()
        })
      }
      if (reducer) target.synchronize(false, {reducer})
    })
  }
}
