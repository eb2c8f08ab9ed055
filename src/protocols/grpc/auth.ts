import * as fs from 'node:fs'
import {Code, StatusError} from '../../engine/status.js'

/** The PEM files of `--auth ssl:key=FILE,cert=FILE,root=FILE`, read. */
export interface AuthFiles {
  key: Buffer
  cert: Buffer
  root: Buffer
}

/**
 * Parses an auth configuration, the same on both sides: `ssl:` then key, cert and root
 * (the CA that signs the other side's certificate). Every file must exist.
 */
export function parseAuth(config: string): AuthFiles {
  if (!config.startsWith('ssl:')) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unsupported auth "${config}": expected ssl:key=FILE,cert=FILE,root=FILE`)
  }
  const fields = new Map<string, string>()
  for (const item of config.slice(4).split(',')) {
    if (item.trim() === '') continue
    const eq = item.indexOf('=')
    if (eq <= 0) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `malformed auth item "${item}": expected name=FILE`)
    fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim())
  }
  const read = (name: string): Buffer => {
    const file = fields.get(name)
    if (!file) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `auth: ${name}=FILE is missing`)
    try {
      return fs.readFileSync(file)
    } catch (error) {
      throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `auth: cannot read ${name} file ${file}: ${(error as Error).message}`)
    }
  }
  for (const name of fields.keys()) {
    if (!['key', 'cert', 'root'].includes(name)) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `auth: unknown item "${name}"`)
  }
  return {key: read('key'), cert: read('cert'), root: read('root')}
}
