import {after, describe, it} from 'node:test'
import {tempDir} from '../helpers/cli.js'
import {checkDurability, type DurabilityRun} from '../helpers/durability.js'

// On-memory databases keep their file as of the last synchronize or close, whole, through
// a kill at any moment. The classes share the code that saves, so each runs fewer sequences
// than the file classes. More: KV_DURABILITY_SEQUENCES=5000 npm test -- durability
const SEQUENCES = Number(process.env.KV_DURABILITY_SEQUENCES ?? 60)

const {dir, cleanup} = tempDir()
after(cleanup)

function runOf(seed: number): DurabilityRun {
  return {dir, sequences: SEQUENCES, files: 4, chain: 10, operations: 120, seed}
}

describe('on-memory databases keep their last synchronized file through SIGKILL', () => {
  for (const [extension, seed] of [
    ['.tkmt', 11],
    ['.tkmb', 12],
    ['.tkmc', 13],
  ] as const) {
    it(`${extension}: ${SEQUENCES} sequences`, () => checkDurability({extension, params: '', rebuild: [{}], survives: 'synchronize'}, runOf(seed)))
  }
})
