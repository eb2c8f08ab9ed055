import * as fs from 'node:fs'
import * as os from 'node:os'
import * as nodePath from 'node:path'
import {classInfo, type DBMClass} from '../engine/classes.js'
import type {DBM} from '../engine/dbm.js'
import {parseParams} from '../engine/params.js'
import {openDBM} from '../engine/poly.js'
import type {ShardedTarget} from '../perf/local-parallel.js'

/** Where a benchmark on worker threads runs: one shard per thread, and how to look at them together afterwards. */
export interface ThreadedTarget {
  target: ShardedTarget
  /**
   * Runs work on the shards opened as one sharded database, and closes it; nothing for
   * on-memory shards without files, which are gone with their threads.
   */
  withSharded: <T>(writable: boolean, work: (dbm: DBM) => T) => T | undefined
  /** Removes the temporary directory a file class was given when no --path named one. */
  cleanup: () => void
}

/** The shards of a threaded benchmark: --path, or a temporary directory for file classes, or none for on-memory ones. */
export function threadedTarget(flags: {dbm: string; path?: string; params?: string}, threads: number): ThreadedTarget {
  let dir: string | undefined
  let file = flags.path ?? ''
  if (file === '' && classInfo(flags.dbm as DBMClass).storage === 'file') {
    dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'kv-perf-'))
    file = nodePath.join(dir, 'casket')
  }
  const params: [string, string][] = [['dbm', flags.dbm], ...(flags.params ? [...parseParams(flags.params)] : [])]
  return {
    target: {path: file, params},
    withSharded: (writable, work) => {
      if (file === '') return undefined
      const dbm = openDBM(file, new Map([...params, ['num_shards', String(threads)]]), {writable})
      try {
        return work(dbm)
      } finally {
        dbm.close()
      }
    },
    cleanup: () => {
      if (dir) fs.rmSync(dir, {recursive: true, force: true})
    },
  }
}
