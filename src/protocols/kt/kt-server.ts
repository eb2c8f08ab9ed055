import * as http from 'node:http'
import * as net from 'node:net'
import {formatHostPort} from '../../net/address.js'
import type {FrontEnd, FrontEndFactory, ServerCore} from '../../server/core.js'
import {listenAddress} from '../../server/listen.js'
import {BinarySession, isBinaryMagic} from './binary.js'
import {HTTP_STATUS, KT_VERSION, KtCounters, RV, RpcFailure, RpcSession, callProcedure, type Output, type ScriptRunner} from './procedures.js'
import {serveRest} from './rest.js'
import {FORM_TYPE, TSV_TYPE, columnEncodingOf, encodeTsv, parseForm, parseTsv, urlDecode, type ByteMap} from './tsv.js'

export interface KtOptions {
  /** [host:]port; 127.0.0.1 when no host is given. */
  address: string
  /** The largest request body taken, in bytes (64 MiB); a larger one is refused with 413. */
  maxBodySize?: number
  /** Seconds an idle keep-alive connection stays open (30, the reference's session timeout). */
  idleSeconds?: number
  /** Runs play_script procedures, when a script is loaded. */
  script?: ScriptRunner
}

const DEFAULT_MAX_BODY = 64 << 20
/** The reference's limit on a query string. */
const MAX_QUERY = 8 << 10
const SERVER_NAME = `kv (KyotoTycoon/${KT_VERSION} protocol)`

/** The reason phrase of Kyoto Tycoon's own status, which Node does not know. */
http.STATUS_CODES[450] ??= 'Logical Inconsistency'

/** How long a WAIT waits when no WAITTIME is given, in seconds. */
const DEFAULT_WAIT_SECONDS = 30

function conditionChannel(name: string): string {
  return `kt-condition:${name}`
}

/**
 * Kyoto Tycoon's port: HTTP/1.0 and 1.1 with keep-alive (TSV-RPC under /rpc/, REST
 * elsewhere) and the binary protocol, told apart by the first byte a connection sends.
 */
export function ktFrontEnd(options: KtOptions): FrontEndFactory {
  return async (core) => {
    const {host, port} = listenAddress(options.address, 'Kyoto Tycoon')
    const counters = new KtCounters()
    const sessions = new WeakMap<net.Socket, RpcSession>()
    const sockets = new Set<net.Socket>()
    const maxBody = options.maxBodySize ?? DEFAULT_MAX_BODY
    const httpServer = http.createServer({keepAliveTimeout: (options.idleSeconds ?? 30) * 1000, requestTimeout: 0}, (request, response) => {
      const socket = request.socket
      let session = sessions.get(socket)
      if (!session) {
        session = new RpcSession()
        sessions.set(socket, session)
      }
      core.beginCall()
      void serveHttp(core, counters, session, options, maxBody, request, response).finally(() => core.endCall())
    })
    httpServer.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
      else socket.destroy()
    })
    const server = net.createServer((socket) => {
      sockets.add(socket)
      counters.connections++
      socket.on('close', () => {
        sockets.delete(socket)
        counters.connections--
      })
      socket.on('error', () => socket.destroy())
      socket.setNoDelay(true)
      // The first byte tells the protocol: the binary protocol's magic bytes start no HTTP method.
      socket.once('data', (chunk: Buffer) => {
        socket.pause()
        if (isBinaryMagic(chunk[0])) {
          new BinarySession(socket, core, counters, chunk, maxBody, options.script)
          return
        }
        socket.unshift(chunk)
        httpServer.emit('connection', socket)
        socket.resume()
      })
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
          httpServer.closeIdleConnections()
          server.close(() => resolve())
        }),
      forceClose: () => {
        for (const socket of sockets) socket.destroy()
      },
    }
    return frontEnd
  }
}

/** Reads a request body up to the limit; undefined (and a 413 sent) when it is larger. */
function readBody(request: http.IncomingMessage, response: http.ServerResponse, limit: number): Promise<Buffer | undefined> {
  const declared = Number(request.headers['content-length'] ?? 0)
  if (declared > limit) {
    refuse(response, 413, `the request body is larger than ${limit} bytes`)
    request.resume()
    return Promise.resolve(undefined)
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    request.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        refuse(response, 413, `the request body is larger than ${limit} bytes`)
        request.socket.destroySoon()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    request.on('end', () => resolve(Buffer.concat(chunks)))
    request.on('error', () => resolve(undefined))
    request.on('aborted', () => resolve(undefined))
  })
}

function refuse(response: http.ServerResponse, status: number, message: string): void {
  if (response.headersSent) return
  response.writeHead(status, {'Content-Type': TSV_TYPE, Server: SERVER_NAME, Connection: 'close'})
  response.end(`ERROR\t${message}\n`)
}

async function serveHttp(
  core: ServerCore,
  counters: KtCounters,
  session: RpcSession,
  options: KtOptions,
  maxBody: number,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const body = await readBody(request, response, maxBody)
  if (body === undefined) return
  const target = request.url ?? '/'
  const question = target.indexOf('?')
  const pathPart = question < 0 ? target : target.slice(0, question)
  const query = question < 0 ? '' : target.slice(question + 1)
  try {
    if (pathPart.startsWith('/rpc/')) {
      if (query.length > MAX_QUERY) return refuse(response, 400, `the query string is longer than ${MAX_QUERY} bytes`)
      const name = urlDecode(Buffer.from(pathPart.slice(5), 'latin1')).toString('latin1')
      const input: ByteMap = new Map()
      if (query !== '') parseForm(Buffer.from(query, 'latin1'), input)
      const type = request.headers['content-type'] ?? ''
      if (type.toLowerCase().startsWith(FORM_TYPE)) parseForm(body, input)
      else if (type.toLowerCase().startsWith(TSV_TYPE)) parseTsv(body, columnEncodingOf(type), input)
      const {status, output} = await runRpc({core, session, counters, script: options.script}, name, input)
      const encoded = encodeTsv(output)
      response.writeHead(status, {'Content-Type': encoded.contentType, 'Content-Length': encoded.body.length, Server: SERVER_NAME})
      response.end(encoded.body)
      return
    }
    await serveRest(core, counters, request, response, pathPart, body, SERVER_NAME)
  } catch (error) {
    refuse(response, 500, (error as Error).message)
  }
}

/**
 * A TSV-RPC call with its common arguments: WAIT (and WAITTIME) blocks on a named condition
 * before the procedure, SIGNAL (with SIGNALBROAD, everyone) wakes its waiters after it.
 */
export async function runRpc(context: Parameters<typeof callProcedure>[0], name: string, input: ByteMap): Promise<{status: number; output: Output}> {
  const {core} = context
  try {
    const wait = input.get('WAIT')?.toString('latin1')
    if (wait !== undefined) {
      const seconds = Number(input.get('WAITTIME')?.toString('latin1') ?? DEFAULT_WAIT_SECONDS)
      const waitSeconds = Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_WAIT_SECONDS
      if (!(await core.board.wait(conditionChannel(wait), waitSeconds * 1000))) throw new RpcFailure(RV.TIMEOUT, 'timeout')
    }
    const output = await callProcedure(context, name, input)
    const signal = input.get('SIGNAL')?.toString('latin1')
    if (signal !== undefined) {
      const woken = input.has('SIGNALBROAD') ? core.board.notify(conditionChannel(signal)) : core.board.notifyOne(conditionChannel(signal))
      output.push([Buffer.from('SIGNALED'), Buffer.from(String(woken))])
    }
    return {status: 200, output}
  } catch (error) {
    const failure = error instanceof RpcFailure ? error : new RpcFailure(RV.INTERNAL, (error as Error).message)
    return {status: HTTP_STATUS[failure.rv], output: [[Buffer.from('ERROR'), Buffer.from(failure.message, 'utf8')]]}
  }
}
