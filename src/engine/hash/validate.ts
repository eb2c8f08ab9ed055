import {OP_REMOVE, OP_VOID, RecordHeader} from './format.js'
import type {RecordFile} from './record-file.js'

/** Problems past this many are not worth listing. */
const MAX_PROBLEMS = 100

/**
 * Checks every record of a hash file: the chains from every bucket (each record where its
 * key hashes, its checksum and CRC right, the live records as many as the count says),
 * then the record section from start to end. Returns the problems found; none means valid.
 */
export function validateHashFile(records: RecordFile, appending: boolean, numRecords: number): string[] {
  const problems: string[] = []
  const header = new RecordHeader()
  const {numBuckets, recordBase, alignment} = records.layout
  let live = 0
  const limit = records.chainLimit()
  for (let bucket = 0; bucket < numBuckets && problems.length < MAX_PROBLEMS; bucket++) {
    let offset = records.readBucket(bucket)
    let steps = 0
    const seen = appending ? new Set<string>() : undefined
    while (offset !== 0) {
      try {
        records.readHeader(offset, header)
      } catch (error) {
        problems.push(`bucket ${bucket}: ${(error as Error).message}`)
        break
      }
      const problem = records.checkRecord(header)
      if (problem) problems.push(problem)
      const key = records.readKey(header)
      if (header.op === OP_VOID) problems.push(`a void record at ${offset} is in the chain of bucket ${bucket}`)
      else if (records.bucketOf(key) !== bucket) problems.push(`the record at ${offset} is in bucket ${bucket}, not its own`)
      else if (seen) {
        const name = key.toString('latin1')
        if (!seen.has(name)) {
          seen.add(name)
          if (header.op !== OP_REMOVE) live++
        }
      } else live++
      offset = header.child
      if (++steps > limit) {
        problems.push(`a cycle in the chain of bucket ${bucket}`)
        break
      }
    }
  }
  if (live !== numRecords) problems.push(`the chains hold ${live} records but the count says ${numRecords}`)
  let offset = recordBase
  const end = records.file.size
  while (offset < end && problems.length < MAX_PROBLEMS) {
    try {
      records.readHeader(offset, header)
    } catch (error) {
      problems.push((error as Error).message)
      break
    }
    const problem = records.checkRecord(header)
    if (problem) problems.push(problem)
    if (header.size <= 0 || header.size % alignment !== 0) {
      problems.push(`the record at ${offset} has a size of ${header.size}, not a multiple of the alignment`)
      break
    }
    offset += header.size
  }
  if (offset > end) problems.push(`the last record runs past the end of the file`)
  return problems
}
