import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {listFlags, startListing, type ListMove} from '../../src/cli/list-moves.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {tsvField} from '../../src/cli/escape.js'

export default class DbmList extends KvCommand {
  static override description = 'Print records as key<TAB>value lines, from the first or from a jump.'
  static override examples = [
    '<%= config.bin %> dbm list casket.tkmt',
    '<%= config.bin %> dbm list --items 100 --escape casket.tkmb',
    '<%= config.bin %> dbm list --move jumpupper --jump_key m --keys casket.tkmb',
  ]
  static override args = {file: Args.string({description: 'database file or configuration string', required: true})}
  static override flags = {
    ...commonDbmFlags,
    ...listFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(DbmList)
    const lines = await withDbm(openTarget(args.file, flags, false), false, (dbm) => {
      const iter = dbm.makeIterator()
      startListing(iter, flags.move as ListMove, flags.jump_key)
      const out: string[] = []
      const limit = flags.items > 0 ? flags.items : Number.POSITIVE_INFINITY
      for (let record = iter.step(); record && out.length < limit; record = iter.step()) {
        const [key, value] = record
        out.push(flags.keys ? `${tsvField(key, flags.escape)}\n` : `${tsvField(key, flags.escape)}\t${tsvField(value, flags.escape)}\n`)
      }
      return out
    })
    for (const line of lines) await this.writeBinary(line)
  }
}
