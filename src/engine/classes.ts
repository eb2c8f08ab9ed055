import type {DBM} from './dbm.js'
import {HashDBM} from './hash/hash-dbm.js'
import {BabyDBM} from './memory/baby.js'
import {CacheDBM} from './memory/cache.js'
import {StdHashDBM, StdTreeDBM} from './memory/std.js'
import {SkipDBM} from './skip/skip-dbm.js'
import {TinyDBM} from './memory/tiny.js'
import {TreeDBM} from './tree/tree-dbm.js'
import type {ParamReader} from './params.js'
import {Code, StatusError} from './status.js'

/** The short names of the database classes, as `dbm=` takes them. */
export type DBMClass = 'hash' | 'tree' | 'skip' | 'tiny' | 'baby' | 'cache' | 'stdhash' | 'stdtree'

/** A tuning parameter a class takes in its configuration string. */
export interface TuningParam {
  name: string
  description: string
}

/** Everything the rest of kv needs to know of a database class. */
export interface ClassInfo {
  name: DBMClass
  /** The name Tkrzw reports for it. */
  className: string
  /** File name extensions that select it; the first is the canonical one. */
  extensions: string[]
  /** Names `dbm=` accepts for it, besides `name` (case does not matter). */
  aliases: string[]
  /** Iterates in key order, with the ordered moves (last, previous, jumpLower/Upper). */
  ordered: boolean
  /** Where the records live: in a file of their own format, or in memory (saved as a flat file). */
  storage: 'file' | 'memory'
  /** Whether an update is seen by reads before a synchronize. */
  visibleBeforeSync: boolean
  /** Whether it drops records by itself to stay within a capacity. */
  evicts: boolean
  /** What `num_buckets` and the like mean for it. */
  params: TuningParam[]
  /** Makes an unopened database from the parameters it takes; absent while the class is not built yet. */
  factory?: (params: ParamReader) => DBM
}

const NUM_BUCKETS: TuningParam = {name: 'num_buckets', description: 'number of hash buckets'}

const HASH_PARAMS: TuningParam[] = [
  NUM_BUCKETS,
  {name: 'update_mode', description: 'in_place or appending'},
  {name: 'record_crc_mode', description: 'CRC of each record: none, crc8, crc16, crc32'},
  {name: 'record_comp_mode', description: 'record compression: none, zlib, zstd, lz4, lzma'},
  {name: 'offset_width', description: 'bytes of a record offset, 3 to 6'},
  {name: 'align_pow', description: 'records start at multiples of 2^align_pow bytes'},
  {name: 'fbp_capacity', description: 'capacity of the free block pool'},
  {name: 'min_read_size', description: 'bytes read at least per record lookup'},
  {name: 'cache_buckets', description: 'accepted for compatibility'},
  {name: 'restore_mode', description: 'how an unclean file is restored: default, sync, read_only, noop'},
]

const TREE_PARAMS: TuningParam[] = [
  ...HASH_PARAMS,
  {name: 'max_page_size', description: 'bytes of a leaf page before it splits'},
  {name: 'max_branches', description: 'children of an inner page before it splits'},
  {name: 'max_cached_pages', description: 'pages held in the cache'},
  {name: 'page_update_mode', description: 'none (pages written at eviction and synchronize) or write (at every change)'},
  {name: 'key_comparator', description: 'key order: lex, lexcase, dec, hex, real, float, signed and pair variants'},
]

const KEY_COMPARATOR: TuningParam = {name: 'key_comparator', description: 'key order: lex, lexcase, dec, hex, real, float, signed'}

/** The database classes. Adding a class is one entry here (and its folder). */
export const CLASSES: readonly ClassInfo[] = [
  {
    name: 'hash',
    className: 'HashDBM',
    extensions: ['tkh', 'hash'],
    aliases: ['hashdbm'],
    ordered: false,
    storage: 'file',
    visibleBeforeSync: true,
    evicts: false,
    params: HASH_PARAMS,
    factory: (params) => new HashDBM(params),
  },
  {
    name: 'tree',
    className: 'TreeDBM',
    extensions: ['tkt', 'tree'],
    aliases: ['treedbm'],
    ordered: true,
    storage: 'file',
    visibleBeforeSync: true,
    evicts: false,
    params: TREE_PARAMS,
    factory: (params) => new TreeDBM(params),
  },
  {
    name: 'skip',
    className: 'SkipDBM',
    extensions: ['tks', 'skip'],
    aliases: ['skipdbm'],
    ordered: true,
    storage: 'file',
    visibleBeforeSync: false,
    evicts: false,
    params: [
      {name: 'step_unit', description: 'records between skip links'},
      {name: 'max_level', description: 'levels of skip links'},
      {name: 'sort_mem_size', description: 'bytes sorted in memory before spilling'},
      {name: 'insert_in_order', description: 'records arrive in key order'},
      {name: 'offset_width', description: 'bytes of a record offset, 3 to 6'},
      {name: 'max_cached_records', description: 'accepted for compatibility'},
      {name: 'restore_mode', description: 'how an unclean file is restored: default, sync, read_only, noop'},
    ],
    factory: (params) => new SkipDBM(params),
  },
  {
    name: 'tiny',
    className: 'TinyDBM',
    extensions: ['tkmt', 'tiny', 'flat'],
    aliases: ['tinydbm'],
    ordered: false,
    storage: 'memory',
    visibleBeforeSync: true,
    evicts: false,
    params: [NUM_BUCKETS],
    factory: (params) => new TinyDBM(params),
  },
  {
    name: 'baby',
    className: 'BabyDBM',
    extensions: ['tkmb', 'baby'],
    aliases: ['babydbm'],
    ordered: true,
    storage: 'memory',
    visibleBeforeSync: true,
    evicts: false,
    params: [KEY_COMPARATOR],
    factory: (params) => new BabyDBM(params),
  },
  {
    name: 'cache',
    className: 'CacheDBM',
    extensions: ['tkmc', 'cache'],
    aliases: ['cachedbm'],
    ordered: false,
    storage: 'memory',
    visibleBeforeSync: true,
    evicts: true,
    params: [
      {name: 'cap_rec_num', description: 'records held at most'},
      {name: 'cap_mem_size', description: 'bytes of memory used at most'},
    ],
    factory: (params) => new CacheDBM(params),
  },
  {
    name: 'stdhash',
    className: 'StdHashDBM',
    extensions: ['tksh', 'stdhash'],
    aliases: ['stdhashdbm'],
    ordered: false,
    storage: 'memory',
    visibleBeforeSync: true,
    evicts: false,
    params: [NUM_BUCKETS],
    factory: (params) => new StdHashDBM(params),
  },
  {
    name: 'stdtree',
    className: 'StdTreeDBM',
    extensions: ['tkst', 'stdtree'],
    aliases: ['stdtreedbm'],
    ordered: true,
    storage: 'memory',
    visibleBeforeSync: true,
    evicts: false,
    params: [],
    factory: (params) => new StdTreeDBM(params),
  },
]

const BY_NAME = new Map(CLASSES.flatMap((info) => [info.name, ...info.aliases].map((name) => [name, info] as const)))
const BY_EXTENSION = new Map(CLASSES.flatMap((info) => info.extensions.map((ext) => [ext, info] as const)))

/** The entry of a class by its short name. */
export function classInfo(name: DBMClass): ClassInfo {
  return CLASSES.find((info) => info.name === name)!
}

/** The classes this build can open. */
export function availableClasses(): ClassInfo[] {
  return CLASSES.filter((info) => info.factory !== undefined)
}

/** The classes that take a tuning parameter, by short name. */
export function classesTaking(param: string): DBMClass[] {
  return CLASSES.filter((info) => info.params.some((p) => p.name === param)).map((info) => info.name)
}

/**
 * The class of a database: `dbm=` wins, then the path's extension (anything after a `-`
 * dropped, so shard files resolve too); an empty path means tiny.
 */
export function selectClass(path: string, dbmParam?: string): ClassInfo {
  if (dbmParam !== undefined && dbmParam !== '' && dbmParam.toLowerCase() !== 'auto') {
    const info = BY_NAME.get(dbmParam.toLowerCase())
    if (!info) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unknown DBM class: ${dbmParam}`)
    return info
  }
  if (path === '') return classInfo('tiny')
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase()
  const dot = base.lastIndexOf('.')
  const ext = dot < 0 ? '' : base.slice(dot + 1).split('-')[0]
  const info = BY_EXTENSION.get(ext)
  if (!info) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unknown DBM class for "${path}": use a known extension or dbm=`)
  }
  return info
}
