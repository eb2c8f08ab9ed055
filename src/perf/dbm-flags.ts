import {Flags} from '@oclif/core'
import type {DBM} from '../engine/dbm.js'
import {parseParams} from '../engine/params.js'
import {openDBM} from '../engine/poly.js'

/** Flags shared by the `kv dbm perf` scenarios, named as in tkrzw_dbm_perf. */
export const perfFlags = {
  dbm: Flags.string({description: 'database class: tiny, baby, cache (hash, tree, skip when available)', default: 'tiny'}),
  iter: Flags.integer({description: 'number of iterations', default: 10000, min: 1}),
  size: Flags.integer({description: 'size of each value in bytes', default: 8, min: 0}),
  path: Flags.string({description: 'file to write the database to (on-memory classes save at the end)'}),
  params: Flags.string({description: 'tuning parameters as "name=value,..."'}),
  random_seed: Flags.integer({description: 'random seed', default: 0}),
  json: Flags.boolean({description: 'print a JSON object instead of the text report'}),
}

export function openPerfDBM(flags: {dbm: string; path?: string; params?: string}): DBM {
  const params = flags.params ? parseParams(flags.params) : new Map<string, string>()
  params.set('dbm', flags.dbm)
  return openDBM(flags.path ?? '', params, {writable: true, truncate: true})
}
