import {spawn, type ChildProcess} from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import {fileURLToPath} from 'node:url'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/run.js')

export interface RunningServer {
  address: string
  child: ChildProcess
  /** Everything the server logged so far. */
  log: () => string
  /** Sends a signal and resolves with the exit status once the process is gone. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/**
 * Starts `kv serve` as a child process on 127.0.0.1 with a free port (or the address
 * given) and resolves once it listens, with the address it reported.
 */
export function startServer(args: string[] = [], address = '127.0.0.1:0'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['serve', '--address', address, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    let settled = false
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (\S+)/.exec(output)
      if (match && !settled) {
        settled = true
        resolve({
          address: match[1],
          child,
          log: () => output,
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal)
            return exited
          },
        })
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    // With --log_file, the address appears in the file instead.
    const logAt = args.indexOf('--log_file')
    if (logAt >= 0) {
      const poll = setInterval(() => {
        if (settled) return clearInterval(poll)
        try {
          const text = fs.readFileSync(args[logAt + 1], 'utf8')
          if (/listening on (\S+)/.test(text)) {
            clearInterval(poll)
            output = ''
            onData(Buffer.from(text))
          }
        } catch {
          // not written yet
        }
      }, 50)
      child.on('exit', () => clearInterval(poll))
    }
    child.on('exit', (code) => {
      if (!settled) {
        settled = true
        reject(new Error(`kv serve exited with ${code} before listening: ${output}`))
      }
    })
  })
}

/** A TCP port free on 127.0.0.1 now, for a program that cannot be told to pick one itself. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (probe.address() as net.AddressInfo).port
      probe.close(() => resolve(port))
    })
  })
}

/** The port a second front end of a server reports in its log (`<name>: listening on host:port`), once it does. */
export async function frontEndPort(server: RunningServer, name: string): Promise<number> {
  const pattern = new RegExp(`${name}: listening on \\S*:(\\d+)`)
  for (let i = 0; i < 250 && !pattern.test(server.log()); i++) await new Promise((resolve) => setTimeout(resolve, 20))
  const port = Number(pattern.exec(server.log())?.[1])
  if (!port) throw new Error(`${name} did not start: ${server.log()}`)
  return port
}
