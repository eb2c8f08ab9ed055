import {Args} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {listFlags, startListing, type ListMove} from '../../src/cli/list-moves.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {tsvField} from '../../src/cli/escape.js'
import {jsonRecord} from '../../src/cli/json.js'

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

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(DbmList)
    const lines = await withDbm(openTarget(args.file, flags, false), false, (dbm) => {
      const iter = dbm.makeIterator()
      startListing(iter, flags.move as ListMove, flags.jump_key)
      const out: string[] = []
      const records: ReturnType<typeof jsonRecord>[] = []
      const json = this.jsonEnabled()
      const limit = flags.items > 0 ? flags.items : Number.POSITIVE_INFINITY
      for (let record = iter.step(); record && out.length + records.length < limit; record = iter.step()) {
        const [key, value] = record
        if (json) {
          records.push(flags.keys ? jsonRecord(key) : jsonRecord(key, value))
          continue
        }
        out.push(flags.keys ? `${tsvField(key, flags.escape)}\n` : `${tsvField(key, flags.escape)}\t${tsvField(value, flags.escape)}\n`)
      }
      return {out, records}
    })
    if (this.jsonEnabled()) return lines.records
    for (const line of lines.out) await this.writeBinary(line)
  }
}
