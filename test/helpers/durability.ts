/**
 * Model-based durability checks: a child process runs a random sequence of operations on a
 * database file and is killed with SIGKILL at a random moment; the file must then open
 * (restoring itself), validate with kv and with Tkrzw's own tool, and hold exactly what a
 * model of the acknowledged operations says survives. Each file lives through a chain of
 * such kills, each starting from what the last one left.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'
import {openDBM} from '../../src/engine/poly.js'
import {parseParams} from '../../src/engine/params.js'
import {makeRandom} from '../../src/perf/local.js'
import {run} from './cli.js'
import {applyToModel, durabilityOps, keyOf, savesState, type DurabilityOp} from './durability-ops.js'
import {oracle} from './oracle.js'

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'durability-child.js')

export interface DurabilitySubject {
  /** The file's extension, which chooses the class. */
  extension: string
  /** Tuning, as a configuration string's parameters. */
  params: string
  /** Rebuild parameters, used in turn by the rebuild operations. */
  rebuild: {[name: string]: string}[]
  /**
   * 'write': every acknowledged write survives a kill (the file classes). 'synchronize':
   * what survives is the state of the last synchronize or close (the on-memory classes).
   */
  survives: 'write' | 'synchronize'
  /** In-place updates: the record being updated when the kill lands may be lost, as Tkrzw documents. */
  inPlace?: boolean
}

export interface DurabilityRun {
  dir: string
  /** Sequences in all, each ended by a kill; one kill ends one sequence on each of `files`. */
  sequences: number
  /** Files a child works on at once. */
  files: number
  /** Sequences on one file before the next file starts empty. */
  chain: number
  /** Operations a sequence may run before it is killed. */
  operations: number
  seed: number
}

type Records = Map<string, string>

/** A child that has loaded the engine and waits for its job. */
interface Child {
  process: ChildProcess
  ready: Promise<void>
  /** Resolves when the child is gone and its output read: each file's acknowledgements, and stderr. */
  finished: Promise<{signal: NodeJS.Signals | null; code: number | null; acks: number[]; stderr: string}>
  /** Calls back with the count of acknowledgements so far, or 'done'. */
  onAck: (listener: (total: number | 'done') => void) => void
}

function spawnChild(files: number): Child {
  const child = spawn(process.execPath, [...process.execArgv, CHILD], {stdio: ['pipe', 'pipe', 'pipe']})
  let out = ''
  let stderr = ''
  let total = 0
  const acks: number[] = new Array<number>(files).fill(0)
  let listener: ((total: number | 'done') => void) | undefined
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => (markReady = resolve))
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    const lines = out.split('\n')
    out = lines.pop() ?? ''
    for (const line of lines) {
      if (line === 'ready') markReady()
      else if (line === 'done') listener?.('done')
      else if (line !== '') {
        const [file, op] = line.split(' ').map(Number)
        acks[file] = op
        listener?.(++total)
      }
    }
  })
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const finished = new Promise<{signal: NodeJS.Signals | null; code: number | null; acks: number[]; stderr: string}>((resolve) => {
    child.on('close', (code, signal) => {
      markReady()
      resolve({signal, code, acks, stderr})
    })
  })
  return {process: child, ready, finished, onAck: (next) => (listener = next)}
}

function readRecords(file: string, params: string): Records {
  const dbm = openDBM(file, parseParams(params), {writable: true})
  try {
    const problems = dbm.validateStructure()
    assert.deepEqual(problems, [], `kv finds ${file} invalid after the restore`)
    const records: Records = new Map()
    for (const [key, value] of dbm.records()) records.set(key.toString('latin1'), value.toString('latin1'))
    return records
  } finally {
    dbm.close()
  }
}

function same(a: Records, b: Records, except?: string): boolean {
  const size = (records: Records) => records.size - (except !== undefined && records.has(except) ? 1 : 0)
  if (size(a) !== size(b)) return false
  for (const [key, value] of a) if (key !== except && b.get(key) !== value) return false
  return true
}

function describeDifference(actual: Records, expected: Records): string {
  const missing = [...expected.keys()].filter((key) => !actual.has(key))
  const extra = [...actual.keys()].filter((key) => !expected.has(key))
  const changed = [...expected.keys()].filter((key) => actual.has(key) && actual.get(key) !== expected.get(key))
  return `missing ${JSON.stringify(missing.slice(0, 5))}, unexpected ${JSON.stringify(extra.slice(0, 5))}, different ${JSON.stringify(changed.slice(0, 5))}`
}

/** The states the file may hold after the child acknowledged `acked` operations. */
function survivingStates(subject: DurabilitySubject, start: Records, ops: DurabilityOp[], acked: number): Records[] {
  const live = new Map(start)
  let saved = new Map(start)
  for (const op of ops.slice(0, acked)) {
    applyToModel(live, op)
    if (savesState(op)) saved = new Map(live)
  }
  const inFlight = ops[acked]
  if (subject.survives === 'write') {
    const states = [live]
    if (inFlight) {
      const next = new Map(live)
      applyToModel(next, inFlight)
      states.push(next)
    }
    return states
  }
  const states = [saved]
  if (inFlight && savesState(inFlight)) states.push(new Map(live))
  return states
}

/** Checks what one file kept after a kill; returns what it holds. */
function checkFile(subject: DurabilitySubject, file: string, start: Records, ops: DurabilityOp[], acked: number, where: string): Records {
  const actual = readRecords(file, subject.params)
  const states = survivingStates(subject, start, ops, acked)
  const lost = subject.inPlace && ops[acked] ? keyOf(ops[acked]) : undefined
  const matched = states.some((state) => same(actual, state) || (lost !== undefined && !actual.has(lost) && same(actual, state, lost)))
  assert.ok(matched, `${file} after ${where}: ${describeDifference(actual, states[0])}`)
  if (oracle) {
    const checked = run('tkrzw_dbm_util', ['inspect', '--validate', file])
    assert.equal(checked.status, 0, `tkrzw_dbm_util rejects ${file} after ${where}: ${checked.stdout}${checked.stderr}`)
  }
  const dir = path.dirname(file)
  const leftovers = fs.readdirSync(dir).filter((name) => name.startsWith(`${path.basename(file)}.`))
  assert.deepEqual(leftovers, [], `files left beside the database after ${where}`)
  return actual
}

/** Runs the sequences; fails with the seed and the difference when a file holds the wrong thing. */
export async function checkDurability(subject: DurabilitySubject, options: DurabilityRun): Promise<void> {
  const random = makeRandom(options.seed)
  const slots = Array.from({length: options.files}, () => ({file: '', start: new Map() as Records}))
  const kills = Math.ceil(options.sequences / options.files)
  let pending = spawnChild(options.files)
  try {
    for (let kill = 0; kill < kills; kill++) {
      if (kill % options.chain === 0) {
        slots.forEach((slot, i) => {
          if (slot.file !== '') fs.rmSync(slot.file, {force: true})
          slot.file = path.join(options.dir, `durability-${options.seed}-${kill}-${i}${subject.extension}`)
          slot.start = new Map()
        })
      }
      const child = pending
      pending = spawnChild(options.files)
      const seeds = slots.map((_, i) => (options.seed * 1000 + kill) * 16 + i)
      const killAt = Math.floor(random() * (options.operations * options.files + 1))
      await child.ready
      const stop = () => child.process.kill('SIGKILL')
      child.onAck((total) => {
        if (total === 'done' || total >= killAt) stop()
      })
      const job = {
        files: slots.map((slot, i) => ({path: slot.file, seed: seeds[i]})),
        params: subject.params,
        count: options.operations,
        rebuild: subject.rebuild,
        seed: seeds[0],
      }
      child.process.stdin!.write(`${JSON.stringify(job)}\n`)
      if (killAt === 0) stop()
      const outcome = await child.finished
      assert.equal(outcome.signal, 'SIGKILL', `the child ended on its own (${outcome.code}) at kill ${kill}: ${outcome.stderr}`)
      slots.forEach((slot, i) => {
        let turn = 0
        const ops = durabilityOps(seeds[i], options.operations, () => subject.rebuild[turn++ % subject.rebuild.length])
        const acked = outcome.acks[i]
        const where = `kill ${kill} (seed ${seeds[i]}, ${acked} operations acknowledged, next ${JSON.stringify(ops[acked]?.kind)})`
        slot.start = checkFile(subject, slot.file, slot.start, ops, acked, where)
      })
    }
    for (const slot of slots) fs.rmSync(slot.file, {force: true})
  } finally {
    pending.process.kill('SIGKILL')
    await pending.finished
  }
}
