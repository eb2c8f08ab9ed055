import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ANY_VALUE, NOOP, REMOVE, type Change, type DBM, type WriteObserver} from '../../src/engine/dbm.js'
import {makeRandom as rng} from '../../src/perf/local.js'
import {Code, StatusError} from '../../src/engine/status.js'
import {contentsOf, rejects, targets, withDBOf} from './support.js'

/** Records every change it hears of, as [op, key, value] in latin1. */
class Recorder implements WriteObserver {
  readonly changes: [op: string, key?: string, value?: string][] = []
  afterWrite(change: Change): void {
    if (change.op === 'clear') this.changes.push(['clear'])
    else if (change.op === 'remove') this.changes.push(['remove', change.key.toString('latin1')])
    else this.changes.push(['set', change.key.toString('latin1'), change.value.toString('latin1')])
  }

  /** The changes as text, for short checks. */
  text(): string[] {
    return this.changes.map(([op, key, value]) => (op === 'set' ? `set ${key}=${value}` : op === 'remove' ? `remove ${key}` : op))
  }
}

/** Replays recorded changes on a Map. */
function replay(changes: Recorder['changes']): Map<string, string> {
  const state = new Map<string, string>()
  for (const [op, key, value] of changes) {
    if (op === 'clear') state.clear()
    else if (op === 'remove') state.delete(key!)
    else state.set(key!, value!)
  }
  return state
}

const sorted = (map: Map<string, string>): Map<string, string> => new Map([...map].sort())

/** Runs an operation an observer refuses. */
function refused(fn: () => unknown): void {
  rejects(Code.INFEASIBLE_ERROR, fn)
}

/** Runs an operation that may fail with a status; other errors are bugs. */
function attempt(fn: () => unknown): boolean {
  try {
    fn()
    return true
  } catch (error) {
    if (error instanceof StatusError) return false
    throw error
  }
}

// The DBM contract: the write observer sees every change exactly once, from every path,
// and may rewrite or veto it, for every class.
// With expiration, observers hang on the stored records and see values with their expiry
// time, which is what an update log needs: test/engine/expiry.test.ts covers them.
for (const target of targets().filter((target) => !target.name.includes('expiration'))) {
  const withDB = withDBOf(target)
  describe(`${target.name}: the write observer`, () => {
    it(
      'sees exactly the changes of every path, once each, over random operations',
      withDB((dbm) => {
        const recorder = new Recorder()
        dbm.addWriteObserver(recorder)
        const random = rng(777)
        const model = new Map<string, string>()
        let expectedChanges = 0
        const keyOf = () => `k${Math.floor(random() * 300)}`
        const set = (key: string, value: string) => {
          model.set(key, value)
          expectedChanges++
        }
        const remove = (key: string) => {
          if (model.delete(key)) expectedChanges++
        }
        for (let i = 0; i < 6000; i++) {
          const key = keyOf()
          const r = random()
          if (r < 0.2) {
            dbm.set(key, `v${i}`)
            set(key, `v${i}`)
          } else if (r < 0.25) {
            if (attempt(() => dbm.set(key, `n${i}`, false))) set(key, `n${i}`)
          } else if (r < 0.33) {
            attempt(() => dbm.remove(key))
            remove(key)
          } else if (r < 0.41) {
            dbm.append(key, `a${i}`, ':')
            set(key, model.has(key) ? `${model.get(key)}:a${i}` : `a${i}`)
          } else if (r < 0.46) {
            const value = dbm.increment(key === 'k0' ? 'counter' : `n${key}`, 3)
            set(key === 'k0' ? 'counter' : `n${key}`, Buffer.from(value.toString(16).padStart(16, '0'), 'hex').toString('latin1'))
          } else if (r < 0.52) {
            if (attempt(() => dbm.compareExchange(key, model.get(key) ?? null, `c${i}`))) set(key, `c${i}`)
          } else if (r < 0.55) {
            if (attempt(() => dbm.compareExchange(key, ANY_VALUE, null))) remove(key)
          } else if (r < 0.6) {
            const other = keyOf()
            if (model.has(key)) {
              const value = model.get(key)!
              dbm.rekey(key, other)
              set(other, value)
              if (other !== key) remove(key)
            }
          } else if (r < 0.65) {
            const records: [string, string][] = [
              [key, `m${i}`],
              [keyOf(), `m${i}`],
            ]
            dbm.setMulti(records)
            for (const [k, v] of records) set(k, v)
          } else if (r < 0.68) {
            const keys = [key, keyOf()]
            attempt(() => dbm.removeMulti(keys))
            for (const k of keys) remove(k)
          } else if (r < 0.72) {
            const expected: [string, string | null][] = [[key, model.get(key) ?? null]]
            dbm.compareExchangeMulti(expected, [[key, `x${i}`]])
            set(key, `x${i}`)
          } else if (r < 0.76) {
            const queued = dbm.pushLast(`q${i}`)
            set(queued.toString('latin1'), `q${i}`)
          } else if (r < 0.79) {
            const first = dbm.popFirst()
            if (first) remove(first[0].toString('latin1'))
          } else if (r < 0.84) {
            const iter = dbm.makeIterator()
            iter.jump(key)
            const at = iter.getKey()
            if (at) {
              if (random() < 0.5) {
                iter.set(`i${i}`)
                set(at.toString('latin1'), `i${i}`)
              } else {
                iter.remove()
                remove(at.toString('latin1'))
              }
            }
          } else if (r < 0.845) {
            // Every record whose key ends in 7 goes; the others stay untouched.
            dbm.processEach({processFull: (k) => (k.toString('latin1').endsWith('7') ? REMOVE : NOOP), processEmpty: () => NOOP}, true)
            for (const k of [...model.keys()]) if (k.endsWith('7')) remove(k)
          } else if (r < 0.847) {
            dbm.clear()
            model.clear()
            expectedChanges++
          } else {
            assert.equal(dbm.get(key)?.toString('latin1'), model.get(key))
          }
        }
        assert.equal(recorder.changes.length, expectedChanges, 'each change heard once')
        assert.deepEqual(sorted(replay(recorder.changes)), sorted(model))
        assert.deepEqual(sorted(contentsOf(dbm)), sorted(model))
      }),
    )

    it(
      'lets an observer rewrite writes before they are applied, and refuse them whole',
      withDB((dbm: DBM) => {
        const recorder = new Recorder()
        dbm.addWriteObserver({
          beforeWrite: (change) => {
            if (change.op === 'clear') throw new StatusError(Code.INFEASIBLE_ERROR, 'no clearing')
            const key = change.key.toString('latin1')
            if (key.startsWith('keep') && change.op === 'remove') throw new StatusError(Code.INFEASIBLE_ERROR, 'kept')
            if (key.startsWith('upper') && change.op === 'set') return {...change, value: Buffer.from(change.value.toString('latin1').toUpperCase(), 'latin1')}
            if (key.startsWith('gone') && change.op === 'set') return {op: 'remove', key: change.key}
            if (key === 'rekeyed') throw new StatusError(Code.INFEASIBLE_ERROR, 'not that name')
            if (key === 'edit' && change.op === 'set') {
              // A change edited where it stands counts like a rewritten one.
              change.value.fill(0x21)
              return change
            }
            if (key === 'moved' && change.op === 'set') return {...change, key: Buffer.from('elsewhere')}
            return change
          },
        })
        dbm.addWriteObserver(recorder)
        dbm.set('keep1', 'a')
        refused(() => dbm.remove('keep1'))
        dbm.set('upper1', 'abc')
        dbm.append('upper1', 'def')
        dbm.set('plain', 'x')
        dbm.set('gone1', 'never stored')
        dbm.set('edit', 'ab')
        dbm.append('edit', 'cd')
        refused(() => dbm.clear())
        // A multi-step operation stops with the error at the step refused (here the first).
        refused(() => dbm.rekey('plain', 'rekeyed'))
        rejects(Code.INVALID_ARGUMENT_ERROR, () => dbm.set('moved', 'x'))
        assert.equal(dbm.get('keep1')?.toString(), 'a')
        assert.equal(dbm.get('upper1')?.toString(), 'ABCDEF')
        assert.equal(dbm.get('gone1'), undefined)
        assert.equal(dbm.get('edit')?.toString(), '!!!!')
        assert.equal(dbm.get('plain')?.toString(), 'x')
        assert.equal(dbm.get('moved'), undefined)
        assert.equal(dbm.count(), 4)
        assert.deepEqual(recorder.text(), ['set keep1=a', 'set upper1=ABC', 'set upper1=ABCDEF', 'set plain=x', 'set edit=!!', 'set edit=!!!!'])
      }),
    )

    it(
      'reports nothing for writes that change nothing, and stops when removed',
      withDB((dbm) => {
        const recorder = new Recorder()
        const stop = dbm.addWriteObserver(recorder)
        dbm.set('a', '1')
        attempt(() => dbm.set('a', '2', false))
        attempt(() => dbm.remove('missing'))
        attempt(() => dbm.compareExchange('a', 'wrong', 'x'))
        dbm.increment('n', -(2n ** 63n))
        dbm.get('a')
        stop()
        dbm.set('b', '2')
        assert.deepEqual(recorder.text(), ['set a=1'])
      }),
    )
  })
}
