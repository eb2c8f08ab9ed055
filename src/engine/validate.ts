import {NOOP, type DBM} from './dbm.js'
import {Code, StatusError} from './status.js'

/**
 * Reads every record, then finds each one again by its key and checks the count. Lookups
 * run after the scan because in an LRU cache a lookup reorders records under a cursor.
 * File classes add their own structural checks on top.
 */
export function validateDBM(dbm: DBM): void {
  const structural = dbm.validateStructure()
  if (structural.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, structural.slice(0, 3).join('; '))
  const sizes = new Map<string, number>()
  dbm.processEach(
    {
      processFull: (key, value) => {
        sizes.set(key.toString('latin1'), value.length)
        return NOOP
      },
      processEmpty: () => NOOP,
    },
    false,
  )
  const problems: string[] = []
  if (sizes.size !== dbm.count()) problems.push(`count is ${dbm.count()} but ${sizes.size} records were read`)
  for (const [key, size] of sizes) {
    if (dbm.get(Buffer.from(key, 'latin1'))?.length !== size) problems.push(`record not found by its key: ${Buffer.from(key, 'latin1').toString('hex')}`)
    if (problems.length >= 3) break
  }
  if (problems.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, problems.join('; '))
}
