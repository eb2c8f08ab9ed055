import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {tsvField} from '../../src/cli/escape.js'
import {jsonRecord} from '../../src/cli/json.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {SEARCH_MODES} from '../../src/engine/search.js'

export default class RemoteSearch extends KvCommand {
  static override description = `Find records on the server whose keys match a pattern, and print them.

Modes: contain, begin, end, regex, edit, editbin, containcase, containword,
containcaseword, their "*" forms (several patterns separated by newlines), upper,
upperinc, lower and lowerinc (ordered databases only). --items 0 means no limit in every
mode; tkrzw_server answers nothing for the upper and lower modes with a limit of 0.`
  static override examples = [
    '<%= config.bin %> remote search --mode begin app',
    '<%= config.bin %> remote search --mode regex --items 100 "^user:[0-9]+$"',
    '<%= config.bin %> remote search --mode edit --keys aple',
  ]
  static override args = {pattern: Args.string({description: 'the pattern', required: true})}
  static override flags = {
    ...remoteFlags,
    mode: Flags.string({description: 'how keys match', options: [...SEARCH_MODES], default: 'contain'}),
    items: Flags.integer({description: 'most keys to return (0: no limit)', default: 10}),
    escape: Flags.boolean({description: 'escape keys and values C-style'}),
    keys: Flags.boolean({description: 'print keys only'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(RemoteSearch)
    const records: ReturnType<typeof jsonRecord>[] = []
    await withRemote(flags, async (db) => {
      const keys = await db.search(flags.mode, args.pattern, Math.max(0, flags.items))
      if (flags.keys) {
        if (this.jsonEnabled()) records.push(...keys.map((key) => jsonRecord(key)))
        else for (const key of keys) await this.writeBinary(`${tsvField(key, flags.escape)}\n`)
        return
      }
      // Values come in chunks of GetMulti; records removed meanwhile are left out.
      for (let i = 0; i < keys.length; i += 100) {
        const chunk = keys.slice(i, i + 100)
        const values = new Map((await db.getMulti(chunk)).map(([key, value]) => [key.toString('latin1'), value]))
        for (const key of chunk) {
          const value = values.get(key.toString('latin1'))
          if (value !== undefined && this.jsonEnabled()) records.push(jsonRecord(key, value))
          else if (value !== undefined) await this.writeBinary(`${tsvField(key, flags.escape)}\t${tsvField(value, flags.escape)}\n`)
        }
      }
    })
    if (this.jsonEnabled()) return records
  }
}
