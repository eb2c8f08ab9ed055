// A worker thread of `kv dbm perf parallel --threads N`: opens its own shard (or an
// on-memory database of its own), runs its share of the workload, and reports.
import {parentPort, workerData} from 'node:worker_threads'
import {shardPath} from '../engine/shard.js'
import {openDBM} from '../engine/poly.js'
import {runParallelShare, type ParallelOptions, type ParallelShare, type ShardedTarget} from './local-parallel.js'

const {target, options, share} = workerData as {target: ShardedTarget; options: ParallelOptions; share: ParallelShare}
try {
  const file = target.path === '' ? '' : shardPath(target.path, share.thread, share.threads)
  const dbm = openDBM(file, new Map(target.params), {writable: true})
  let result
  try {
    result = runParallelShare(dbm, options, share)
  } finally {
    dbm.close()
  }
  // Only once the shard is closed (its file whole and unlocked) does the run count as done.
  parentPort!.postMessage({result})
} catch (error) {
  parentPort!.postMessage({error: (error as Error).message})
}
