import {Args, Flags} from '@oclif/core'
import {argBytes, sxFlag} from '../../src/cli/args.js'
import {KvCommand} from '../../src/cli/base-command.js'
import {jsonRecord} from '../../src/cli/json.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {readWithExpiry} from '../../src/engine/expiry/expiring-dbm.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class DbmGet extends KvCommand {
  static override description = 'Print the value of a record.'
  static override examples = ['<%= config.bin %> dbm get casket.tkmt apple', '<%= config.bin %> dbm get --multi casket.tkmb a b c']
  static override strict = false
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    key: Args.string({description: 'the key', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    ...sxFlag,
    multi: Flags.boolean({description: 'take several keys and print key<TAB>value lines'}),
    expiry: Flags.boolean({description: 'also print when the record expires: value<TAB>epoch seconds (0: never)'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, argv, flags} = await this.parse(DbmGet)
    if (!flags.multi) this.refuseExtraArgs(argv, 2, 'with --multi, get takes several keys')
    const keys = (argv as string[]).slice(1).map((word) => argBytes(word, flags.sx, 'key'))
    let expiry = 0
    const found = await withDbm(openTarget(args.file, flags, false), false, (dbm) => {
      if (flags.expiry) expiry = readWithExpiry(dbm, keys[0])?.xt ?? 0
      return dbm.getMulti(keys)
    })
    if (flags.multi) {
      if (this.jsonEnabled()) await this.writeJson(found.map(([key, value]) => jsonRecord(key, value)))
      else for (const [key, value] of found) await this.write(Buffer.concat([key, Buffer.from('\t'), value, Buffer.from('\n')]))
      if (found.length < keys.length) throw new StatusError(Code.NOT_FOUND_ERROR, 'some keys were not found')
      return
    }
    if (found.length === 0) throw new StatusError(Code.NOT_FOUND_ERROR, `no such key: ${args.key}`)
    if (this.jsonEnabled()) return {...jsonRecord(found[0][0], found[0][1]), ...(flags.expiry ? {expiry} : {})}
    await this.write(Buffer.concat([found[0][1], Buffer.from(flags.expiry ? `\t${expiry}\n` : '\n')]))
  }
}
