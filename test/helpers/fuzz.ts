import {execFileSync} from 'node:child_process'

/** A process' resident memory in MiB. */
export function rssMB(pid: number): number {
  return (
    Number(
      execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
        .toString()
        .trim(),
    ) / 1024
  )
}
