import {Flags} from '@oclif/core'

/** Where `list` starts, named as in tkrzw_dbm_util and tkrzw_dbm_remote_util. */
export const LIST_MOVES = ['first', 'jump', 'jumplower', 'jumplowerinc', 'jumpupper', 'jumpupperinc'] as const
export type ListMove = (typeof LIST_MOVES)[number]

/** The flags of `kv dbm list` and `kv remote list`. */
export const listFlags = {
  move: Flags.string({description: 'where to start', options: [...LIST_MOVES], default: 'first'}),
  jump_key: Flags.string({description: 'the key to jump to', default: ''}),
  items: Flags.integer({description: 'how many records to print (0 or less: all)', default: 10}),
  escape: Flags.boolean({description: 'escape keys and values C-style'}),
  keys: Flags.boolean({description: 'print keys only'}),
}

/** The moves of a cursor, local (returning nothing) or remote (returning promises). */
interface Movable<T> {
  first(): T
  jump(key: string): T
  jumpLower(key: string, inclusive: boolean): T
  jumpUpper(key: string, inclusive: boolean): T
}

/** Puts a cursor where a listing starts. */
export function startListing<T>(iter: Movable<T>, move: ListMove, key: string): T {
  switch (move) {
    case 'first':
      return iter.first()
    case 'jump':
      return iter.jump(key)
    case 'jumplower':
    case 'jumplowerinc':
      return iter.jumpLower(key, move === 'jumplowerinc')
    case 'jumpupper':
    case 'jumpupperinc':
      return iter.jumpUpper(key, move === 'jumpupperinc')
  }
}
