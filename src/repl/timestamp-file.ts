import * as fs from 'node:fs'
import {fromSystemError} from '../engine/status.js'

/**
 * Writes a replica's timestamp file: the newest applied master timestamp in milliseconds and
 * a line feed, as Tkrzw's replicas write it. Atomically: a whole new file takes the name, so
 * a crash leaves the old value or the new one, never a torn one.
 */
export function writeTimestampFile(path: string, timestamp: number): void {
  const temp = `${path}.tmp`
  try {
    fs.writeFileSync(temp, `${Math.trunc(timestamp)}\n`)
    fs.renameSync(temp, path)
  } catch (error) {
    fs.rmSync(temp, {force: true})
    throw fromSystemError(error, `cannot write ${path}`)
  }
}

/** The newest timestamp a replica applied before, from its timestamp file; undefined when there is none (what is wrong with a file that is there but holds garbage goes to `complain`). */
export function readTimestampFile(path: string, complain: (message: string) => void): number | undefined {
  let text: string
  try {
    text = fs.readFileSync(path, 'latin1').slice(0, 32)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') complain(`cannot read the timestamp file ${path}: ${(error as Error).message}`)
    return undefined
  }
  if (text.trim() === '') return undefined
  const value = Number(text.trim())
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) {
    complain(`the timestamp file ${path} holds no timestamp ("${text.trim().slice(0, 20)}"); it is not used`)
    return undefined
  }
  return value
}
