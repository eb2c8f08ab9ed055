import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from '../status.js'

/**
 * One writer per database file: a writer holds `<path>.lock`, created exclusively and
 * holding its process id. A lock left by a process that no longer runs (killed, say) is
 * taken over, so a crash never locks a database out.
 */
export class FileLock {
  private constructor(readonly lockPath: string) {}

  static acquire(path: string): FileLock {
    const lockPath = `${path}.lock`
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = fs.openSync(lockPath, 'wx', 0o644)
        try {
          fs.writeSync(fd, `${process.pid}\n`)
        } finally {
          fs.closeSync(fd)
        }
        return new FileLock(lockPath)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fromSystemError(error, `cannot lock ${path}`)
      }
      const holder = readHolder(lockPath)
      if (holder !== undefined && holder !== process.pid && isRunning(holder)) {
        throw new StatusError(Code.PRECONDITION_ERROR, `${path} is open for writing by process ${holder}`)
      }
      if (holder === process.pid) {
        throw new StatusError(Code.PRECONDITION_ERROR, `${path} is already open for writing in this process`)
      }
      // The holder is gone (or the file is being written right now): clear a stale lock.
      if (holder !== undefined) fs.rmSync(lockPath, {force: true})
    }
    throw new StatusError(Code.PRECONDITION_ERROR, `cannot lock ${path}: ${lockPath} keeps reappearing`)
  }

  release(): void {
    fs.rmSync(this.lockPath, {force: true})
  }
}

function readHolder(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockPath, 'utf8').trim(), 10)
    if (Number.isSafeInteger(pid) && pid > 0) return pid
    // A lock file without a pid is being created this instant, or was left by a writer
    // killed in that instant: held (0) while fresh, stale (-1) after a few seconds.
    return Date.now() - fs.statSync(lockPath).mtimeMs < 5000 ? 0 : -1
  } catch {
    return undefined
  }
}

function isRunning(pid: number): boolean {
  if (pid === 0) return true
  if (pid < 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
