import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class Get extends KvCommand {
  static override description = 'Print the value of a record.'
  static override examples = ['<%= config.bin %> dbm get casket.tkmt apple', '<%= config.bin %> dbm get --multi casket.tkmb a b c']
  static override strict = false
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    key: Args.string({description: 'the key', required: true}),
  }
  static override flags = {
    ...commonDbmFlags,
    multi: Flags.boolean({description: 'take several keys and print key<TAB>value lines'}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(Get)
    const keys = flags.multi ? (argv as string[]).slice(1) : [args.key]
    const output = await withDbm(openTarget(args.file, flags, false), false, (dbm) => {
      if (flags.multi) {
        const found = dbm.getMulti(keys)
        return {text: found.map(([key, value]) => `${key.toString()}\t${value.toString()}\n`).join(''), missing: found.length < keys.length}
      }
      const value = dbm.get(args.key)
      if (value === undefined) throw new StatusError(Code.NOT_FOUND_ERROR, `no such key: ${args.key}`)
      return {raw: value, missing: false}
    })
    if ('raw' in output && output.raw) {
      process.stdout.write(output.raw)
      await this.write('\n')
    } else {
      await this.write(output.text ?? '')
    }
    if (output.missing) throw new StatusError(Code.NOT_FOUND_ERROR, 'some keys were not found')
  }
}
