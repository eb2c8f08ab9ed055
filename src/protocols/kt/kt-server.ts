import * as net from 'node:net'
import {formatHostPort, parseHostPort} from '../../net/address.js'
import type {FrontEnd, FrontEndFactory} from '../../server/core.js'
import {prometheusText} from '../../server/prometheus.js'
import {BinaryReader} from './binary.js'
import {KtConnection} from './connection.js'
import {KT_VERSION, RpcSession, callProcedure, failureOf, isProcedure, type Output, type ProcedureContext, type ScriptRunner} from './procedures.js'
import {KtScript} from './lua/script.js'
import {KtRecords} from './records.js'
import {HTTP_STATUS, KtCounters, RV, RpcFailure} from './rpc-failure.js'
import {HttpReader, type HttpRequest, type HttpResponse} from './http-session.js'
import {serveRest} from './rest.js'
import {FORM_TYPE, TSV_TYPE, columnEncodingOf, encodeTsv, parseForm, parseTsv, urlDecode, type ByteMap} from './tsv.js'

export interface KtOptions {
  /** [host:]port; 127.0.0.1 when no host is given. */
  address: string
  /** The largest request body taken, in bytes (64 MiB); a larger one is refused with 413. */
  maxBodySize?: number
  /** Seconds an idle keep-alive connection stays open (30, the reference's session timeout). */
  idleSeconds?: number
  /** A Lua script whose global functions play_script calls; reloaded on SIGUSR1. */
  scriptPath?: string
  /** Milliseconds one script call may run, bytes its state may hold. */
  scriptTimeoutMs?: number
  scriptMemoryBytes?: number
}

const DEFAULT_MAX_BODY = 64 << 20
/** The reference's limit on a query string. */
const MAX_QUERY = 8 << 10
const SERVER_NAME = `kv (KyotoTycoon/${KT_VERSION} protocol)`

/** How long a WAIT waits when no WAITTIME is given, in seconds. */
const DEFAULT_WAIT_SECONDS = 30

function conditionChannel(name: string): string {
  return `kt-condition:${name}`
}

/**
 * Kyoto Tycoon's port: HTTP/1.0 and 1.1 with keep-alive (TSV-RPC under /rpc/, REST
 * elsewhere, Prometheus metrics at /metrics) and the binary protocol, each request told
 * apart by its first byte.
 */
export function ktFrontEnd(options: KtOptions): FrontEndFactory {
  return async (core) => {
    const {host, port} = parseHostPort(options.address, 'Kyoto Tycoon')
    const counters = new KtCounters()
    const records = new KtRecords(core, counters)
    const script = options.scriptPath
      ? await KtScript.load(options.scriptPath, core, records, {timeoutMs: options.scriptTimeoutMs, memoryBytes: options.scriptMemoryBytes})
      : undefined
    const runScript: ScriptRunner | undefined = script?.run
    // SIGUSR1 loads the script again; a script that does not load leaves the old one serving.
    const reload = (): void => {
      if (!script) return
      script.reload().then(
        () => core.logger.info(`kt: reloaded the script ${script.path}`),
        (error: unknown) => core.logger.error(`kt: cannot reload the script ${script.path}: ${(error as Error).message}`),
      )
    }
    if (script) {
      process.on('SIGUSR1', reload)
      core.logger.info(`kt: loaded the script ${script.path}`)
    }
    const sockets = new Set<net.Socket>()
    const maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY
    const idleMillis = (options.idleSeconds ?? 30) * 1000
    const server = net.createServer((socket) => {
      sockets.add(socket)
      counters.connections++
      socket.on('close', () => {
        sockets.delete(socket)
        counters.connections--
      })
      socket.on('error', () => socket.destroy())
      socket.setNoDelay(true)
      const connection = new KtConnection(socket, idleMillis)
      const context = {core, session: new RpcSession(), counters, records, script: runScript}
      connection.http = new HttpReader(connection, (request) => serveRequest(context, request), maxBody, SERVER_NAME)
      connection.binary = new BinaryReader(connection, core, counters, records, maxBody, runScript)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new Error(`cannot listen on ${options.address} for Kyoto Tycoon's protocols: ${error.message}`)))
      server.listen(port, host, () => resolve())
    })
    const bound = server.address() as net.AddressInfo
    const boundAddress = formatHostPort(bound.address, bound.port)
    core.logger.info(`kt: listening on ${boundAddress} (HTTP TSV-RPC, REST, binary)`)
    const frontEnd: FrontEnd = {
      name: 'kt',
      boundAddress,
      stopAccepting: () =>
        new Promise<void>((resolve) => {
          process.off('SIGUSR1', reload)
          server.close(() => resolve())
        }),
      forceClose: () => {
        for (const socket of sockets) socket.destroy()
        script?.close()
      },
    }
    return frontEnd
  }
}

type Context = ProcedureContext

/** One HTTP request: TSV-RPC under /rpc/, REST elsewhere; counted as a call while it runs, and recorded in the metrics. */
function serveRequest(context: Context, request: HttpRequest): HttpResponse | Promise<HttpResponse> {
  const {core} = context
  core.beginCall()
  const started = performance.now()
  const done = (response: HttpResponse): HttpResponse => {
    const {protocol, operation} = operationOf(request)
    core.metrics.record(protocol, operation, (performance.now() - started) / 1000, response.status >= 500 || response.status === 400)
    core.endCall()
    return response
  }
  let result: HttpResponse | Promise<HttpResponse>
  try {
    result = route(context, request)
  } catch (error) {
    core.endCall()
    throw error
  }
  return result instanceof Promise ? result.then(done, (error: unknown) => (core.endCall(), Promise.reject(error))) : done(result)
}

const REST_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE'])

/** How the metrics name a request: kt_rpc and the procedure, or kt_rest and the method. */
function operationOf(request: HttpRequest): {protocol: string; operation: string} {
  const target = request.target
  if (!target.startsWith('/rpc/')) return {protocol: 'kt_rest', operation: REST_METHODS.has(request.method) ? request.method : 'other'}
  const end = target.indexOf('?')
  const name = target.slice(5, end < 0 ? undefined : end)
  // Only names of procedures become labels: anything else is one label, so that junk cannot grow the series.
  return {protocol: 'kt_rpc', operation: isProcedure(name) ? name : 'unknown'}
}

function route(context: Context, request: HttpRequest): HttpResponse | Promise<HttpResponse> {
  const target = request.target
  const question = target.indexOf('?')
  const pathPart = question < 0 ? target : target.slice(0, question)
  if (pathPart === '/metrics' && request.method === 'GET') {
    return prometheusText(context.core).then(({contentType, text}) => ({status: 200, headers: [['Content-Type', contentType]], body: Buffer.from(text)}))
  }
  if (!pathPart.startsWith('/rpc/')) return serveRest(context.core, context.records, request, pathPart)
  const query = question < 0 ? '' : target.slice(question + 1)
  if (query.length > MAX_QUERY) return tsvResponse(400, [[Buffer.from('ERROR'), Buffer.from(`the query string is longer than ${MAX_QUERY} bytes`)]])
  const encodedName = pathPart.slice(5)
  const name = /[%+]/.test(encodedName) ? urlDecode(Buffer.from(encodedName, 'latin1')).toString('latin1') : encodedName
  const input: ByteMap = new Map()
  if (query !== '') parseForm(Buffer.from(query, 'latin1'), input)
  const type = (request.header('content-type') ?? '').toLowerCase()
  if (type.startsWith(FORM_TYPE)) parseForm(request.body, input)
  else if (type.startsWith(TSV_TYPE)) parseTsv(request.body, columnEncodingOf(type), input)
  const outcome = runRpc(context, name, input)
  return outcome instanceof Promise ? outcome.then(({status, output}) => tsvResponse(status, output)) : tsvResponse(outcome.status, outcome.output)
}

function tsvResponse(status: number, output: Output): HttpResponse {
  const encoded = encodeTsv(output)
  return {status, headers: [['Content-Type', encoded.contentType]], body: encoded.body}
}

type RpcOutcome = {status: number; output: Output}

function failed(error: unknown): RpcOutcome {
  const failure = failureOf(error)
  return {status: HTTP_STATUS[failure.rv], output: [[Buffer.from('ERROR'), Buffer.from(failure.message, 'utf8')]]}
}

/**
 * A TSV-RPC call with its common arguments: WAIT (and WAITTIME) blocks on a named condition
 * before the procedure, SIGNAL (with SIGNALBROAD, everyone) wakes its waiters after it.
 * Answers at once unless the call waits.
 */
export function runRpc(context: Context, name: string, input: ByteMap): RpcOutcome | Promise<RpcOutcome> {
  const wait = input.get('WAIT')?.toString('latin1')
  if (wait !== undefined) {
    const seconds = Number(input.get('WAITTIME')?.toString('latin1') ?? DEFAULT_WAIT_SECONDS)
    const waitSeconds = Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_WAIT_SECONDS
    return context.core.board.wait(conditionChannel(wait), waitSeconds * 1000).then((signaled) => {
      if (!signaled) return failed(new RpcFailure(RV.TIMEOUT, 'timeout'))
      return runProcedure(context, name, input)
    })
  }
  return runProcedure(context, name, input)
}

function runProcedure(context: Context, name: string, input: ByteMap): RpcOutcome | Promise<RpcOutcome> {
  const signal = (output: Output): RpcOutcome => {
    const channel = input.get('SIGNAL')?.toString('latin1')
    if (channel !== undefined) {
      const board = context.core.board
      const woken = input.has('SIGNALBROAD') ? board.notify(conditionChannel(channel)) : board.notifyOne(conditionChannel(channel))
      output.push([Buffer.from('SIGNALED'), Buffer.from(String(woken))])
    }
    return {status: 200, output}
  }
  try {
    const output = callProcedure(context, name, input)
    return output instanceof Promise ? output.then(signal, failed) : signal(output)
  } catch (error) {
    return failed(error)
  }
}
