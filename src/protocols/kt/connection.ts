import type * as net from 'node:net'

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
  private busy = false
  closing = false
  http!: ProtocolReader
  binary!: ProtocolReader

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('drain', () => {
      if (!this.busy) socket.resume()
    })
  }

  receive(chunk: Buffer): void {
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk])
    // The answers to everything that arrived together leave together.
    this.socket.cork()
    try {
      this.pump()
    } finally {
      this.socket.uncork()
    }
  }

  private pump(): void {
    while (!this.busy && !this.closing && this.input.length > 0 && !this.socket.destroyed) {
      const reader = this.http.midRequest ? this.http : this.binary.midRequest ? this.binary : isBinaryMagic(this.input[0]) ? this.binary : this.http
      if (!reader.step()) return
    }
  }

  /** Writes an answer; a client that does not read its answers gets no more of its requests read until it does. */
  write(data: Buffer | string): void {
    if (this.socket.destroyed) return
    if (!this.socket.write(data)) this.socket.pause()
  }

  /** Holds the requests behind one that waits, and goes on once it is answered. */
  hold(waiting: Promise<void>): void {
    this.busy = true
    this.socket.pause()
    void waiting.finally(() => {
      this.busy = false
      if (this.socket.destroyed) return
      this.socket.resume()
      this.socket.cork()
      try {
        this.pump()
      } finally {
        this.socket.uncork()
      }
    })
  }

  /** Ends the connection once what is written has gone; nothing more is read. */
  close(): void {
    this.closing = true
    this.input = Buffer.alloc(0)
    this.socket.end()
  }
}
