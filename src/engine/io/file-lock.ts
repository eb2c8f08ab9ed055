import * as fs from 'node:fs'
import {Code, StatusError, fromSystemError} from '../status.js'
import {addon, systemError} from './native.js'
import {sleepSync} from './sleep.js'

/** How a database file is held: writers alone, readers together, or (private files) not at all. */
export type LockMode = 'none' | 'shared' | 'exclusive'

// The files this process holds, by device and inode, to tell "open here already" apart
// from "open in another process" when a lock is refused.
const heldHere = new Map<string, number>()

function inodeKey(stat: fs.Stats): string {
  return `${stat.dev}:${stat.ino}`
}

/** When set, a lock another process holds is waited for (the command line's default, as with Tkrzw's tools). */
let waiting: ((message: string) => void) | undefined

/**
 * Makes this process wait for locks other processes hold instead of failing at once, and
 * tell `notice` once per file what it waits for. For commands; a server never waits.
 */
export function waitForLocks(notice: (message: string) => void): void {
  waiting = notice
}

/**
 * Locks the whole file open at `fd` the way Tkrzw does (a record lock over the file), so
 * that kv and Tkrzw's tools keep out of each other's files: one writer, or any number of
 * readers. A file held elsewhere is a PRECONDITION_ERROR naming the holder, or, after
 * waitForLocks, is waited for.
 * The lock goes with the descriptor: closing it (or the process ending, however it ends)
 * releases it.
 */
export function lockDescriptor(fd: number, path: string, mode: LockMode): void {
  if (mode === 'none') return
  const exclusive = mode === 'exclusive'
  const key = inodeKey(fs.fstatSync(fd))
  let told = false
  for (;;) {
    const rc = addon.lock(fd, exclusive ? 2 : 1)
    if (rc === 0) {
      heldHere.set(key, (heldHere.get(key) ?? 0) + 1)
      return
    }
    const errno = systemError(rc, 'fcntl')
    if (errno.code !== 'EAGAIN' && errno.code !== 'EACCES') throw fromSystemError(errno, `cannot lock ${path}`)
    if (heldHere.has(key)) throw new StatusError(Code.PRECONDITION_ERROR, `${path} is already open in this process`)
    if (waiting === undefined) throw refusal(fd, path)
    if (!told) {
      waiting(`waiting for the lock on ${path}: ${refusal(fd, path).detail.replace(`${path} is `, 'it is ')}`)
      told = true
    }
    sleepSync(50)
  }
}

/** The refusal of a lock another process holds, naming that process. */
function refusal(fd: number, path: string): StatusError {
  // A query for a shared lock is refused only by a writer: that tells writers from readers.
  const writer = addon.holder(fd, 0)
  const holder = writer !== 0 ? writer : addon.holder(fd, 1)
  const pid = holder > 0 ? holder : holder < 0 ? findOfdHolder(fs.fstatSync(fd)) : undefined
  const how = writer !== 0 ? 'for writing' : 'for reading'
  return new StatusError(Code.PRECONDITION_ERROR, `${path} is open ${how} by ${pid !== undefined ? `process ${pid}` : 'another process'}`)
}

/**
 * The process holding an open-file-description lock on a file (kv's own kind, which the
 * lock query cannot name): the one whose descriptor of that file lists the lock. Linux
 * only; undefined where /proc does not tell.
 */
function findOfdHolder(stat: fs.Stats): number | undefined {
  const major = Number((BigInt(stat.dev) >> 8n) & 0xfffn)
  const minor = Number((BigInt(stat.dev) & 0xffn) | ((BigInt(stat.dev) >> 12n) & ~0xffn))
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${stat.ino} `
  let pids: string[]
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
  } catch {
    return undefined
  }
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = fs.readdirSync(`/proc/${pid}/fdinfo`)
    } catch {
      continue
    }
    for (const fd of fds) {
      try {
        if (fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1').includes(id)) return Number(pid)
      } catch {
        // The descriptor closed meanwhile.
      }
    }
  }
  return undefined
}

/** Forgets a lock taken by lockDescriptor; call before closing the descriptor. */
export function forgetLock(fd: number, mode: LockMode): void {
  if (mode === 'none') return
  try {
    const key = inodeKey(fs.fstatSync(fd))
    const count = (heldHere.get(key) ?? 1) - 1
    if (count > 0) heldHere.set(key, count)
    else heldHere.delete(key)
  } catch {
    // A descriptor that cannot be examined holds nothing we track.
  }
}

/**
 * Opens `path` and locks it, checking afterwards that the path still names the file that
 * was locked: a writer that renamed a new file into place meanwhile leaves the lock on a
 * file nobody will use again, so the open is tried again on the new one.
 */
export function openLocked(path: string, flags: number, mode: LockMode): number {
  for (let attempt = 0; ; attempt++) {
    let fd: number
    try {
      fd = fs.openSync(path, flags, 0o644)
    } catch (error) {
      throw fromSystemError(error, `cannot open ${path}`)
    }
    try {
      if (fs.fstatSync(fd).isDirectory()) throw new StatusError(Code.INFEASIBLE_ERROR, `${path} is a directory`)
      lockDescriptor(fd, path, mode)
    } catch (error) {
      fs.closeSync(fd)
      throw fromSystemError(error, `cannot open ${path}`)
    }
    if (mode === 'none' || attempt >= 5 || sameFile(fd, path)) return fd
    forgetLock(fd, mode)
    fs.closeSync(fd)
  }
}

function sameFile(fd: number, path: string): boolean {
  try {
    return inodeKey(fs.fstatSync(fd)) === inodeKey(fs.statSync(path))
  } catch {
    return false
  }
}

/**
 * A lock held on a database file for as long as a database keeps it open, through a
 * descriptor of its own: for the on-memory classes, whose files are read at open and
 * rewritten whole.
 */
export class FileLock {
  private constructor(
    private fd: number,
    readonly path: string,
    readonly mode: LockMode,
  ) {}

  /** Locks the file (mode 'none': only opens it), creating it when `create` is set and it does not exist. */
  static acquire(path: string, mode: LockMode, create = false): FileLock {
    const flags = mode === 'exclusive' || create ? fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0) : fs.constants.O_RDONLY
    return new FileLock(openLocked(path, flags, mode), path, mode)
  }

  get held(): boolean {
    return this.fd >= 0
  }

  release(): void {
    if (this.fd < 0) return
    const fd = this.fd
    this.fd = -1
    forgetLock(fd, this.mode)
    fs.closeSync(fd)
  }
}

/** Whether another process (or another descriptor here) holds the file at `path` for writing; false when it does not exist. */
export function heldForWriting(path: string): boolean {
  let fd: number
  try {
    fd = fs.openSync(path, 'r')
  } catch {
    return false
  }
  try {
    // A query for a shared lock is refused only by a writer.
    return addon.holder(fd, 0) !== 0
  } finally {
    fs.closeSync(fd)
  }
}
