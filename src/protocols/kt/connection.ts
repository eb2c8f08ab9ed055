import type * as net from 'node:net'
import {corked} from '../../server/corked.js'

/** A reader of one protocol on a connection's input. */
export interface ProtocolReader {
  /** Reads and serves one request if it has all arrived; false when it needs more input. */
  step(): boolean
  /** Whether a request has been read in part (the next bytes belong to it). */
  readonly midRequest: boolean
}

/** The first bytes of a binary-protocol request: no HTTP method starts with them. */
export function isBinaryMagic(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0xb0 && byte <= 0xbf
}

/**
 * One client connection on Kyoto Tycoon's port. Each request is HTTP or binary, told apart by
 * its first byte (the reference's clients send both on one connection); requests are served
 * in order, and one that waits (a script, a WAIT) holds the ones behind it.
 */
export class KtConnection {
  input: Buffer = Buffer.alloc(0)
  /**
   * The input length a reader needs before it can go on (a body or frame of known size):
   * pieces that arrive meanwhile are only collected, and joined once, when it is there.
   */
  need = 0
  private pieces: Buffer[] = []
  private piecesLength = 0
  private busy = false
  /** Waiting for the client to read its answers before serving more of its requests. */
  private blocked = false
  closing = false
  http!: ProtocolReader
  binary!: ProtocolReader

  /** `idleMillis`: how long the connection may stay silent while no call of its own is waiting (0: for ever). */
  constructor(
    readonly socket: net.Socket,
    private readonly idleMillis = 0,
  ) {
    socket.on('timeout', () => socket.destroy())
    this.watchIdle(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('drain', () => {
      if (!this.blocked) return
      this.blocked = false
      this.continue()
    })
  }

  receive(chunk: Buffer): void {
    // After an error answer nothing more is read: a client that goes on sending is cut off.
    if (this.closing) {
      this.socket.destroy()
      return
    }
    if (this.input.length + this.piecesLength + chunk.length < this.need) {
      this.pieces.push(chunk)
      this.piecesLength += chunk.length
      return
    }
    if (this.pieces.length > 0) {
      this.input = Buffer.concat([this.input, ...this.pieces, chunk])
      this.pieces = []
      this.piecesLength = 0
    } else this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk])
    this.need = 0
    // The answers to everything that arrived together leave together.
    corked(this.socket, () => this.pump())
  }

  private pump(): void {
    while (!this.busy && !this.closing && this.input.length > 0 && !this.socket.destroyed) {
      // A client that does not read its answers gets no more of its requests served until it does.
      if (this.socket.writableNeedDrain) {
        this.blocked = true
        this.socket.pause()
        return
      }
      const reader = this.http.midRequest ? this.http : this.binary.midRequest ? this.binary : isBinaryMagic(this.input[0]) ? this.binary : this.http
      if (!reader.step()) return
    }
  }

  /** Serves what waits, after a request that held the others or after the client read its answers. */
  private continue(): void {
    if (this.socket.destroyed) return
    this.socket.resume()
    corked(this.socket, () => this.pump())
  }

  /** Writes an answer (the socket stops reading while they pile up unread). */
  write(data: Buffer | string): void {
    if (this.socket.destroyed) return
    if (!this.socket.write(data)) this.socket.pause()
  }

  /** Holds the requests behind one that waits, and goes on once it is answered. */
  hold(waiting: Promise<void>): void {
    this.busy = true
    this.socket.pause()
    // A call that waits (a WAIT, a script) is not idleness.
    this.watchIdle(false)
    void waiting.finally(() => {
      this.busy = false
      this.watchIdle(true)
      if (!this.blocked) this.continue()
    })
  }

  private watchIdle(on: boolean): void {
    if (this.idleMillis <= 0) return
    this.socket.setTimeout(on ? this.idleMillis : 0)
  }

  /** Ends the connection once what is written has gone; nothing more is read. */
  close(): void {
    this.closing = true
    this.input = Buffer.alloc(0)
    this.pieces = []
    this.piecesLength = 0
    this.socket.end()
  }
}
