// A worker thread of `kv perf`: runs its share of the workers with LocalPool and reports
// each phase's operation count and latencies to the main thread.
import {parentPort, workerData} from 'node:worker_threads'
import {LocalPool, type PlainSequenceOptions, type RemotePhase, type RemoteTarget} from './remote.js'

const {target, options, ids} = workerData as {target: RemoteTarget; options: PlainSequenceOptions; ids: number[]}
const port = parentPort!
let pending = 0
let lastReport = 0
const pool = await LocalPool.start(
  target,
  {
    ...options,
    onProgress: (completed) => {
      pending += completed
      const now = Date.now()
      if (now - lastReport >= 100) {
        port.postMessage({kind: 'progress', completed: pending})
        pending = 0
        lastReport = now
      }
    },
  },
  ids,
).catch((error: Error) => {
  port.postMessage({kind: 'error', error: error.message})
  throw error
})
port.postMessage({kind: 'ready'})
port.on('message', async (message: {kind: string; phase?: RemotePhase}) => {
  if (message.kind === 'close') {
    await pool.close()
    port.postMessage({kind: 'closed'})
    return
  }
  try {
    const outcome = await pool.run(message.phase!)
    const samples = Float64Array.from(outcome.samples)
    port.postMessage({kind: 'done', operations: outcome.operations, samples}, [samples.buffer])
  } catch (error) {
    port.postMessage({kind: 'error', error: (error as Error).message})
  }
})
