import * as fs from 'node:fs'
import type {DBM} from '../../src/engine/dbm.js'

/**
 * Leaves a database's file as a killed process would: the bytes as they are while it is
 * open (marked "not closed", padding and all), with the database closed in this process.
 */
export function leaveAsCrashed(dbm: DBM): void {
  const file = dbm.getFilePath()
  const bytes = fs.readFileSync(file)
  dbm.close()
  fs.writeFileSync(file, bytes)
}
