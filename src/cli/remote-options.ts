import * as os from 'node:os'
import {Flags} from '@oclif/core'
import {secondsFlag} from './args.js'
import type {RemoteTarget} from '../perf/remote.js'
import {RemoteDBM} from '../client/remote-dbm.js'

/** Flags every `kv remote` command takes, named as in tkrzw_dbm_remote_util. */
export const remoteFlags = {
  address: Flags.string({description: 'server address: host:port, [v6]:port or unix:/path', default: '127.0.0.1:1978', env: 'KV_ADDRESS'}),
  timeout: secondsFlag({description: 'seconds each call may take (negative: no limit)', default: -1}),
  auth: Flags.string({description: 'mutual TLS: ssl:key=FILE,cert=FILE,root=FILE'}),
  index: Flags.integer({description: 'index of the database on the server', default: 0}),
}

export interface RemoteFlagValues {
  address: string
  timeout: number
  auth?: string
  index: number
}

/** Connects as the flags say, runs the work and closes the connection, also on failure. */
export async function withRemote<T>(flags: RemoteFlagValues, work: (db: RemoteDBM) => Promise<T>): Promise<T> {
  const timeout = flags.timeout
  // Connecting never waits forever: an unreachable server is an error after a while.
  const db = await RemoteDBM.connect(flags.address, {timeout: timeout < 0 ? undefined : timeout, auth: flags.auth, connectTimeout: timeout < 0 ? 10 : timeout})
  db.setDBMIndex(flags.index)
  try {
    return await work(db)
  } finally {
    db.close()
  }
}

/** Where a benchmark connects, from the remote flags. */
export function remoteTarget(flags: RemoteFlagValues): RemoteTarget {
  const timeout = flags.timeout
  return {
    address: flags.address,
    connect: {timeout: timeout < 0 ? undefined : timeout, connectTimeout: timeout < 0 ? 10 : timeout, auth: flags.auth},
    index: flags.index,
  }
}

/** `--worker_threads`: how many worker threads a benchmark's workers are spread over. */
export const workerThreadsFlag = Flags.integer({
  description: 'spread the workers over this many worker threads, so one client core does not cap the numbers (0: one per core)',
  default: 1,
  min: 0,
})

/** The thread count `--worker_threads` asks for, 0 meaning one per core. */
export function workerThreadCount(flag: number): number {
  return flag === 0 ? os.availableParallelism() : flag
}

/** Flags every `kv perf` scenario takes, named as in tkrzw_dbm_remote_perf. */
export const perfFlags = {
  ...remoteFlags,
  iter: Flags.integer({description: 'operations per worker', default: 10000, min: 1}),
  size: Flags.integer({description: 'value size in bytes', default: 8, min: 0}),
  threads: Flags.integer({description: 'concurrent workers', default: 1, min: 1}),
  separate: Flags.boolean({description: 'one channel per worker instead of one shared channel'}),
  random_seed: Flags.integer({description: 'random seed', default: 0}),
}
