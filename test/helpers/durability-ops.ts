/**
 * The durability tests' operations: a random interleaving of record updates and file
 * lifecycle steps, a pure function of a seed, so that the child that runs them and the
 * parent that models them agree without talking.
 */
import {makeRandom} from '../../src/perf/local.js'

export type DurabilityOp =
  | {kind: 'set'; key: string; value: string}
  | {kind: 'remove'; key: string}
  | {kind: 'append'; key: string; value: string}
  | {kind: 'clear'}
  | {kind: 'sync'; hard: boolean}
  | {kind: 'rebuild'; params: {[name: string]: string}}
  | {kind: 'reopen'}

const KEYS = 60

function valueOf(random: () => number, tag: number): string {
  const roll = random()
  // Mostly short values, sometimes empty, sometimes long enough to move a record.
  const size = roll < 0.05 ? 0 : roll < 0.9 ? Math.floor(random() * 120) : 1000 + Math.floor(random() * 3000)
  const fill = String.fromCharCode(97 + (tag % 26))
  return `${tag}:${fill.repeat(size)}`
}

export function durabilityOps(seed: number, count: number, rebuildParams: () => {[name: string]: string}): DurabilityOp[] {
  const random = makeRandom(seed)
  const ops: DurabilityOp[] = []
  for (let i = 0; i < count; i++) {
    const key = `key${Math.floor(random() * KEYS)}`
    const roll = random()
    if (roll < 0.45) ops.push({kind: 'set', key, value: valueOf(random, i)})
    else if (roll < 0.62) ops.push({kind: 'remove', key})
    else if (roll < 0.8) ops.push({kind: 'append', key, value: valueOf(random, i)})
    else if (roll < 0.88) ops.push({kind: 'sync', hard: random() < 0.15})
    else if (roll < 0.9) ops.push({kind: 'clear'})
    else if (roll < 0.94) ops.push({kind: 'rebuild', params: rebuildParams()})
    else ops.push({kind: 'reopen'})
  }
  return ops
}

/** What an operation does to the records, as a model sees it. */
export function applyToModel(model: Map<string, string>, op: DurabilityOp): void {
  switch (op.kind) {
    case 'set':
      model.set(op.key, op.value)
      break
    case 'remove':
      model.delete(op.key)
      break
    case 'append': {
      const old = model.get(op.key)
      model.set(op.key, old === undefined ? op.value : `${old},${op.value}`)
      break
    }
    case 'clear':
      model.clear()
      break
    default:
      break
  }
}

/** The key an operation changes, when it changes one record. */
export function keyOf(op: DurabilityOp): string | undefined {
  return op.kind === 'set' || op.kind === 'remove' || op.kind === 'append' ? op.key : undefined
}

/** Operations that write the whole state to the file for classes that save at synchronize. */
export function savesState(op: DurabilityOp): boolean {
  return op.kind === 'sync' || op.kind === 'reopen'
}
