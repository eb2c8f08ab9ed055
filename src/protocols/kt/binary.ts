import {XT_NEVER} from '../../engine/expiry/expiring-dbm.js'
import type {ServerCore} from '../../server/core.js'
import type {ScriptRunner} from './procedures.js'
import type {KtRecords} from './records.js'
import {RV, type KtCounters} from './rpc-failure.js'
import type {KtConnection, ProtocolReader} from './connection.js'
import type {ByteMap} from './tsv.js'

/**
 * Kyoto Tycoon's binary protocol: bulk set, remove and get, and play_script, in frames of
 * big-endian integers. A request that fails in any part is answered by the single byte 0xBF
 * (nothing with the no-reply flag). Frames are read as they arrive, without allocating by
 * the counts they claim; one larger than the body limit closes the connection.
 */
const PLAY_SCRIPT = 0xb4
const SET_BULK = 0xb8
const REMOVE_BULK = 0xb9
const GET_BULK = 0xba
const ERROR = 0xbf
const NO_REPLY = 0x01
/** The requests served. */
const REQUESTS = new Set([PLAY_SCRIPT, SET_BULK, REMOVE_BULK, GET_BULK])

/**
 * A frame being read: its header, the records read so far and where the next one starts.
 * The records are kept field by field in arrays (an object per record was most of what a
 * bulk call left for the garbage collector); fields a kind of frame does not carry stay at
 * their defaults.
 */
interface Frame {
  magic: number
  flags: number
  count: number
  name?: Buffer
  indexes: number[]
  keys: Buffer[]
  values: Buffer[]
  /** The expiries as sent, 64-bit integers read into doubles: exact wherever they are not "never". */
  xts: number[]
  /** Where the next record starts in the input. */
  offset: number
  /** The bytes of keys and values read so far. */
  size: number
  /** Records before this one own their bytes (copied out of the input when the frame had to wait). */
  owned: number
}

const EMPTY = Buffer.alloc(0)

/** What a record read into memory costs beyond its key and value: the objects that hold it. */
const RECORD_COST = 1024

/** Expiries at or beyond this are "never" (clients send INT64_MAX). */
const NEVER_BOUND = XT_NEVER

export class BinaryReader implements ProtocolReader {
  private frame: Frame | undefined

  constructor(
    private readonly connection: KtConnection,
    private readonly core: ServerCore,
    private readonly counters: KtCounters,
    private readonly records: KtRecords,
    private readonly maxFrame: number,
    private readonly script: ScriptRunner | undefined,
  ) {}

  private get input(): Buffer {
    return this.connection.input
  }

  private set input(input: Buffer) {
    this.connection.input = input
  }

  get midRequest(): boolean {
    return this.frame !== undefined
  }

  private fail(): void {
    if (!(this.frame && this.frame.flags & NO_REPLY)) this.connection.write(Buffer.of(ERROR))
    this.frame = undefined
    this.connection.close()
  }

  step(): boolean {
    if (!this.frame) {
      const magic = this.input[0]
      if (!REQUESTS.has(magic)) {
        // Replication (0xB1) runs over gRPC in kv; anything else (0xB0 included: a client never sends it) is no request at all.
        this.fail()
        return false
      }
      const headerSize = magic === PLAY_SCRIPT ? 13 : 9
      if (this.input.length < headerSize) return false
      const frame: Frame = {
        magic,
        flags: this.input.readUInt32BE(1),
        count: this.input.readUInt32BE(magic === PLAY_SCRIPT ? 9 : 5),
        indexes: [],
        keys: [],
        values: [],
        xts: [],
        offset: headerSize,
        size: 0,
        owned: 0,
      }
      if (magic === PLAY_SCRIPT) {
        const nameSize = this.input.readUInt32BE(5)
        if (nameSize > this.maxFrame) {
          this.fail()
          return false
        }
        if (this.input.length < headerSize + nameSize) return false
        frame.name = Buffer.from(this.input.subarray(headerSize, headerSize + nameSize))
        frame.offset += nameSize
      }
      this.frame = frame
    }
    const frame = this.frame
    if (!this.readRecords(frame)) {
      this.keepWaiting(frame)
      return false
    }
    this.input = this.input.subarray(frame.offset)
    this.frame = undefined
    this.serve(frame)
    return true
  }

  /**
   * A frame waits for more bytes: the records read so far get bytes of their own, and the
   * input keeps only what is not read yet, so that a large frame arriving in many pieces is
   * not copied again with each one.
   */
  private keepWaiting(frame: Frame): void {
    if (this.frame !== frame) return
    for (; frame.owned < frame.keys.length; frame.owned++) {
      frame.keys[frame.owned] = Buffer.from(frame.keys[frame.owned])
      frame.values[frame.owned] = Buffer.from(frame.values[frame.owned])
    }
    this.input = this.input.subarray(frame.offset)
    frame.offset = 0
    this.checkSize()
  }

  /** A frame larger than the limit is not buffered further: the connection ends. */
  private checkSize(): void {
    if (this.input.length > this.maxFrame) this.fail()
  }

  /** Reads the records that have arrived; true once all are read. */
  private readRecords(frame: Frame): boolean {
    const data = this.input
    while (frame.keys.length < frame.count) {
      let at = frame.offset
      let index = 0
      if (frame.magic !== PLAY_SCRIPT) {
        if (data.length < at + 2) return false
        index = data.readUInt16BE(at)
        at += 2
      }
      if (data.length < at + 4) return false
      const keySize = data.readUInt32BE(at)
      at += 4
      let valueSize = 0
      let xt = 0
      if (frame.magic === SET_BULK || frame.magic === PLAY_SCRIPT) {
        if (data.length < at + 4) return false
        valueSize = data.readUInt32BE(at)
        at += 4
      }
      if (frame.magic === SET_BULK) {
        if (data.length < at + 8) return false
        xt = data.readInt32BE(at) * 0x100000000 + data.readUInt32BE(at + 4)
        at += 8
      }
      // Each record costs its bytes and the objects that hold them, so that a frame of empty records is limited too.
      if (frame.size + keySize + valueSize + RECORD_COST > this.maxFrame) {
        this.fail()
        return false
      }
      if (data.length < at + keySize + valueSize) {
        this.connection.need = at + keySize + valueSize - frame.offset
        return false
      }
      frame.indexes.push(index)
      frame.keys.push(data.subarray(at, at + keySize))
      frame.values.push(valueSize === 0 ? EMPTY : data.subarray(at + keySize, at + keySize + valueSize))
      frame.xts.push(xt)
      frame.size += keySize + valueSize + RECORD_COST
      frame.offset = at + keySize + valueSize
    }
    return true
  }

  private reply(frame: Frame, data: Buffer): void {
    if (!(frame.flags & NO_REPLY)) this.connection.write(data)
  }

  private serve(frame: Frame): void {
    if (frame.magic === PLAY_SCRIPT) return this.playScript(frame)
    this.core.beginCall()
    const started = performance.now()
    let failed = false
    try {
      if (frame.magic === SET_BULK) this.reply(frame, countReply(SET_BULK, this.setBulk(frame)))
      else if (frame.magic === REMOVE_BULK) this.reply(frame, countReply(REMOVE_BULK, this.removeBulk(frame)))
      else this.reply(frame, this.getBulk(frame))
    } catch {
      failed = true
      this.reply(frame, Buffer.of(ERROR))
    } finally {
      const operation = frame.magic === SET_BULK ? 'set_bulk' : frame.magic === REMOVE_BULK ? 'remove_bulk' : 'get_bulk'
      this.core.metrics.record('kt_binary', operation, (performance.now() - started) / 1000, failed)
      this.core.endCall()
    }
  }

  /** Whether the server has an open database at the index: records for others are passed over. */
  private hasDatabase(index: number): boolean {
    return index < this.core.registry.size && this.core.registry.entries[index].dbm?.isOpen() === true
  }

  /** Stores the records, each run of them for one database with one expiry in one step. */
  private setBulk({indexes, keys, values, xts}: Frame): number {
    let stored = 0
    for (let start = 0; start < keys.length;) {
      const index = indexes[start]
      const xt = xts[start]
      let end = start + 1
      while (end < keys.length && indexes[end] === index && xts[end] === xt) end++
      if (this.hasDatabase(index)) {
        // A frame is almost always one run: its arrays are passed as they are.
        const whole = start === 0 && end === keys.length
        const runKeys = whole ? keys : keys.slice(start, end)
        const runValues = whole ? values : values.slice(start, end)
        stored += this.records.setBulk(index, runKeys, runValues, xt >= NEVER_BOUND || xt <= -NEVER_BOUND ? undefined : xt)
      }
      start = end
    }
    return stored
  }

  private removeBulk({indexes, keys}: Frame): number {
    let removed = 0
    for (let i = 0; i < keys.length; i++) if (this.hasDatabase(indexes[i]) && this.records.tryRemove(indexes[i], keys[i])) removed++
    return removed
  }

  /** The records found, written straight into one reply sized for them. */
  private getBulk({indexes, keys}: Frame): Buffer {
    const found: ({value: Buffer; xt: number} | undefined)[] = []
    let size = 5
    for (let i = 0; i < keys.length; i++) {
      const hit = this.hasDatabase(indexes[i]) ? this.records.tryGet(indexes[i], keys[i]) : undefined
      found.push(hit)
      if (hit) size += 18 + keys[i].length + hit.value.length
    }
    const reply = Buffer.allocUnsafe(size)
    let at = 5
    let hits = 0
    for (let i = 0; i < keys.length; i++) {
      const hit = found[i]
      if (!hit) continue
      hits++
      const key = keys[i]
      reply.writeUInt16BE(indexes[i], at)
      reply.writeUInt32BE(key.length, at + 2)
      reply.writeUInt32BE(hit.value.length, at + 6)
      // The expiry as a 64-bit integer, from its two halves (it is below 2^53).
      const xt = hit.xt > 0 ? hit.xt : XT_NEVER
      reply.writeUInt32BE(Math.floor(xt / 0x100000000), at + 10)
      reply.writeUInt32BE(xt >>> 0, at + 14)
      at = copyInto(hit.value, reply, copyInto(key, reply, at + 18))
    }
    reply[0] = GET_BULK
    reply.writeUInt32BE(hits, 1)
    return reply
  }

  private playScript(frame: Frame): void {
    const script = this.script
    if (!script) return this.reply(frame, Buffer.of(ERROR))
    const name = frame.name!.toString('latin1')
    const input: ByteMap = new Map()
    for (let i = 0; i < frame.keys.length; i++) input.set(frame.keys[i].toString('latin1'), Buffer.from(frame.values[i]))
    this.counters.counts.cnt_script++
    this.core.beginCall()
    this.connection.hold(
      script(name, input)
        .then(({rv, output}) => {
          if (rv !== RV.SUCCESS) return this.reply(frame, Buffer.of(ERROR))
          const parts: Buffer[] = [countReply(PLAY_SCRIPT, output.length)]
          for (const [key, value] of output) {
            const head = Buffer.allocUnsafe(8)
            head.writeUInt32BE(key.length, 0)
            head.writeUInt32BE(value.length, 4)
            parts.push(head, key, value)
          }
          this.reply(frame, Buffer.concat(parts))
        })
        .catch(() => this.reply(frame, Buffer.of(ERROR)))
        .finally(() => this.core.endCall()),
    )
  }
}

/** Copies source into target at `at`; returns where it ends. Short pieces are copied byte by byte, cheaper than a native call. */
function copyInto(source: Buffer, target: Buffer, at: number): number {
  const size = source.length
  if (size <= 32) for (let i = 0; i < size; i++) target[at + i] = source[i]
  else source.copy(target, at)
  return at + size
}

function countReply(magic: number, count: number): Buffer {
  const reply = Buffer.allocUnsafe(5)
  reply[0] = magic
  reply.writeUInt32BE(count, 1)
  return reply
}
