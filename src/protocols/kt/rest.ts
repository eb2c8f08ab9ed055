import {NOOP, REMOVE} from '../../engine/dbm.js'
import {readWithExpiry} from '../../engine/expiry/expiring-dbm.js'
import type {ServerCore} from '../../server/core.js'
import {NO_RECORD, RV, RpcFailure, failureOf, resolveDatabase, withXt, type KtCounters} from './procedures.js'
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
export function serveRest(core: ServerCore, counters: KtCounters, request: HttpRequest, path: string): HttpResponse {
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
  const counts = counters.counts
  try {
    const dbm = core.database(index)
    if (method === 'GET' || method === 'HEAD') {
      counts.cnt_get++
      const found = readWithExpiry(dbm, key)
      if (!found) {
        counts.cnt_get_misses++
        return answer(404, '', [['X-Kt-Error', NO_RECORD]])
      }
      // A HEAD answer has the GET's headers; the session leaves the body out.
      return answer(200, found.value, found.xt > 0 ? [['X-Kt-Xt', new Date(found.xt * 1000).toUTCString()]] : [])
    }
    if (method === 'DELETE') {
      counts.cnt_remove++
      let found = false
      dbm.process(key, {ignoresValue: true, processFull: () => ((found = true), REMOVE), processEmpty: () => NOOP}, true)
      if (!found) {
        counts.cnt_remove_misses++
        return answer(404, '', [['X-Kt-Error', NO_RECORD]])
      }
      return answer(204)
    }
    const mode = (request.headers.get('x-kt-mode') ?? 'set').toLowerCase()
    if (!['set', 'add', 'replace'].includes(mode)) return answer(400, '', [['X-Kt-Error', 'invalid parameters']])
    const xtHeader = request.headers.get('x-kt-xt')
    let xt: number | undefined
    if (xtHeader !== undefined) {
      const absolute = parseExpiryHeader(xtHeader)
      if (absolute === undefined) return answer(400, '', [['X-Kt-Error', 'invalid parameters']])
      // Absolute times travel as negative numbers.
      xt = -absolute
    }
    counts.cnt_set++
    let stored = true
    withXt(dbm, index, xt, () => {
      dbm.process(
        key,
        {
          ignoresValue: true,
          processFull: () => (mode === 'add' ? ((stored = false), NOOP) : request.body),
          processEmpty: () => (mode === 'replace' ? ((stored = false), NOOP) : request.body),
        },
        true,
      )
    })
    if (!stored) {
      counts.cnt_set_misses++
      const message = mode === 'add' ? 'DB: 6: record duplication: record duplication' : NO_RECORD
      return answer(450, '', [['X-Kt-Error', message]])
    }
    return answer(201, '', [['Location', `http://${request.headers.get('host') ?? 'localhost'}${path}`]])
  } catch (error) {
    const failure = failureOf(error)
    return answer(failure.rv === RV.INVALID ? 400 : failure.rv === RV.LOGIC ? 450 : 500, '', [['X-Kt-Error', sanitize(failure)]])
  }
}

function sanitize(failure: RpcFailure): string {
  return failure.message.replace(/[\r\n]/g, ' ')
}
