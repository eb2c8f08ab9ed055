import * as net from 'node:net'
import {Code, StatusError} from '../../engine/status.js'
import {formatHostPort, parseHostPort} from '../../net/address.js'
import {corked} from '../../server/corked.js'
import type {FrontEnd, FrontEndFactory, ServerCore} from '../../server/core.js'
import {ItemStore, casOf, type Item, type StoreMode} from '../../server/items.js'

export interface MemcachedOptions {
  /** [host:]port; 127.0.0.1 when no host is given. */
  address: string
  /** The database served, by index. */
  index: number
  /** The largest value taken, in bytes (memcached's item_size_max: 1 MiB). */
  maxValueSize?: number
  /** Kyoto Tycoon's options: refuse every write; exptimes above 2^24 s (not 30 days) are epoch times; the queue mode. */
  readOnly?: boolean
  ktExptime?: boolean
  queue?: boolean
  /** Seconds a get waits for a message in the queue mode (10). */
  queueWaitSeconds?: number
}

/** The options of `--memcached_options`: Kyoto Tycoon's letters (r, q, f) or words. */
export function parseMemcachedOptions(text: string): Pick<MemcachedOptions, 'readOnly' | 'ktExptime' | 'queue'> {
  const options: Pick<MemcachedOptions, 'readOnly' | 'ktExptime' | 'queue'> = {}
  for (const word of text.split(',').map((item) => item.trim().toLowerCase())) {
    if (word === '' || word === 'f' || word === 'flags') continue
    else if (word === 'r' || word === 'read_only') options.readOnly = true
    else if (word === 'q' || word === 'queue') options.queue = true
    else if (word === 'kt_exptime') options.ktExptime = true
    else throw new StatusError(Code.INVALID_ARGUMENT_ERROR, `unknown memcached option: "${word}" (read_only or r, queue or q, kt_exptime)`)
  }
  if (options.readOnly && options.queue) throw new StatusError(Code.INVALID_ARGUMENT_ERROR, 'the memcached queue mode cannot be read-only')
  return options
}

const MAX_LINE = 2048
const MAX_KEY = 250
const DEFAULT_MAX_VALUE = 1 << 20
const STORAGE = new Set(['set', 'add', 'replace', 'append', 'prepend', 'cas'])
const WRITES = new Set([...STORAGE, 'delete', 'incr', 'decr', 'touch', 'gat', 'gats', 'flush_all'])
let sequence = 0

function queueChannel(name: Buffer): string {
  return `memcached-queue:${name.toString('latin1')}`
}
const VERSION = '1.6.21-kv'

/** A key as the protocol allows it: 1 to 250 bytes, no control bytes or spaces. */
function validKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY) return false
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i)
    if (code <= 0x20 || code === 0x7f) return false
  }
  return true
}

function parseUint(text: string | undefined, max: bigint): bigint | undefined {
  if (text === undefined || !/^\d{1,20}$/.test(text)) return undefined
  const value = BigInt(text)
  return value > max ? undefined : value
}

function parseInt32(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d{1,10}$/.test(text)) return undefined
  const value = Number(text)
  return value >= -(2 ** 31) && value < 2 ** 31 ? value : undefined
}

/** The answers sent most, encoded once. */
const REPLIES: {[text: string]: Buffer} = Object.fromEntries(
  ['STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND', 'DELETED', 'TOUCHED', 'END', 'OK', 'ERROR'].map((word) => [`${word}\r\n`, Buffer.from(`${word}\r\n`)]),
)

/**
 * The answer to a retrieval: for each item `VALUE <key> <flags> <bytes> [<cas>]`, its data
 * and a line end, then `END`, written into one buffer (values are copied once).
 */
function retrievalReply(found: {key: string; item: Item}[], withCas: boolean): Buffer {
  const heads = found.map(({key, item}) => `VALUE ${key} ${item.flags} ${item.data.length}${withCas ? ` ${casOf(item.stored)}` : ''}\r\n`)
  let size = END.length
  for (let i = 0; i < found.length; i++) size += heads[i].length + found[i].item.data.length + 2
  const reply = Buffer.allocUnsafe(size)
  let offset = 0
  for (let i = 0; i < found.length; i++) {
    offset += reply.write(heads[i], offset, 'latin1')
    offset += found[i].item.data.copy(reply, offset)
    reply[offset++] = 0x0d
    reply[offset++] = 0x0a
  }
  END.copy(reply, offset)
  return reply
}

const END = REPLIES['END\r\n']
const U32 = 0xffffffffn
const U64 = (1n << 64n) - 1n

/**
 * The memcached text protocol on one database of the core: get, gets, gat, gats, set, add,
 * replace, append, prepend, cas, delete, incr, decr, touch, flush_all, stats, version,
 * verbosity, quit, with noreply where memcached takes it. Requests on a connection are
 * answered in order, pipelined or not; a client that does not read its answers gets no more
 * of its requests read until it does.
 */
export function memcachedFrontEnd(options: MemcachedOptions): FrontEndFactory {
  return async (core) => {
    const {host, port} = parseHostPort(options.address, 'memcached')
    const dbm = core.database(options.index)
    if (options.queue && !dbm.isOrdered())
      throw new StatusError(
        Code.INVALID_ARGUMENT_ERROR,
        `the memcached queue mode needs an ordered database (.tkt, .tks, .tkmb), not database ${options.index}`,
      )
    const store = new ItemStore(dbm)
    // Kyoto Tycoon reads exptimes above 2^24 s as epoch times; memcached above 30 days.
    if (options.ktExptime) store.relativeLimit = 2 ** 24
    const stats = new Stats()
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      stats.connections++
      stats.totalConnections++
      socket.on('close', () => {
        sockets.delete(socket)
        stats.connections--
      })
      new Session(socket, store, stats, core, options)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new StatusError(Code.NETWORK_ERROR, `cannot listen on ${options.address} for memcached: ${error.message}`)))
      server.listen(port, host, () => resolve())
    })
    const bound = server.address() as net.AddressInfo
    const boundAddress = formatHostPort(bound.address, bound.port)
    core.logger.info(`memcached: listening on ${boundAddress} for database ${options.index}`)
    const frontEnd: FrontEnd = {
      name: 'memcached',
      boundAddress,
      stopAccepting: () => new Promise<void>((resolve) => server.close(() => resolve())),
      forceClose: () => {
        for (const socket of sockets) socket.destroy()
      },
    }
    return frontEnd
  }
}

class Stats {
  readonly started = Math.floor(Date.now() / 1000)
  connections = 0
  totalConnections = 0
  counts: {[name: string]: number} = {
    cmd_get: 0,
    cmd_set: 0,
    cmd_flush: 0,
    cmd_touch: 0,
    get_hits: 0,
    get_misses: 0,
    delete_hits: 0,
    delete_misses: 0,
    incr_hits: 0,
    incr_misses: 0,
    decr_hits: 0,
    decr_misses: 0,
    cas_hits: 0,
    cas_misses: 0,
    cas_badval: 0,
    touch_hits: 0,
    touch_misses: 0,
  }
}

/** One client connection: bytes in, requests parsed in order, answers out. */
class Session {
  private input: Buffer = Buffer.alloc(0)
  /** A storage command waiting for its data block. */
  private pending: {mode: StoreMode; key: Buffer; flags: number; exptime: number; bytes: number; cas: bigint; noreply: boolean} | undefined
  /** Bytes of a refused data block still to throw away. */
  private swallow = 0
  private closed = false

  private readonly maxValueSize: number
  /** Queue mode: the messages this connection took and has not acknowledged, by queue name. */
  private readonly held = new Map<string, [Buffer, Buffer][]>()
  /** A request that waits (a queue get): input is left until it is answered. */
  private busy = false
  /** Answers wait to be read: input is left until they are. */
  private blocked = false

  constructor(
    private readonly socket: net.Socket,
    private readonly store: ItemStore,
    private readonly stats: Stats,
    private readonly core: ServerCore,
    private readonly options: MemcachedOptions,
  ) {
    this.maxValueSize = options.maxValueSize ?? DEFAULT_MAX_VALUE
    // Messages taken and not acknowledged go back when the connection ends: at least once.
    socket.on('close', () => this.giveBack())
    // Answers are small and clients wait for each: no waiting to fill a packet.
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', () => socket.destroy())
    socket.on('drain', () => {
      socket.resume()
      if (!this.blocked) return
      // The client read its answers: serve the requests that waited.
      this.blocked = false
      corked(this.socket, () => this.pump())
    })
  }

  private send(text: string | Buffer): void {
    if (this.closed) return
    const data = typeof text === 'string' ? (REPLIES[text] ?? Buffer.from(text, 'latin1')) : text
    // A client that does not read its answers gets no more of its requests read until it does.
    if (!this.socket.write(data)) this.socket.pause()
  }

  /** Takes what arrived: the answers to every request in it leave together, in one write. */
  private receive(chunk: Buffer): void {
    corked(this.socket, () => this.serveInput(chunk))
  }

  private serveInput(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk])
    this.pump()
  }

  /** Serves what input holds, in order; stops at a request that waits, and goes on once it is answered. */
  private pump(): void {
    while (!this.closed && !this.busy) {
      // A client that does not read its answers gets no more of its requests served until it does.
      if (this.socket.writableNeedDrain) {
        this.blocked = true
        this.socket.pause()
        return
      }
      if (this.swallow > 0) {
        const n = Math.min(this.swallow, this.input.length)
        this.input = this.input.subarray(n)
        this.swallow -= n
        if (this.swallow > 0) return
      }
      if (this.pending) {
        const need = this.pending.bytes + 2
        if (this.input.length < need) return
        const block = this.input.subarray(0, need)
        this.input = this.input.subarray(need)
        const request = this.pending
        this.pending = undefined
        if (block[need - 2] !== 0x0d || block[need - 1] !== 0x0a) {
          this.send('CLIENT_ERROR bad data chunk\r\n')
          continue
        }
        // The store copies the data into the stored value: a view of the input does.
        this.answer(request.noreply, () => this.storeBlock(request, block.subarray(0, request.bytes)), request.mode)
        continue
      }
      const end = this.input.indexOf('\n')
      if (end < 0) {
        if (this.input.length > MAX_LINE) {
          this.send('CLIENT_ERROR line too long\r\n')
          this.close()
        }
        return
      }
      const line = this.input.subarray(0, end).toString('latin1').replace(/\r$/, '')
      this.input = this.input.subarray(end + 1)
      if (line.length > MAX_LINE) {
        this.send('CLIENT_ERROR line too long\r\n')
        this.close()
        return
      }
      const waiting = this.command(line)
      if (waiting) {
        this.busy = true
        this.socket.pause()
        void waiting.finally(() => {
          this.busy = false
          if (this.closed) return
          this.socket.resume()
          corked(this.socket, () => this.pump())
        })
      }
    }
  }

  private close(): void {
    this.closed = true
    this.socket.end()
  }

  /** Runs a request's body and sends its answer unless noreply; failures become SERVER_ERROR. */
  private answer(noreply: boolean, body: () => string | Buffer, operation: string): void {
    this.core.beginCall()
    const started = performance.now()
    let failed = false
    try {
      const reply = body()
      if (!noreply) this.send(reply)
    } catch (error) {
      failed = true
      const message = error instanceof StatusError ? error.detail || error.message : (error as Error).message
      this.send(`SERVER_ERROR ${message.replace(/[\r\n]/g, ' ')}\r\n`)
    } finally {
      this.core.metrics.record('memcached', operation, (performance.now() - started) / 1000, failed)
      this.core.endCall()
    }
  }

  /** Runs one command line; a promise when its answer waits (a queue get). */
  private command(line: string): Promise<void> | void {
    const words = line.split(' ').filter((word) => word !== '')
    const name = words[0]?.toLowerCase()
    if (name === undefined) return this.send('ERROR\r\n')
    if (this.options.readOnly && WRITES.has(name)) {
      // The data block of a refused storage command is thrown away, as for any refusal.
      if (STORAGE.has(name)) {
        const bytes = parseInt32(words[4])
        if (bytes !== undefined && bytes >= 0) this.swallow = bytes + 2
      }
      return this.send('SERVER_ERROR server is read-only\r\n')
    }
    if (this.options.queue && (name === 'get' || name === 'gets')) return this.takeMessage(words.slice(1))
    if (this.options.queue && name === 'delete') return this.acknowledge(words)
    if (STORAGE.has(name)) return this.storage(name as StoreMode, words)
    switch (name) {
      case 'get':
      case 'gets':
        return this.retrieve(words.slice(1), name === 'gets')
      case 'gat':
      case 'gats': {
        const exptime = parseInt32(words[1])
        if (exptime === undefined || words.length < 3) return this.send('CLIENT_ERROR bad command line format\r\n')
        return this.retrieve(words.slice(2), name === 'gats', exptime)
      }
      case 'delete':
        return this.delete(words)
      case 'incr':
      case 'decr':
        return this.increment(words, name === 'decr')
      case 'touch':
        return this.touch(words)
      case 'flush_all':
        return this.flush(words)
      case 'stats':
        return this.send(this.statsText())
      case 'version':
        return this.send(`VERSION ${VERSION}\r\n`)
      case 'verbosity':
        return this.answer(words.at(-1) === 'noreply', () => 'OK\r\n', 'verbosity')
      case 'quit':
        return this.close()
      default:
        return this.send('ERROR\r\n')
    }
  }

  private storage(mode: StoreMode, words: string[]): void {
    const count = mode === 'cas' ? 6 : 5
    // A storage command of another length is no command memcached knows.
    if (words.length !== count && words.length !== count + 1) return this.send('ERROR\r\n')
    const noreply = words.length === count + 1 && words[count] === 'noreply'
    const key = words[1]
    const flags = parseUint(words[2], U32)
    const exptime = parseInt32(words[3])
    const bytes = parseInt32(words[4])
    const cas = mode === 'cas' ? parseUint(words[5], U64) : 0n
    if (
      (words.length !== count && !noreply) ||
      key === undefined ||
      flags === undefined ||
      exptime === undefined ||
      bytes === undefined ||
      bytes < 0 ||
      cas === undefined
    ) {
      return this.send('CLIENT_ERROR bad command line format\r\n')
    }
    if (!validKey(key)) {
      // The data block that follows is thrown away, so that it is not read as commands.
      this.swallow = bytes + 2
      return this.send('CLIENT_ERROR bad command line format\r\n')
    }
    if (bytes > this.maxValueSize) {
      this.swallow = bytes + 2
      return this.send('SERVER_ERROR object too large for cache\r\n')
    }
    this.pending = {mode, key: Buffer.from(key, 'latin1'), flags: Number(flags), exptime, bytes, cas, noreply}
  }

  private storeBlock(request: NonNullable<Session['pending']>, data: Buffer): string {
    this.stats.counts.cmd_set++
    if (this.options.queue && request.mode === 'set') return this.enqueue(request.key, data, request.flags)
    const outcome = this.store.store(request.mode, request.key, data, request.flags, request.exptime, request.cas)
    if (request.mode === 'cas') {
      if (outcome === 'STORED') this.stats.counts.cas_hits++
      else if (outcome === 'EXISTS') this.stats.counts.cas_badval++
      else this.stats.counts.cas_misses++
    }
    return `${outcome}\r\n`
  }

  private retrieve(keys: string[], withCas: boolean, touch?: number): void {
    if (keys.length === 0) return this.send('ERROR\r\n')
    if (keys.some((key) => !validKey(key))) return this.send('CLIENT_ERROR bad command line format\r\n')
    this.answer(
      false,
      () => {
        const found: {key: string; item: Item}[] = []
        for (const key of keys) {
          const raw = Buffer.from(key, 'latin1')
          this.stats.counts.cmd_get++
          if (touch !== undefined) {
            this.stats.counts.cmd_touch++
            if (!this.store.touch(raw, touch)) {
              this.stats.counts.get_misses++
              continue
            }
          }
          // One key (most gets): the answer is built from the stored bytes, copied once.
          if (keys.length === 1) {
            const reply = this.store.read(raw, (item) => retrievalReply([{key, item}], withCas))
            this.stats.counts[reply ? 'get_hits' : 'get_misses']++
            return reply ?? END
          }
          const item = this.store.get(raw)
          if (!item) {
            this.stats.counts.get_misses++
            continue
          }
          this.stats.counts.get_hits++
          found.push({key, item})
        }
        return retrievalReply(found, withCas)
      },
      withCas ? (touch === undefined ? 'gets' : 'gats') : touch === undefined ? 'get' : 'gat',
    )
  }

  private delete(words: string[]): void {
    const noreply = words.at(-1) === 'noreply'
    const rest = words.slice(2, noreply ? -1 : undefined)
    // memcached still takes a time of 0 after the key, and nothing else.
    if (words[1] === undefined || rest.length > 1 || (rest.length === 1 && rest[0] !== '0')) {
      return this.send('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n')
    }
    if (!validKey(words[1])) return this.send('CLIENT_ERROR bad command line format\r\n')
    this.answer(
      noreply,
      () => {
        const found = this.store.delete(Buffer.from(words[1], 'latin1'))
        this.stats.counts[found ? 'delete_hits' : 'delete_misses']++
        return found ? 'DELETED\r\n' : 'NOT_FOUND\r\n'
      },
      'delete',
    )
  }

  private increment(words: string[], decrement: boolean): void {
    const noreply = words.length === 4 && words[3] === 'noreply'
    if ((words.length !== 3 && !noreply) || !validKey(words[1] ?? '')) return this.send('ERROR\r\n')
    const delta = parseUint(words[2], U64)
    if (delta === undefined) return this.send('CLIENT_ERROR invalid numeric delta argument\r\n')
    this.answer(
      noreply,
      () => {
        const result = this.store.increment(Buffer.from(words[1], 'latin1'), delta, decrement)
        const name = decrement ? 'decr' : 'incr'
        this.stats.counts[result === undefined ? `${name}_misses` : `${name}_hits`]++
        if (result === undefined) return 'NOT_FOUND\r\n'
        if (result === 'NON_NUMERIC') return 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n'
        return `${result}\r\n`
      },
      decrement ? 'decr' : 'incr',
    )
  }

  private touch(words: string[]): void {
    const noreply = words.length === 4 && words[3] === 'noreply'
    const exptime = parseInt32(words[2])
    if ((words.length !== 3 && !noreply) || !validKey(words[1] ?? '') || exptime === undefined) return this.send('ERROR\r\n')
    this.answer(
      noreply,
      () => {
        this.stats.counts.cmd_touch++
        const found = this.store.touch(Buffer.from(words[1], 'latin1'), exptime)
        this.stats.counts[found ? 'touch_hits' : 'touch_misses']++
        return found ? 'TOUCHED\r\n' : 'NOT_FOUND\r\n'
      },
      'touch',
    )
  }

  private flush(words: string[]): void {
    const noreply = words.at(-1) === 'noreply'
    const args = words.slice(1, noreply ? -1 : undefined)
    const delay = args.length === 0 ? 0 : parseInt32(args[0])
    if (args.length > 1 || delay === undefined) return this.send('CLIENT_ERROR bad command line format\r\n')
    this.answer(
      noreply,
      () => {
        this.stats.counts.cmd_flush++
        if (delay > 0) setTimeout(() => this.store.flush(), delay * 1000).unref()
        else this.store.flush()
        return 'OK\r\n'
      },
      'flush_all',
    )
  }

  // ---- Kyoto Tycoon's queue mode ----

  /** A message: stored under the queue name, a space, the time in ms (14 digits), a space and a sequence (4 digits). */
  private enqueue(name: Buffer, data: Buffer, flags: number): string {
    const key = Buffer.from(`${name.toString('latin1')} ${String(Date.now()).padStart(14, '0')} ${String(sequence++ % 10000).padStart(4, '0')}`, 'latin1')
    this.store.store('set', key, data, flags, 0)
    this.core.board.notify(queueChannel(name))
    return 'STORED\r\n'
  }

  /** Takes the oldest message of a queue, waiting for one up to the queue wait; it is held until acknowledged. */
  private async takeMessage(names: string[]): Promise<void> {
    if (names.length !== 1 || !validKey(names[0])) return this.send('CLIENT_ERROR bad command line format\r\n')
    const name = Buffer.from(names[0], 'latin1')
    const deadline = Date.now() + (this.options.queueWaitSeconds ?? 10) * 1000
    this.core.beginCall()
    try {
      for (;;) {
        const taken = this.store.takeFirstWithPrefix(Buffer.concat([name, Buffer.from(' ')]))
        if (taken) {
          const [key, stored] = taken
          const list = this.held.get(names[0]) ?? []
          list.push([key, stored])
          this.held.set(names[0], list)
          const item = this.store.decodeStored(stored)
          this.stats.counts.get_hits++
          return this.send(retrievalReply([{key: names[0], item}], false))
        }
        const left = deadline - Date.now()
        if (left <= 0 || this.closed || !(await this.core.board.wait(queueChannel(name), left))) {
          this.stats.counts.get_misses++
          return this.send('END\r\n')
        }
      }
    } finally {
      this.core.endCall()
    }
  }

  /** Acknowledges the message of a queue this connection holds: it is gone for good. */
  private acknowledge(words: string[]): void {
    const noreply = words.at(-1) === 'noreply'
    const list = words[1] === undefined ? undefined : this.held.get(words[1])
    const done = list !== undefined && list.shift() !== undefined
    if (list && list.length === 0) this.held.delete(words[1])
    if (!noreply) this.send(done ? 'DELETED\r\n' : 'NOT_FOUND\r\n')
  }

  /** Writes back what this connection took and did not acknowledge. */
  private giveBack(): void {
    for (const [name, list] of this.held) {
      for (const [key, stored] of list) {
        try {
          this.store.restoreStored(key, stored)
          this.core.board.notify(queueChannel(Buffer.from(name, 'latin1')))
        } catch (error) {
          this.core.logger.error(`memcached: cannot give back a message of ${name}: ${(error as Error).message}`)
        }
      }
    }
    this.held.clear()
  }

  private statsText(): string {
    const now = Math.floor(Date.now() / 1000)
    const dbm = this.store.dbm
    const fields: [string, string | number][] = [
      ['pid', process.pid],
      ['uptime', now - this.stats.started],
      ['time', now],
      ['version', VERSION],
      ['pointer_size', 64],
      ['curr_connections', this.stats.connections],
      ['total_connections', this.stats.totalConnections],
      ['threads', 1],
      ['curr_items', dbm.isOpen() ? dbm.count() : 0],
      ['bytes', dbm.isOpen() ? dbm.getFileSize() : 0],
      ['limit_maxbytes', 0],
      ...Object.entries(this.stats.counts),
      // kv's own: the records and bytes of every database of the server.
      ...this.core.registry.entries.flatMap((entry, index): [string, number][] => {
        const open = entry.dbm?.isOpen() === true
        return [
          [`kv_db_${index}_records`, open ? entry.dbm!.count() : 0],
          [`kv_db_${index}_bytes`, open ? entry.dbm!.getFileSize() : 0],
        ]
      }),
    ]
    return `${fields.map(([name, value]) => `STAT ${name} ${value}\r\n`).join('')}END\r\n`
  }
}
