import type {ClientStream} from './grpc-channel.js'
import {networkError} from './wire.js'

/**
 * Pairs the requests written on a bidirectional call with the responses that come back in
 * the same order. A transport error rejects everything still waiting.
 */
export class DuplexQueue<Req, Res> {
  private readonly pending: {resolve: (response: Res) => void; reject: (error: Error) => void}[] = []
  private failure: Error | undefined

  constructor(private readonly call: ClientStream) {
    call.on('data', (response: Res) => this.pending.shift()?.resolve(response))
    call.on('error', (error: Error) => this.fail(networkError(error)))
    call.on('end', () => this.fail(new Error('the server ended the call')))
  }

  private fail(error: Error): void {
    this.failure ??= error
    for (const waiter of this.pending.splice(0)) waiter.reject(this.failure)
  }

  /** Sends a request and resolves with its response. */
  request(request: Req): Promise<Res> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.pending.push({resolve, reject})
      this.call.write(request)
    })
  }

  /** Sends a request that gets no response. */
  send(request: Req): void {
    if (this.failure) throw this.failure
    this.call.write(request)
  }

  close(): void {
    this.call.end()
  }
}
