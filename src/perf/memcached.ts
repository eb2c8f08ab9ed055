import {parseHostPort} from '../net/address.js'
import * as net from 'node:net'
import {Code, StatusError} from '../engine/status.js'
import {makeRandom} from './local.js'
import {perfKey, percentiles, type Latency} from './remote.js'

export type MemcachedPhase = 'set' | 'get' | 'remove'

export interface MemcachedSequenceOptions {
  /** [host:]port of any server speaking the memcached text protocol (127.0.0.1 by default). */
  address: string
  /** Requests per worker and phase. */
  iterations: number
  threads: number
  valueSize: number
  /** Requests a worker has in flight at once (1: one at a time). */
  pipeline: number
  randomKey: boolean
  seed: number
  phases: MemcachedPhase[]
  onPhase?: (result: MemcachedPhaseResult) => void
}

export interface MemcachedPhaseResult {
  name: MemcachedPhase
  operations: number
  elapsed: number
  qps: number
  /** Answers that were errors (or, for get and delete, misses). */
  misses: number
  latency: Latency
}

/** One connection of a worker: requests go out, answers come back in order, each timed. */
class Connection {
  private buffer = ''
  private readonly waiting: {started: number; done: (answer: string) => void}[] = []

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      this.buffer += chunk
      this.settle()
    })
  }

  static open(host: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new Connection(socket)))
      socket.once('error', (error) => reject(new StatusError(Code.NETWORK_ERROR, `cannot connect to ${host}:${port}: ${error.message}`)))
    })
  }

  /** The length of the first whole answer in the buffer, or -1. */
  private answerLength(): number {
    let at = 0
    for (;;) {
      const end = this.buffer.indexOf('\r\n', at)
      if (end < 0) return -1
      const line = this.buffer.slice(at, end)
      const value = /^VALUE \S+ \d+ (\d+)/.exec(line)
      if (!value) return end + 2
      // A get's answer: VALUE lines with their data, up to END.
      at = end + 2 + Number(value[1]) + 2
      if (at > this.buffer.length) return -1
      if (this.buffer.startsWith('END\r\n', at)) return at + 5
    }
  }

  private settle(): void {
    for (let length = this.answerLength(); length >= 0 && this.waiting.length > 0; length = this.answerLength()) {
      const answer = this.buffer.slice(0, length)
      this.buffer = this.buffer.slice(length)
      this.waiting.shift()!.done(answer)
    }
  }

  send(request: string): Promise<{answer: string; millis: number}> {
    return new Promise((resolve) => {
      const started = performance.now()
      this.waiting.push({started, done: (answer) => resolve({answer, millis: performance.now() - started})})
      this.socket.write(request)
    })
  }

  close(): void {
    this.socket.destroy()
  }
}

/**
 * Sets, gets and deletes keys over the memcached protocol, phase after phase, as `kv perf
 * sequence` does over gRPC: worker t uses keys t*iter ... (t+1)*iter-1 as eight digits (or
 * random ones), each on a connection of its own with `pipeline` requests in flight.
 */
export async function runMemcachedSequence(options: MemcachedSequenceOptions): Promise<MemcachedPhaseResult[]> {
  const {host, port} = parseHostPort(options.address, 'memcached')
  const connections = await Promise.all(Array.from({length: options.threads}, () => Connection.open(host, port)))
  const value = 'x'.repeat(options.valueSize)
  const results: MemcachedPhaseResult[] = []
  try {
    for (const phase of options.phases) {
      const samples = new Float64Array(options.iterations * options.threads)
      let sampled = 0
      let misses = 0
      const started = performance.now()
      await Promise.all(
        connections.map(async (connection, worker) => {
          const random = makeRandom(options.seed + worker)
          const keyOf = (i: number): string =>
            perfKey(options.randomKey ? Math.floor(random() * options.iterations * options.threads) : worker * options.iterations + i)
          const request = (key: string): string =>
            phase === 'set' ? `set ${key} 0 0 ${value.length}\r\n${value}\r\n` : phase === 'get' ? `get ${key}\r\n` : `delete ${key}\r\n`
          const good = phase === 'set' ? 'STORED\r\n' : phase === 'get' ? 'VALUE' : 'DELETED\r\n'
          let next = 0
          const lane = async (): Promise<void> => {
            while (next < options.iterations) {
              const {answer, millis} = await connection.send(request(keyOf(next++)))
              samples[sampled++] = millis
              if (!answer.startsWith(good)) misses++
            }
          }
          await Promise.all(Array.from({length: Math.max(1, options.pipeline)}, lane))
        }),
      )
      const elapsed = (performance.now() - started) / 1000
      const operations = options.iterations * options.threads
      const result = {name: phase, operations, elapsed, qps: operations / elapsed, misses, latency: percentiles(samples.subarray(0, sampled))}
      results.push(result)
      options.onPhase?.(result)
    }
  } finally {
    for (const connection of connections) connection.close()
  }
  return results
}
