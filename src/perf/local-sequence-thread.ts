// A worker thread of `kv dbm perf sequence --threads N`: opens its own shard (or an
// on-memory database of its own), runs the phases on the keys that hash to it, and reports.
import {parentPort, workerData} from 'node:worker_threads'
import {openDBM} from '../engine/poly.js'
import {shardPath} from '../engine/shard.js'
import {runSequence, type PhaseResult, type SequenceOptions} from './local.js'
import {shareOfKeys, type ParallelShare, type ShardedTarget} from './local-parallel.js'

const {target, options, share} = workerData as {target: ShardedTarget; options: SequenceOptions; share: ParallelShare}
try {
  const file = target.path === '' ? '' : shardPath(target.path, share.thread, share.threads)
  const keyNumbers = shareOfKeys(options.iterations * share.threads, share)
  const dbm = openDBM(file, new Map(target.params), {writable: true, truncate: options.phases.includes('set')})
  let result: PhaseResult[]
  try {
    result = runSequence(dbm, {...options, keyNumbers})
  } finally {
    dbm.close()
  }
  // Only once the shard is closed (its file whole and unlocked) does the run count as done.
  parentPort!.postMessage({result})
} catch (error) {
  parentPort!.postMessage({error: (error as Error).message})
}
