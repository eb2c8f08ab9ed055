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
  // A key may have several records (a skip list keeps them until a reducer says otherwise):
  // a lookup finds the first.
  const sizes = new Map<string, number>()
  let records = 0
  dbm.processEach(
    {
      processFull: (key, value) => {
        records++
        const name = key.toString('latin1')
        if (!sizes.has(name)) sizes.set(name, value.length)
        return NOOP
      },
      processEmpty: () => NOOP,
    },
    false,
  )
  const problems: string[] = []
  if (records !== dbm.count()) problems.push(`count is ${dbm.count()} but ${records} records were read`)
  for (const [key, size] of sizes) {
    if (dbm.get(Buffer.from(key, 'latin1'))?.length !== size) problems.push(`record not found by its key: ${Buffer.from(key, 'latin1').toString('hex')}`)
    if (problems.length >= 3) break
  }
  if (problems.length > 0) throw new StatusError(Code.BROKEN_DATA_ERROR, problems.join('; '))
}
