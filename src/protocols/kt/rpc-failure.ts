import {skipStack} from '../../engine/status.js'

/** Kyoto Tycoon's return values, and the HTTP status each one answers with. */
export enum RV {
  SUCCESS = 0,
  NOIMPL = 1,
  INVALID = 2,
  LOGIC = 3,
  TIMEOUT = 4,
  INTERNAL = 5,
}

export const HTTP_STATUS: {[rv in RV]: number} = {
  [RV.SUCCESS]: 200,
  [RV.NOIMPL]: 501,
  [RV.INVALID]: 400,
  [RV.LOGIC]: 450,
  [RV.TIMEOUT]: 503,
  [RV.INTERNAL]: 500,
}

/** A call's failure: its return value and the message of its ERROR record. Only an internal one keeps a stack trace (see skipStack). */
export class RpcFailure extends Error {
  readonly rv: RV

  constructor(rv: RV, message: string) {
    const limit = skipStack(rv === RV.INTERNAL)
    super(message)
    Error.stackTraceLimit = limit
    this.rv = rv
  }
}

/** Counts the report shows, kept by the front end. */
export class KtCounters {
  connections = 0
  readonly counts = {cnt_set: 0, cnt_set_misses: 0, cnt_remove: 0, cnt_remove_misses: 0, cnt_get: 0, cnt_get_misses: 0, cnt_script: 0, cnt_misc: 0}
}
