// A child process for the durability tests. It loads the engine, says "ready", and waits
// for one line on stdin: a JSON job naming several database files, each with the seed of
// its operations. It opens them all, then runs their operations interleaved (the next file
// chosen at random), writing "FILE OP" to stdout the moment each operation returns (the
// acknowledgement), and waits to be killed. The parent kills it with SIGKILL at a random
// moment and checks what each file kept: one kill tests every file at once.
import * as fs from 'node:fs'
import type {DBM} from '../../src/engine/dbm.js'
import {openDBM} from '../../src/engine/poly.js'
import {parseParams, type Params} from '../../src/engine/params.js'
import {makeRandom} from '../../src/perf/local.js'
import {Code, isStatus} from '../../src/engine/status.js'
import {durabilityOps, type DurabilityOp} from './durability-ops.js'

export interface DurabilityJob {
  files: {path: string; seed: number}[]
  params: string
  count: number
  /** Rebuild parameters, used in turn. */
  rebuild: {[name: string]: string}[]
  /** Seeds the choice of which file goes next. */
  seed: number
}

function apply(dbm: DBM, op: DurabilityOp, path: string, params: Params): DBM {
  switch (op.kind) {
    case 'set':
      dbm.set(op.key, op.value)
      break
    case 'remove':
      try {
        dbm.remove(op.key)
      } catch (error) {
        // Absent already: the model removes nothing either.
        if (!isStatus(error, Code.NOT_FOUND_ERROR)) throw error
      }
      break
    case 'append':
      dbm.append(op.key, op.value, ',')
      break
    case 'clear':
      dbm.clear()
      break
    case 'sync':
      dbm.synchronize(op.hard)
      break
    case 'rebuild':
      dbm.rebuild(op.params)
      break
    case 'reopen':
      dbm.close()
      return openDBM(path, params, {writable: true})
  }
  return dbm
}

function run(job: DurabilityJob): void {
  const params = parseParams(job.params)
  const files = job.files.map(({path, seed}) => {
    let turn = 0
    const ops = durabilityOps(seed, job.count, () => job.rebuild[turn++ % job.rebuild.length])
    return {path, ops, next: 0, dbm: openDBM(path, params, {writable: true})}
  })
  const random = makeRandom(job.seed)
  for (;;) {
    const open = files.filter((file) => file.next < file.ops.length)
    if (open.length === 0) break
    const file = open[Math.floor(random() * open.length)]
    file.dbm = apply(file.dbm, file.ops[file.next], file.path, params)
    file.next++
    fs.writeSync(1, `${files.indexOf(file)} ${file.next}\n`)
  }
  fs.writeSync(1, 'done\n')
}

let input = ''
process.stdin.on('data', (chunk: Buffer) => {
  input += chunk.toString()
  const newline = input.indexOf('\n')
  if (newline < 0) return
  process.stdin.pause()
  try {
    run(JSON.parse(input.slice(0, newline)) as DurabilityJob)
  } catch (error) {
    fs.writeSync(2, `${(error as Error).stack ?? String(error)}\n`)
    process.exit(3)
  }
  // Stay alive until the parent kills us: ending on our own would be a clean close.
  setInterval(() => {}, 1 << 30)
})
fs.writeSync(1, 'ready\n')
