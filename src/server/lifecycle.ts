import {spawn} from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import {parseConfig} from '../engine/params.js'
import {fromSystemError} from '../engine/status.js'
import {Logger, type LogDateFormat, type LogLevel} from './logger.js'
import {ServerCore, type ComponentFactory, type FrontEndFactory} from './core.js'

export interface RunServerOptions {
  configs: string[]
  address: string
  auth?: string
  logFile: string
  logLevel: LogLevel
  logDate: LogDateFormat
  logTd?: number
  serverId: number
  pidFile?: string
  daemon: boolean
  shutdownWait: number
  readOnly: boolean
  version: string
  maxConnections?: number
  handshakeTimeout?: number
  idleTimeout?: number
  /** The server's update log (`--ulog_prefix`, `--ulog_max_file_size`). */
  ulog?: {prefix: string; maxFileSize: number}
  /** Seconds between sweeps of expired records. */
  sweepSeconds?: number
  /** The command-line flags that set the components up, for a daemon's own command line. */
  componentArgs?: string[]
}

const DAEMON_ENV = 'KV_SERVE_DAEMON_CHILD'

/**
 * Runs `kv serve` with its front ends until a signal stops it. Returns the exit status: 1 when a database
 * failed to open or to close, 0 otherwise. With `daemon`, starts a detached copy of
 * itself, waits until it listens (or fails), and returns.
 */
export async function runServer(options: RunServerOptions, frontEnds: FrontEndFactory[], components: ComponentFactory[] = []): Promise<number> {
  if (options.daemon && process.env[DAEMON_ENV] !== '1') return startDaemon(options)
  const logger = new Logger({file: options.logFile, level: options.logLevel, dateFormat: options.logDate, timeDifference: options.logTd})
  // Signals are caught from the start: one that arrives while the server is still starting
  // stops it as soon as it is up, rather than killing it half-open.
  const signals = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const
  let caught: string | undefined
  let onSignal: ((signal: string) => void) | undefined
  const catcher = (signal: string) => {
    caught ??= signal
    onSignal?.(signal)
  }
  for (const name of signals) process.on(name, catcher)
  const reopenLog = () => {
    logger.info('caught SIGHUP: reopening the log file')
    logger.reopen()
  }
  process.on('SIGHUP', reopenLog)
  const release = () => {
    for (const name of signals) process.removeListener(name, catcher)
    process.removeListener('SIGHUP', reopenLog)
  }
  let server: ServerCore
  try {
    // A pid file that cannot be written is a failure to start, not a warning.
    if (options.pidFile) writePidFile(options.pidFile)
    server = await ServerCore.start(
      {
        configs: options.configs,
        readOnly: options.readOnly,
        logger,
        version: options.version,
        serverId: options.serverId,
        ulog: options.ulog,
        sweepSeconds: options.sweepSeconds,
      },
      frontEnds,
      components,
    )
  } catch (error) {
    release()
    if (options.pidFile) fs.rmSync(options.pidFile, {force: true})
    logger.error((error as Error).message)
    process.send?.({error: (error as Error).message})
    throw error
  }
  logger.info(`server_id=${options.serverId} pid=${process.pid} databases=${server.registry.size}`)
  if (process.send) {
    process.send({ready: server.boundAddress})
    process.disconnect()
  }
  const openFailed = server.registry.failures().length > 0
  const closeErrors = await new Promise<string[]>((resolve) => {
    let stopping = false
    onSignal = (signal) => {
      if (stopping) {
        // A second signal while draining cuts the wait short.
        logger.warn(`caught ${signal} again: exiting at once`)
        process.exit(1)
      }
      stopping = true
      logger.info(`caught ${signal}`)
      server.shutdown(options.shutdownWait).then(resolve, (error: Error) => resolve([error.message]))
    }
    if (caught !== undefined) onSignal(caught)
  })
  release()
  if (options.pidFile) fs.rmSync(options.pidFile, {force: true})
  logger.close()
  return openFailed || closeErrors.length > 0 ? 1 : 0
}

function writePidFile(file: string): void {
  try {
    fs.writeFileSync(file, `${process.pid}\n`)
  } catch (error) {
    throw fromSystemError(error, `cannot write the pid file ${file}`)
  }
}

/** Absolute paths for everything a daemon, which runs from "/", reads or writes. */
function absolutize(options: RunServerOptions): RunServerOptions {
  const abs = (file: string) => (file === '' || file === '-' || file.startsWith('/dev/') ? file : path.resolve(file))
  const configs = options.configs.map((config) => {
    const {path: file} = parseConfig(config)
    return file === '' ? config : abs(file) + config.slice(file.length)
  })
  let auth = options.auth
  if (auth?.startsWith('ssl:')) {
    auth = `ssl:${auth
      .slice(4)
      .split(',')
      .map((item) => {
        const eq = item.indexOf('=')
        return eq > 0 ? `${item.slice(0, eq)}=${abs(item.slice(eq + 1))}` : item
      })
      .join(',')}`
  }
  let address = options.address
  if (address.startsWith('unix:')) address = `unix:${abs(address.slice(5))}`
  const ulog = options.ulog ? {...options.ulog, prefix: abs(options.ulog.prefix)} : undefined
  return {...options, configs, auth, address, ulog, logFile: abs(options.logFile), pidFile: options.pidFile ? abs(options.pidFile) : undefined}
}

function argvOf(options: RunServerOptions): string[] {
  const args = ['serve', '--address', options.address, '--log_level', options.logLevel, '--log_date', options.logDate]
  args.push('--server_id', String(options.serverId), '--shutdown_wait', String(options.shutdownWait))
  if (options.auth) args.push('--auth', options.auth)
  if (options.logFile) args.push('--log_file', options.logFile)
  if (options.logTd !== undefined) args.push('--log_td', String(options.logTd))
  if (options.pidFile) args.push('--pid_file', options.pidFile)
  if (options.readOnly) args.push('--read_only')
  if (options.maxConnections !== undefined) args.push('--max_connections', String(options.maxConnections))
  if (options.handshakeTimeout !== undefined) args.push('--handshake_timeout', String(options.handshakeTimeout))
  if (options.idleTimeout !== undefined) args.push('--idle_timeout', String(options.idleTimeout))
  if (options.ulog) args.push('--ulog_prefix', options.ulog.prefix, '--ulog_max_file_size', String(options.ulog.maxFileSize))
  if (options.componentArgs) args.push(...options.componentArgs)
  args.push('--daemon', ...options.configs)
  return args
}

async function startDaemon(options: RunServerOptions): Promise<number> {
  const absolute = absolutize(options)
  // Without a log file, a daemon's log would go nowhere.
  if (absolute.logFile === '' || absolute.logFile === '-') absolute.logFile = '/dev/null'
  // With this process's Node.js flags (bin/run.js says why they matter).
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...argvOf(absolute)], {
    cwd: '/',
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: {...process.env, [DAEMON_ENV]: '1'},
  })
  const outcome = await new Promise<{ready?: string; error?: string}>((resolve) => {
    child.once('message', (message) => resolve(message as {ready?: string; error?: string}))
    child.once('exit', (code) => resolve({error: `the server exited at once with status ${code}`}))
  })
  child.unref()
  child.disconnect?.()
  if (outcome.error) {
    process.stderr.write(`kv: ${outcome.error}\n`)
    return 1
  }
  process.stderr.write(`kv: serving on ${outcome.ready} as process ${child.pid}\n`)
  return 0
}
