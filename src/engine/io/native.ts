import {createRequire} from 'node:module'
import * as util from 'node:util'

/**
 * The storage engine's native addon (native/kvfile.c): record locks, memory mappings,
 * msync and preallocation. Calls return 0 or a negative errno; `systemError` turns one into
 * the Error a Node.js system call would have thrown.
 */
interface KvFileAddon {
  /** mode 0 unlocks, 1 takes a shared lock, 2 an exclusive one, without waiting. */
  lock(fd: number, mode: number): number
  /** 0: the lock could be taken; -1: held by someone not known; else the holder's process id. */
  holder(fd: number, exclusive: number): number
  allocate(fd: number, offset: number, length: number): number
  /** A Buffer shared with the file's bytes, or a negative errno. */
  map(fd: number, offset: number, length: number, writable: boolean): Buffer | number
  unmap(buffer: Buffer): void
  msync(buffer: Buffer, offset: number, length: number): number
}

const require = createRequire(import.meta.url)
// From dist/src/engine/io/ (and src/engine/io/ when run from source) to native/build/.
export const addon = require('../../../../native/build/Release/kvfile.node') as KvFileAddon

/** An Error like those Node.js throws for a failed system call: `code` ENOSPC and so on. */
export function systemError(errno: number, syscall: string): NodeJS.ErrnoException {
  const [code, description] = util.getSystemErrorMap().get(errno) ?? [`E${-errno}`, 'unknown error']
  const error: NodeJS.ErrnoException = new Error(`${code}: ${description}, ${syscall}`)
  error.code = code
  error.errno = errno
  error.syscall = syscall
  return error
}
