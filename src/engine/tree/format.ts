import {findComparator, type NamedComparator} from '../comparators.js'
import {readUintBE, writeUintBE} from '../io/big-endian.js'
import {Code, StatusError} from '../status.js'

/**
 * The file B+ tree's layout inside a hash file (Tkrzw's TreeDBM format): its metadata in
 * the hash file's 64 opaque bytes, every page a hash record keyed by its 6-byte big-endian
 * ID. Leaf IDs count from 1, inner IDs from 3 * 2^46, each kind in order of creation.
 */

export const PAGE_ID_WIDTH = 6
export const LEAF_ID_BASE = 1
export const INNER_ID_BASE = 2 ** 46 * 3
/** The deepest tree a file may describe; far beyond what any page size needs. */
export const MAX_TREE_LEVEL = 32

export const DEFAULT_MAX_PAGE_SIZE = 8130
export const DEFAULT_MAX_BRANCHES = 256
export const DEFAULT_MAX_CACHED_PAGES = 10000
/** The hash layer's defaults under a tree: big aligned records, fewer buckets. */
export const TREE_DEFAULT_ALIGN_POW = 10
export const TREE_DEFAULT_NUM_BUCKETS = 131101

const MAGIC = Buffer.from('TDB\0', 'latin1')
const OFF_NUM_RECORDS = 4
const OFF_EFF_DATA_SIZE = 10
const OFF_ROOT_ID = 16
const OFF_FIRST_ID = 22
const OFF_LAST_ID = 28
const OFF_NUM_LEAF_NODES = 34
const OFF_NUM_INNER_NODES = 40
const OFF_MAX_PAGE_SIZE = 46
const OFF_MAX_BRANCHES = 49
const OFF_TREE_LEVEL = 52
const OFF_KEY_COMPARATOR = 53
const OFF_OPAQUE = 54
export const TREE_META_SIZE = 64

/** The comparator codes a file records; pair variants add 100, 255 is an application's own. */
const COMPARATOR_CODES: [number, string][] = [
  [1, 'LexicalKeyComparator'],
  [2, 'LexicalCaseKeyComparator'],
  [3, 'DecimalKeyComparator'],
  [4, 'HexadecimalKeyComparator'],
  [5, 'RealNumberKeyComparator'],
  [6, 'SignedBigEndianKeyComparator'],
  [7, 'FloatBigEndianKeyComparator'],
]
export const CUSTOM_COMPARATOR_CODE = 255

export function comparatorCode(comparator: NamedComparator): number {
  const pair = comparator.name.startsWith('Pair')
  const base = pair ? comparator.name.slice(4) : comparator.name
  const entry = COMPARATOR_CODES.find(([, name]) => name === base)
  return entry ? entry[0] + (pair ? 100 : 0) : CUSTOM_COMPARATOR_CODE
}

/** The comparator a file's code names; BROKEN_DATA_ERROR for a code no comparator has. */
export function comparatorOfCode(code: number): NamedComparator {
  const pair = code > 100 && code < 200
  const entry = COMPARATOR_CODES.find(([number]) => number === (pair ? code - 100 : code))
  if (code === CUSTOM_COMPARATOR_CODE) {
    throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'the file was written with an application-defined key comparator, which kv cannot know')
  }
  if (!entry) throw new StatusError(Code.BROKEN_DATA_ERROR, `unknown key comparator code ${code} in the tree metadata`)
  return findComparator(pair ? `Pair${entry[1]}` : entry[1])
}

export interface TreeMeta {
  numRecords: number
  effDataSize: number
  rootId: number
  firstId: number
  lastId: number
  /** Leaf IDs handed out so far (the next one is this plus LEAF_ID_BASE). */
  numLeafNodes: number
  /** Inner IDs handed out so far. */
  numInnerNodes: number
  maxPageSize: number
  maxBranches: number
  treeLevel: number
  comparatorCode: number
  /** The application's bytes after the tree's own fields. */
  opaque: Buffer
}

export function encodeTreeMeta(meta: TreeMeta): Buffer {
  const buffer = Buffer.alloc(TREE_META_SIZE)
  MAGIC.copy(buffer, 0)
  writeUintBE(buffer, OFF_NUM_RECORDS, meta.numRecords, 6)
  writeUintBE(buffer, OFF_EFF_DATA_SIZE, meta.effDataSize, 6)
  writeUintBE(buffer, OFF_ROOT_ID, meta.rootId, 6)
  writeUintBE(buffer, OFF_FIRST_ID, meta.firstId, 6)
  writeUintBE(buffer, OFF_LAST_ID, meta.lastId, 6)
  writeUintBE(buffer, OFF_NUM_LEAF_NODES, meta.numLeafNodes, 6)
  writeUintBE(buffer, OFF_NUM_INNER_NODES, meta.numInnerNodes, 6)
  writeUintBE(buffer, OFF_MAX_PAGE_SIZE, meta.maxPageSize, 3)
  writeUintBE(buffer, OFF_MAX_BRANCHES, meta.maxBranches, 3)
  buffer[OFF_TREE_LEVEL] = meta.treeLevel
  buffer[OFF_KEY_COMPARATOR] = meta.comparatorCode
  meta.opaque.copy(buffer, OFF_OPAQUE, 0, Math.min(meta.opaque.length, TREE_META_SIZE - OFF_OPAQUE))
  return buffer
}

/** Whether the 64 opaque bytes are all zeros: a hash file no tree has written to yet. */
export function isBlankMeta(data: Buffer): boolean {
  return data.every((byte) => byte === 0)
}

/** Parses and checks the tree metadata; BROKEN_DATA_ERROR says what is wrong. */
export function decodeTreeMeta(data: Buffer): TreeMeta {
  if (data.length < TREE_META_SIZE || !data.subarray(0, 4).equals(MAGIC))
    throw new StatusError(Code.BROKEN_DATA_ERROR, 'no tree metadata: not a tree database file')
  const meta: TreeMeta = {
    numRecords: readUintBE(data, OFF_NUM_RECORDS, 6),
    effDataSize: readUintBE(data, OFF_EFF_DATA_SIZE, 6),
    rootId: readUintBE(data, OFF_ROOT_ID, 6),
    firstId: readUintBE(data, OFF_FIRST_ID, 6),
    lastId: readUintBE(data, OFF_LAST_ID, 6),
    numLeafNodes: readUintBE(data, OFF_NUM_LEAF_NODES, 6),
    numInnerNodes: readUintBE(data, OFF_NUM_INNER_NODES, 6),
    maxPageSize: readUintBE(data, OFF_MAX_PAGE_SIZE, 3),
    maxBranches: readUintBE(data, OFF_MAX_BRANCHES, 3),
    treeLevel: data[OFF_TREE_LEVEL],
    comparatorCode: data[OFF_KEY_COMPARATOR],
    opaque: Buffer.from(data.subarray(OFF_OPAQUE, TREE_META_SIZE)),
  }
  const problem = metaProblem(meta)
  if (problem) throw new StatusError(Code.BROKEN_DATA_ERROR, `invalid tree metadata: ${problem}`)
  return meta
}

function metaProblem(meta: TreeMeta): string | undefined {
  if (meta.numLeafNodes < 1) return 'no leaf pages'
  if (meta.maxPageSize < 1) return 'max_page_size below 1'
  if (meta.maxBranches < 2) return 'max_branches below 2'
  if (meta.treeLevel < 1 || meta.treeLevel > MAX_TREE_LEVEL) return `tree level ${meta.treeLevel}`
  if (!isLeafId(meta.firstId) || !isLeafId(meta.lastId)) return 'first or last page is not a leaf'
  if (meta.treeLevel === 1 ? !isLeafId(meta.rootId) : !isInnerId(meta.rootId)) return 'the root page does not match the tree level'
  return undefined
}

export function isLeafId(id: number): boolean {
  return id >= LEAF_ID_BASE && id < INNER_ID_BASE
}

export function isInnerId(id: number): boolean {
  return id >= INNER_ID_BASE && id < 2 ** 48
}

/** The hash key of a page. */
export function pageKey(id: number): Buffer {
  const key = Buffer.allocUnsafe(PAGE_ID_WIDTH)
  writeUintBE(key, 0, id, PAGE_ID_WIDTH)
  return key
}

export function readPageId(buffer: Uint8Array, offset: number): number {
  return readUintBE(buffer, offset, PAGE_ID_WIDTH)
}

export function writePageId(buffer: Buffer, offset: number, id: number): void {
  writeUintBE(buffer, offset, id, PAGE_ID_WIDTH)
}
