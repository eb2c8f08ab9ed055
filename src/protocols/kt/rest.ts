import type {ServerCore} from '../../server/core.js'
import {failureOf, resolveDatabase} from './procedures.js'
import {NO_RECORD, type KtRecords} from './records.js'
import {HTTP_STATUS} from './rpc-failure.js'
import type {HttpRequest, HttpResponse} from './http-session.js'
import {urlDecode} from './tsv.js'

/**
 * An absolute expiry as the X-Kt-Xt header gives it: decimal epoch seconds, a W3C date and
 * time (2030-01-01T00:00:00Z), or an RFC 1123 date. Undefined when it is none of these.
 */
export function parseExpiryHeader(value: string): number | undefined {
  const trimmed = value.trim()
  if (/^-?\d+$/.test(trimmed)) return Number(trimmed)
  const millis = Date.parse(trimmed)
  return Number.isNaN(millis) ? undefined : Math.floor(millis / 1000)
}

/** The key and database a REST path names: `/<key>` or `/<db>/<key>`, URL-encoded. */
function target(core: ServerCore, path: string): {index: number; key: Buffer} {
  const rest = path.slice(1)
  const slash = rest.indexOf('/')
  if (slash < 0) return {index: 0, key: urlDecode(Buffer.from(rest, 'latin1'))}
  const database = urlDecode(Buffer.from(rest.slice(0, slash), 'latin1')).toString('latin1')
  return {index: resolveDatabase(core, database), key: urlDecode(Buffer.from(rest.slice(slash + 1), 'latin1'))}
}

/**
 * Kyoto Tycoon's RESTful interface: GET (the value, X-Kt-Xt when it expires), HEAD, PUT
 * (X-Kt-Mode set, add or replace; X-Kt-Xt an absolute expiry) and DELETE on a key.
 */
export function serveRest(core: ServerCore, records: KtRecords, request: HttpRequest, path: string): HttpResponse {
  const answer = (status: number, content: Buffer | string = '', headers: [string, string | number][] = []): HttpResponse => ({
    status,
    headers,
    body: typeof content === 'string' ? Buffer.from(content) : content,
  })
  const method = request.method
  if (!['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) return answer(501)
  let index: number
  let key: Buffer
  try {
    ;({index, key} = target(core, path))
  } catch {
    return answer(400, 'no such database\n')
  }
  try {
    if (method === 'GET' || method === 'HEAD') {
      const found = records.tryGet(index, key)
      if (!found) return answer(404, '', [['X-Kt-Error', NO_RECORD]])
      // A HEAD answer has the GET's headers; the session leaves the body out.
      return answer(200, found.value, found.xt > 0 ? [['X-Kt-Xt', new Date(found.xt * 1000).toUTCString()]] : [])
    }
    if (method === 'DELETE') return records.tryRemove(index, key) ? answer(204) : answer(404, '', [['X-Kt-Error', NO_RECORD]])
    const mode = (request.header('x-kt-mode') ?? 'set').toLowerCase()
    if (mode !== 'set' && mode !== 'add' && mode !== 'replace') return answer(400, '', [['X-Kt-Error', 'invalid parameters']])
    const xtHeader = request.header('x-kt-xt')
    let xt: number | undefined
    if (xtHeader !== undefined) {
      const absolute = parseExpiryHeader(xtHeader)
      if (absolute === undefined) return answer(400, '', [['X-Kt-Error', 'invalid parameters']])
      // Absolute times travel as negative numbers.
      xt = -absolute
    }
    records.store(index, mode, key, request.body, xt)
    return answer(201, '', [['Location', `http://${request.header('host') ?? 'localhost'}${path}`]])
  } catch (error) {
    const failure = failureOf(error)
    return answer(HTTP_STATUS[failure.rv], '', [['X-Kt-Error', failure.message.replace(/[\r\n]/g, ' ')]])
  }
}
