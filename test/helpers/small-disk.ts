import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import {run} from './cli.js'

export interface SmallDisk {
  dir: string
  cleanup: () => void
}

/**
 * A tmpfs of `size` (such as "8m") mounted on a fresh directory, for tests of a full disk;
 * undefined where this process may not mount (not root, or no mount namespace rights).
 */
export function mountSmallDisk(size: string): SmallDisk | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kv-small-disk-'))
  const mounted = run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  if (mounted.status !== 0) {
    fs.rmSync(dir, {recursive: true, force: true})
    return undefined
  }
  return {
    dir,
    cleanup: () => {
      run('umount', ['-l', dir])
      fs.rmSync(dir, {recursive: true, force: true})
    },
  }
}

export const SMALL_DISK_SKIP = 'cannot mount a tmpfs here (needs root): the full-disk tests need a small filesystem'
