import {Args, Flags} from '@oclif/core'
import {KvCommand} from '../../src/cli/base-command.js'
import {commonDbmFlags, openTarget, withDbm} from '../../src/cli/dbm-options.js'
import {typedAttributes} from '../../src/cli/json.js'
import {printAttributes} from '../../src/cli/table.js'
import {validateDBM} from '../../src/engine/validate.js'
import {Code, StatusError} from '../../src/engine/status.js'

export default class DbmInspect extends KvCommand {
  static override description = 'Print the attributes of a database, or one of them.'
  static override examples = [
    '<%= config.bin %> dbm inspect casket.tkmt',
    '<%= config.bin %> dbm inspect casket.tkmt num_records',
    '<%= config.bin %> dbm inspect --json --validate casket.tkmb',
  ]
  static override args = {
    file: Args.string({description: 'database file or configuration string', required: true}),
    attr: Args.string({description: 'print only this attribute'}),
  }
  static override flags = {
    ...commonDbmFlags,
    validate: Flags.boolean({description: 'check every record too'}),
  }

  static override enableJsonFlag = true

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(DbmInspect)
    const attributes = await withDbm(openTarget(args.file, flags, false), false, (dbm) => {
      if (flags.validate) validateDBM(dbm)
      return [
        ...dbm.inspect(),
        ['actual_file_size', String(dbm.getFileSize())],
        ['healthy_now', String(dbm.isHealthy())],
        ['should_be_rebuilt', String(dbm.shouldBeRebuilt())],
        ...(flags.validate ? [['validation', 'ok']] : []),
      ] as [string, string][]
    })
    if (args.attr !== undefined) {
      const found = attributes.find(([name]) => name === args.attr)
      if (!found) throw new StatusError(Code.NOT_FOUND_ERROR, `no such attribute: ${args.attr}`)
      if (this.jsonEnabled()) return typedAttributes([found])
      await this.write(`${found[1]}\n`)
      return
    }
    if (this.jsonEnabled()) return typedAttributes(attributes)
    await this.write(printAttributes(attributes))
  }
}
