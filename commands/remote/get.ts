import {Args, Flags} from '@oclif/core'
import {argBytes, sxFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {jsonRecord} from '../../src/cli/json.js'
import {tsvField} from '../../src/cli/escape.js'
import {remoteFlags, withRemote} from '../../src/cli/remote-options.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class RemoteGet extends KvCommand {
  static override description = 'Print the value of a record on the server.'
  static override examples = [
    '<%= config.bin %> remote get apple',
    '<%= config.bin %> remote get --multi a b c',
    '<%= config.bin %> remote get --index 1 --escape key',
    '<%= config.bin %> remote get --expiry session:42',
  ]
  static override strict = false
  static override args = {key: Args.string({description: 'the key', required: true})}
  static override flags = {
    ...remoteFlags,
    ...sxFlag,
    multi: Flags.boolean({description: 'take several keys and print key<TAB>value lines'}),
    escape: Flags.boolean({description: 'escape the output C-style'}),
    expiry: Flags.boolean({description: 'also print when the record expires: value<TAB>epoch seconds (0: never)'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, argv, flags} = await this.parse(RemoteGet)
    if (!flags.multi) this.refuseExtraArgs(argv, 1, 'with --multi, get takes several keys')
    const keys = (argv as string[]).map((word) => argBytes(word, flags.sx, 'key'))
    if (flags.multi) {
      const found = await withRemote(flags, (db) => db.getMulti(keys))
      if (this.jsonEnabled()) await this.writeJson(found.map(([key, value]) => jsonRecord(key, value)))
      else for (const [key, value] of found) await this.writeBinary(`${tsvField(key, flags.escape)}\t${tsvField(value, flags.escape)}\n`)
      if (found.length < new Set(keys.map((key) => key.toString('latin1'))).size) throw new StatusError(Code.NOT_FOUND_ERROR, 'some keys were not found')
      return
    }
    const found = await withRemote(flags, (db) => db.getWithExpiry(keys[0]))
    if (found === undefined) throw new StatusError(Code.NOT_FOUND_ERROR, `no such key: ${args.key}`)
    const {value, xt} = found
    if (this.jsonEnabled()) return {...jsonRecord(keys[0], value), ...(flags.expiry ? {expiry: xt} : {})}
    const tail = flags.expiry ? `\t${xt}\n` : '\n'
    if (flags.escape || flags.expiry) await this.writeBinary(`${tsvField(value, flags.escape)}${tail}`)
    else await this.write(Buffer.concat([value, Buffer.from(tail)]))
  }
}
