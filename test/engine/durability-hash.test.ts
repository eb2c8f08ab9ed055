import {after, describe, it} from 'node:test'
import {tempDir} from '../helpers/cli.js'
import {checkDurability, type DurabilityRun} from '../helpers/durability.js'

// Every acknowledged write to a hash file survives a kill at any moment. More sequences:
// KV_DURABILITY_SEQUENCES=5000 npm test -- durability
const SEQUENCES = Number(process.env.KV_DURABILITY_SEQUENCES ?? 200)

const {dir, cleanup} = tempDir()
after(cleanup)

function runOf(seed: number): DurabilityRun {
  return {dir, sequences: SEQUENCES, files: 4, chain: 10, operations: 120, seed}
}

describe('hash files keep every acknowledged write through SIGKILL', () => {
  const rebuild: {[name: string]: string}[] = [{}, {num_buckets: '50'}, {num_buckets: '400', align_pow: '4'}]
  it(`in place: ${SEQUENCES} sequences`, () =>
    checkDurability({extension: '.tkh', params: 'num_buckets=100', rebuild, survives: 'write', inPlace: true}, runOf(1)))
  it(`appending, with CRC-32: ${SEQUENCES} sequences`, () =>
    checkDurability({extension: '.tkh', params: 'num_buckets=100,update_mode=appending,record_crc_mode=crc32', rebuild, survives: 'write'}, runOf(2)))
})
