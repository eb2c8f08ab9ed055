import {COMP_AES, COMP_LZ4, COMP_LZMA, COMP_NONE, COMP_RC4, COMP_ZLIB, COMP_ZSTD} from '../io/compress.js'
import {ParamReader} from '../params.js'
import {Code, StatusError} from '../status.js'
import {DEFAULT_FBP_CAPACITY, DEFAULT_MIN_READ_SIZE, MAX_ALIGN_POW, MAX_OFFSET_WIDTH, MIN_OFFSET_WIDTH, UPDATE_APPENDING, UPDATE_IN_PLACE} from './format.js'

export type RestoreMode = 'default' | 'sync' | 'read_only' | 'noop'

/** HashDBM's tuning. -1 (or undefined) means "as the file says, or the default". */
export interface HashTuning {
  numBuckets: number
  offsetWidth: number
  alignPow: number
  updateMode: number
  crcWidth: number
  compMode: number
  restoreMode: RestoreMode
  restoreWithHardSync: boolean
  fbpCapacity: number
  minReadSize: number
  /**
   * Never overwrite a record where it lies: every update is written to a new region and
   * linked in before the old one is freed, so that a kill in the middle leaves an intact
   * copy. Not a parameter: a tree database asks it for its pages.
   */
  writeAside?: boolean
  /**
   * Read and write the file with system calls rather than through a memory mapping (see
   * MappedFileOptions.positional). Not a parameter: a tree database asks it, since it keeps
   * the pages it reads in its own cache.
   */
  positionalIO?: boolean
}

export function defaultTuning(): HashTuning {
  return {
    numBuckets: -1,
    offsetWidth: -1,
    alignPow: -1,
    updateMode: -1,
    crcWidth: -1,
    compMode: -1,
    restoreMode: 'default',
    restoreWithHardSync: false,
    fbpCapacity: DEFAULT_FBP_CAPACITY,
    minReadSize: DEFAULT_MIN_READ_SIZE,
  }
}

const UPDATE_MODES = {
  [UPDATE_IN_PLACE]: ['update_in_place', 'in_place', 'inplace', 'in-place'],
  [UPDATE_APPENDING]: ['update_appending', 'appending', 'append'],
}

const CRC_MODES: {[width: string]: string[]} = {
  '0': ['record_crc_none', 'crc_none', 'none'],
  '8': ['record_crc_8', 'crc_8', 'crc-8', 'crc8', '8'],
  '16': ['record_crc_16', 'crc_16', 'crc-16', 'crc16', '16'],
  '32': ['record_crc_32', 'crc_32', 'crc-32', 'crc32', '32'],
}

const COMP_MODES: {[mode: string]: string[]} = {
  [COMP_NONE]: ['record_comp_none', 'comp_none', 'none'],
  [COMP_ZLIB]: ['record_comp_zlib', 'comp_zlib', 'zlib', 'deflate'],
  [COMP_ZSTD]: ['record_comp_zstd', 'comp_zstd', 'zstd'],
  [COMP_LZ4]: ['record_comp_lz4', 'comp_lz4', 'lz4'],
  [COMP_LZMA]: ['record_comp_lzma', 'comp_lzma', 'lzma', 'xz'],
  [COMP_RC4]: ['record_comp_rc4', 'comp_rc4', 'rc4', 'arcfour'],
  [COMP_AES]: ['record_comp_aes', 'comp_aes', 'aes', 'rijndael'],
}

const RESTORE_MODES: {[mode in RestoreMode]: string[]} = {
  default: ['restore_default', 'default'],
  sync: ['restore_sync', 'sync'],
  read_only: ['restore_read_only', 'read_only'],
  noop: ['restore_noop', 'noop'],
}

function pick(name: string, text: string, table: {[value: string]: string[]}): string {
  const word = text.trim().toLowerCase()
  for (const [value, aliases] of Object.entries(table)) if (aliases.includes(word)) return value
  throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `${name}: unknown value: "${text}"`)
}

/** Takes HashDBM's parameters off a reader (the caller reports whatever is left). */
export function readHashTuning(params: ParamReader, base: HashTuning = defaultTuning()): HashTuning {
  const tuning = {...base}
  tuning.numBuckets = params.int('num_buckets', base.numBuckets, 0)
  tuning.offsetWidth = params.int('offset_width', base.offsetWidth, MIN_OFFSET_WIDTH)
  if (tuning.offsetWidth > MAX_OFFSET_WIDTH) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `offset_width: must be at most ${MAX_OFFSET_WIDTH}`)
  }
  tuning.alignPow = params.int('align_pow', base.alignPow, 0)
  if (tuning.alignPow > MAX_ALIGN_POW) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `align_pow: must be at most ${MAX_ALIGN_POW}`)
  const update = params.string('update_mode')
  if (update !== undefined) tuning.updateMode = Number(pick('update_mode', update, UPDATE_MODES))
  const crc = params.string('record_crc_mode')
  if (crc !== undefined) tuning.crcWidth = Number(pick('record_crc_mode', crc, CRC_MODES))
  const comp = params.string('record_comp_mode')
  if (comp !== undefined) tuning.compMode = Number(pick('record_comp_mode', comp, COMP_MODES))
  const restore = params.string('restore_mode')
  if (restore !== undefined) {
    // The base mode may carry options joined with colons or bars.
    let mode: RestoreMode = 'default'
    for (const part of restore.split(/[:|]/)) {
      const word = part.trim().toLowerCase()
      if (word === '') continue
      if (['restore_no_shortcuts', 'no_shortcuts'].includes(word)) continue
      if (['restore_with_hardsync', 'with_hardsync'].includes(word)) tuning.restoreWithHardSync = true
      else mode = pick('restore_mode', part, RESTORE_MODES) as RestoreMode
    }
    tuning.restoreMode = mode
  }
  tuning.fbpCapacity = params.int('fbp_capacity', base.fbpCapacity, 0)
  tuning.minReadSize = params.int('min_read_size', base.minReadSize, 0)
  params.bool('cache_buckets', false)
  // Encryption is not offered; its key is accepted so that configurations carry over.
  params.ignore('cipher_key')
  return tuning
}
