import {KvCommand} from '../../src/cli/base-command.js'
import {listFlags, startListing, type ListMove} from '../../src/cli/list-moves.js'
import {tsvField} from '../../src/cli/escape.js'
import {jsonRecord} from '../../src/cli/json.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'

export default class RemoteList extends KvCommand {
  static override description = 'Print records of a database on the server as key<TAB>value lines, from the first or from a jump.'
  static override examples = [
    '<%= config.bin %> remote list',
    '<%= config.bin %> remote list --items 100 --escape',
    '<%= config.bin %> remote list --index 1 --move jumpupper --jump_key m --keys',
  ]
  static override flags = {
    ...remoteFlags,
    ...listFlags,
  }

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {flags} = await this.parse(RemoteList)
    const records: ReturnType<typeof jsonRecord>[] = []
    await withRemote(flags, async (db) => {
      const iter = db.makeIterator()
      try {
        await startListing(iter, flags.move as ListMove, flags.jump_key)
        const limit = flags.items > 0 ? flags.items : Number.POSITIVE_INFINITY
        for (let n = 0; n < limit; n++) {
          const record = await iter.step()
          if (!record) break
          const [key, value] = record
          if (this.jsonEnabled()) records.push(flags.keys ? jsonRecord(key) : jsonRecord(key, value))
          else await this.writeBinary(flags.keys ? `${tsvField(key, flags.escape)}\n` : `${tsvField(key, flags.escape)}\t${tsvField(value, flags.escape)}\n`)
        }
      } finally {
        iter.close()
      }
    })
    if (this.jsonEnabled()) return records
  }
}
