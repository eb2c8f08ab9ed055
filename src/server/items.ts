import {NOOP, REMOVE, type DBM} from '../engine/dbm.js'
import {ExpiringDBM, XT_NEVER, nowSeconds} from '../engine/expiry/expiring-dbm.js'
import {Code, StatusError} from '../engine/status.js'

/**
 * Records as memcached items: the data, then the client's 32-bit flags as 4 bytes
 * big-endian at the end of the stored value (as Kyoto Tycoon's memcached server stores them
 * with its `f` option), and expiry through the database's own times (expiration=true). A
 * CAS value is a 64-bit hash of the stored value: it changes whenever the item does, needs
 * no storage and survives restarts.
 */
export interface Item {
  data: Buffer
  flags: number
  /** The stored bytes, data and flags: what the CAS value is computed from (only when asked). */
  stored: Buffer
}

export type StoreMode = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas'
export type StoreOutcome = 'STORED' | 'NOT_STORED' | 'EXISTS' | 'NOT_FOUND'

const FLAGS_WIDTH = 4
/** memcached's rule: an exptime up to 30 days is relative, beyond it an epoch time. */
export const RELATIVE_LIMIT = 60 * 60 * 24 * 30

const MASK = (1n << 64n) - 1n

/** An item's CAS value: the 64-bit FNV-1a hash of its stored bytes. */
export function casOf(stored: Buffer): bigint {
  const hash = fnv1a64(stored)
  // 0 means "no CAS" to clients.
  return hash === 0n ? 1n : hash
}

/**
 * The 64-bit FNV-1a hash of bytes, in two 32-bit halves (a BigInt per byte costs
 * microseconds per kilobyte). The prime is 2^40 + 0x1b3: a product is hash * 0x1b3 plus the
 * low half shifted 40 bits, which only reaches the high half.
 */
export function fnv1a64(stored: Buffer): bigint {
  let high = 0xcbf29ce4
  let low = 0x84222325
  for (let i = 0; i < stored.length; i++) {
    low ^= stored[i]
    const lowProduct = (low >>> 0) * 0x1b3
    const carry = Math.floor(lowProduct / 0x100000000)
    high = (Math.imul(high, 0x1b3) + carry + (low << 8)) >>> 0
    low = lowProduct >>> 0
  }
  return (BigInt(high) << 32n) | BigInt(low >>> 0)
}

function encode(data: Buffer, flags: number): Buffer {
  const stored = Buffer.allocUnsafe(data.length + FLAGS_WIDTH)
  data.copy(stored)
  stored.writeUInt32BE(flags >>> 0, data.length)
  return stored
}

function decode(stored: Buffer): Item {
  if (stored.length < FLAGS_WIDTH) return {data: stored, flags: 0, stored}
  return {data: stored.subarray(0, stored.length - FLAGS_WIDTH), flags: stored.readUInt32BE(stored.length - FLAGS_WIDTH), stored}
}

export class ItemStore {
  /** Above this an exptime is an epoch time (memcached: 30 days; Kyoto Tycoon: 2^24 s). */
  relativeLimit = RELATIVE_LIMIT

  constructor(readonly dbm: DBM) {}

  /**
   * An exptime as the protocol gives it, as the database's absolute expiry: never for 0,
   * the past for a negative one, relative up to the limit, absolute beyond.
   */
  expiryOf(exptime: number, now = nowSeconds()): number {
    if (exptime === 0) return XT_NEVER
    if (exptime < 0) return now - 1
    return exptime <= this.relativeLimit ? now + exptime : exptime
  }

  /** Runs a write with its expiry; a non-zero exptime needs a database that keeps times. */
  private withExpiry<T>(exptime: number, work: () => T): T {
    const dbm = this.dbm
    if (!(dbm instanceof ExpiringDBM)) {
      if (exptime !== 0) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'this database keeps no expiry times (serve it with expiration=true)')
      return work()
    }
    return dbm.withExpiry(this.expiryOf(exptime), work)
  }

  get(key: Buffer): Item | undefined {
    const stored = this.dbm.get(key)
    return stored === undefined ? undefined : decode(stored)
  }

  /**
   * Reads an item without copying it: `use` sees the database's own bytes, valid only while
   * it runs (it must copy what it keeps). Undefined when there is no item.
   */
  read<T>(key: Buffer, use: (item: Item) => T): T | undefined {
    let result: T | undefined
    this.dbm.process(key, {processFull: (_key, stored) => ((result = use(decode(stored))), NOOP), processEmpty: () => NOOP}, false)
    return result
  }

  store(mode: StoreMode, key: Buffer, data: Buffer, flags: number, exptime: number, cas = 0n): StoreOutcome {
    let outcome: StoreOutcome = 'STORED'
    const fresh = encode(data, flags)
    const write = (): void => {
      if (mode === 'set') return this.dbm.set(key, fresh)
      this.dbm.process(
        key,
        {
          processFull: (_key, stored) => {
            const old = decode(stored)
            if (mode === 'add') outcome = 'NOT_STORED'
            else if (mode === 'cas' && casOf(stored) !== cas) outcome = 'EXISTS'
            else if (mode === 'append') return encode(Buffer.concat([old.data, data]), old.flags)
            else if (mode === 'prepend') return encode(Buffer.concat([data, old.data]), old.flags)
            else return fresh
            return NOOP
          },
          processEmpty: () => {
            if (mode === 'add') return fresh
            outcome = mode === 'cas' ? 'NOT_FOUND' : 'NOT_STORED'
            return NOOP
          },
        },
        true,
      )
    }
    // Appending keeps the item's time, as memcached does.
    if (mode === 'append' || mode === 'prepend') write()
    else this.withExpiry(exptime, write)
    return outcome
  }

  delete(key: Buffer): boolean {
    let found = false
    this.dbm.process(key, {ignoresValue: true, processFull: () => ((found = true), REMOVE), processEmpty: () => NOOP}, true)
    return found
  }

  /**
   * Adds to or takes from a decimal value: 64-bit unsigned, wrapping when adding, stopping
   * at 0 when taking away. Undefined when there is no item; 'NON_NUMERIC' when its data is
   * not a decimal number.
   */
  increment(key: Buffer, delta: bigint, decrement: boolean): bigint | undefined | 'NON_NUMERIC' {
    let result: bigint | undefined | 'NON_NUMERIC'
    this.dbm.process(
      key,
      {
        processFull: (_key, stored) => {
          const old = decode(stored)
          const text = old.data.toString('latin1')
          if (!/^\d{1,20}$/.test(text) || BigInt(text) > MASK) {
            result = 'NON_NUMERIC'
            return NOOP
          }
          const current = BigInt(text)
          const next = decrement ? (current > delta ? current - delta : 0n) : (current + delta) & MASK
          result = next
          return encode(Buffer.from(next.toString(), 'latin1'), old.flags)
        },
        processEmpty: () => NOOP,
      },
      true,
    )
    return result
  }

  /** Gives an item a new expiry; false when there is none. */
  touch(key: Buffer, exptime: number): boolean {
    let found = false
    this.withExpiry(exptime, () =>
      this.dbm.process(key, {processFull: (_key, stored) => ((found = true), Buffer.from(stored)), processEmpty: () => NOOP}, true),
    )
    return found
  }

  flush(): void {
    this.dbm.clear()
  }

  /** An item from its stored bytes. */
  decodeStored(stored: Buffer): Item {
    return decode(stored)
  }

  /** Removes and returns the first record (in key order) whose key starts with the prefix: its key and stored bytes. */
  takeFirstWithPrefix(prefix: Buffer): [Buffer, Buffer] | undefined {
    const iterator = this.dbm.makeIterator()
    iterator.jump(prefix)
    let taken: [Buffer, Buffer] | undefined
    iterator.process(
      {
        processFull: (key, stored) => {
          if (!key.subarray(0, prefix.length).equals(prefix)) return NOOP
          taken = [Buffer.from(key), Buffer.from(stored)]
          return REMOVE
        },
        processEmpty: () => NOOP,
      },
      true,
    )
    return taken
  }

  /** Puts a record back as it was stored (a message given back). */
  restoreStored(key: Buffer, stored: Buffer): void {
    this.dbm.set(key, stored)
  }
}
