import {NOOP, REMOVE, type Change, type DBM, type WriteObserver} from '../dbm.js'
import {readVarint, varintSize, writeVarint} from '../io/varint.js'
import {Code, StatusError} from '../status.js'
import type {MessageQueue} from './message-queue.js'
import {LogReader} from './reader.js'

/**
 * The changes an update log records, in Tkrzw's format: an operation byte (0xA1 set, 0xA2
 * remove, 0xA3 clear), the server ID and the database index as varnums, then for a set the
 * key's and the value's sizes and bytes, for a remove the key's size and bytes.
 */
export type LoggedChange = Change & {serverId: number; dbmIndex: number}

const OP_SET = 0xa1
const OP_REMOVE = 0xa2
const OP_CLEAR = 0xa3

export function encodeChange(change: Change, serverId: number, dbmIndex: number): Buffer {
  const ids = varintSize(serverId) + varintSize(dbmIndex)
  let size = 1 + ids
  if (change.op === 'set') size += varintSize(change.key.length) + varintSize(change.value.length) + change.key.length + change.value.length
  else if (change.op === 'remove') size += varintSize(change.key.length) + change.key.length
  const data = Buffer.allocUnsafe(size)
  data[0] = change.op === 'set' ? OP_SET : change.op === 'remove' ? OP_REMOVE : OP_CLEAR
  let pos = writeVarint(data, writeVarint(data, 1, serverId), dbmIndex)
  if (change.op === 'set') {
    pos = writeVarint(data, writeVarint(data, pos, change.key.length), change.value.length)
    pos += change.key.copy(data, pos)
    change.value.copy(data, pos)
  } else if (change.op === 'remove') {
    pos = writeVarint(data, pos, change.key.length)
    change.key.copy(data, pos)
  }
  return data
}

function broken(what: string): StatusError {
  return new StatusError(Code.BROKEN_DATA_ERROR, `update log: ${what}`)
}

/** Reads a logged change; BROKEN_DATA_ERROR when the payload is not one. */
export function decodeChange(payload: Buffer): LoggedChange {
  if (payload.length < 3) throw broken('too short message')
  const op = payload[0]
  const server = readVarint(payload, 1)
  if (!server) throw broken('invalid server ID')
  if (server[1] >= payload.length) throw broken('no DBM index')
  const index = readVarint(payload, server[1])
  if (!index) throw broken('invalid DBM index')
  const [serverId, dbmIndex] = [server[0], index[0]]
  let pos = index[1]
  if (op === OP_CLEAR) return {op: 'clear', serverId, dbmIndex}
  if (op !== OP_SET && op !== OP_REMOVE) throw broken(`invalid operation byte 0x${op.toString(16)}`)
  const keySize = readVarint(payload, pos)
  if (!keySize) throw broken(pos >= payload.length ? 'no key' : 'invalid key size')
  pos = keySize[1]
  if (op === OP_REMOVE) {
    if (keySize[0] !== payload.length - pos) throw broken('inconsistent data size')
    return {op: 'remove', key: payload.subarray(pos), serverId, dbmIndex}
  }
  const valueSize = readVarint(payload, pos)
  if (!valueSize) throw broken(pos >= payload.length ? 'no value' : 'invalid value size')
  pos = valueSize[1]
  if (keySize[0] + valueSize[0] !== payload.length - pos) throw broken('inconsistent data size')
  return {op: 'set', key: payload.subarray(pos, pos + keySize[0]), value: payload.subarray(pos + keySize[0]), serverId, dbmIndex}
}

/**
 * Logs every change of a database to an update log, tagged with a server ID and the
 * database's index. A replica applying what its master sent sets `origin` meanwhile, so
 * that the change is logged as coming from there (dual masters then skip their own).
 */
export class UpdateLogger implements WriteObserver {
  origin: number | undefined

  constructor(
    readonly queue: MessageQueue,
    readonly serverId: number,
    readonly dbmIndex: number,
  ) {}

  afterWrite(change: Change): void {
    this.queue.write(-1, encodeChange(change, this.origin ?? this.serverId, this.dbmIndex))
  }
}

/** Applies a logged change to a database: a set, a remove (of a record that may be gone already), a clear. */
export function applyChange(target: DBM, change: Change): void {
  // Logged values are stored values (with their expiry, where records expire).
  const dbm = target.storage()
  if (change.op === 'set') dbm.set(change.key, change.value)
  else if (change.op === 'clear') dbm.clear()
  else dbm.process(change.key, {ignoresValue: true, processFull: () => REMOVE, processEmpty: () => NOOP}, true)
}

/** Which logged changes to take: of one server or database index only, or all but one (negative: that one left out). */
export interface ChangeFilter {
  serverId?: number
  dbmIndex?: number
}

function passes(id: number, wanted: number | undefined): boolean {
  return wanted === undefined || (wanted >= 0 ? id === wanted : id !== -wanted)
}

/**
 * Applies the changes of an update log from `minTimestamp` on (inclusive) to a database,
 * in the order they were logged: how a backup catches up. Every change is idempotent, so
 * applying some twice does no harm. Returns the number applied.
 */
export function applyLogFiles(dbm: DBM, prefix: string, minTimestamp: number, filter: ChangeFilter = {}): number {
  const reader = new LogReader(prefix, minTimestamp)
  let applied = 0
  try {
    for (let message = reader.next(); message; message = reader.next()) {
      const change = decodeChange(message.payload)
      if (!passes(change.serverId, filter.serverId) || !passes(change.dbmIndex, filter.dbmIndex)) continue
      applyChange(dbm, change)
      applied++
    }
  } finally {
    reader.close()
  }
  return applied
}

/**
 * When a database was last synchronized, in milliseconds, from its `timestamp` attribute
 * (seconds; a sharded one: the oldest shard's); 0 when it has none.
 */
export function databaseTimestampMillis(dbm: DBM): number {
  const stamps = dbm
    .inspect()
    .filter(([name]) => name === 'timestamp' || name.endsWith('-timestamp'))
    .map(([, value]) => Number(value))
    .filter((value) => Number.isFinite(value))
  return stamps.length === 0 ? 0 : Math.trunc(Math.min(...stamps) * 1000)
}
