import * as fs from 'node:fs'
import {heldForWriting} from '../io/file-lock.js'
import {fromSystemError} from '../status.js'
import {listLogFiles, readLogHeader, type LogHeader} from './format.js'

/** A log file and what its header says. */
export interface LogFileInfo {
  path: string
  header: LogHeader
}

/** The files of a prefix with their headers, oldest first; those whose newest record is older than `since` are left out. */
export function logFileInfos(prefix: string, since = 0): LogFileInfo[] {
  const infos: LogFileInfo[] = []
  for (const file of listLogFiles(prefix)) {
    const header = readLogHeader(file.path)
    if (header.timestamp >= since) infos.push({path: file.path, header})
  }
  return infos
}

/**
 * Removes the files whose newest record is older than `threshold` (milliseconds), oldest
 * first; with `excludeLatest`, never the last one. A file a writer holds open is never
 * removed, whatever its header says (the header is as old as the writer's last save).
 * Returns the paths removed.
 */
export function removeOldLogFiles(prefix: string, threshold: number, excludeLatest: boolean): string[] {
  const files = listLogFiles(prefix)
  if (excludeLatest) files.pop()
  const removed: string[] = []
  for (const file of files) {
    if (readLogHeader(file.path).timestamp >= threshold || heldForWriting(file.path)) continue
    try {
      fs.rmSync(file.path)
    } catch (error) {
      throw fromSystemError(error, `cannot remove ${file.path}`)
    }
    removed.push(file.path)
  }
  return removed
}
