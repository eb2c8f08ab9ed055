import {Counter, Registry} from 'prom-client'

/**
 * Counts of the calls a server answers, by protocol and operation: how many, how many
 * failed, and how long they took, as Prometheus metrics (kv_call_duration_seconds, a
 * histogram whose _count is the number of calls, and kv_call_failures_total).
 *
 * The histogram is kept here, as plain counts per series, and written out when scraped:
 * recording a call is two map lookups and a few additions. Through the client library's
 * histogram each observation built a label object and a hash string, a sixth of the
 * JavaScript time of a small Kyoto Tycoon request.
 */
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const DURATION_NAME = 'kv_call_duration_seconds'
const DURATION_HELP = 'Calls answered, by protocol and operation, and how long they took'

interface Series {
  protocol: string
  operation: string
  count: number
  failures: number
  /** Calls by the first bucket bound at or above their duration (not cumulative); the last slot is past every bound. */
  buckets: number[]
  sum: number
}

export class CallMetrics {
  readonly registry = new Registry()
  /** By protocol, then operation: names the callers pass as constants, whose hashes are kept. */
  private readonly series = new Map<string, Map<string, Series>>()
  private readonly failures = new Counter({
    name: 'kv_call_failures_total',
    help: 'Calls that failed (an error status), by protocol and operation',
    labelNames: ['protocol', 'operation'],
    registers: [this.registry],
  })

  /** Records one call that took `seconds`. */
  record(protocol: string, operation: string, seconds: number, failed = false): void {
    let operations = this.series.get(protocol)
    if (operations === undefined) {
      operations = new Map()
      this.series.set(protocol, operations)
    }
    let series = operations.get(operation)
    if (series === undefined) {
      series = {protocol, operation, count: 0, failures: 0, buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0}
      operations.set(operation, series)
    }
    series.count++
    series.sum += seconds
    let bucket = 0
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]) bucket++
    series.buckets[bucket]++
    if (failed) {
      series.failures++
      this.failures.inc({protocol, operation})
    }
  }

  private allSeries(): Series[] {
    const all: Series[] = []
    for (const operations of this.series.values()) all.push(...operations.values())
    return all
  }

  /** The counts as name/value pairs, for Inspect and reports: calls_<protocol>_<operation>, failures_<protocol>_<operation>. */
  attributes(): [string, string][] {
    const attributes: [string, string][] = []
    const all = this.allSeries().sort((a, b) => a.protocol.localeCompare(b.protocol) || a.operation.localeCompare(b.operation))
    for (const series of all) {
      attributes.push([`calls_${series.protocol}_${series.operation}`, String(series.count)])
      if (series.failures > 0) attributes.push([`failures_${series.protocol}_${series.operation}`, String(series.failures)])
    }
    return attributes
  }

  /** The duration histogram in Prometheus' text format: cumulative buckets, then the sum and the count, series by series. */
  durationText(): string {
    const lines = [`# HELP ${DURATION_NAME} ${DURATION_HELP}`, `# TYPE ${DURATION_NAME} histogram`]
    for (const series of this.allSeries()) {
      const labels = `protocol="${labelValue(series.protocol)}",operation="${labelValue(series.operation)}"`
      let cumulative = 0
      DURATION_BUCKETS.forEach((bound, i) => {
        cumulative += series.buckets[i]
        lines.push(`${DURATION_NAME}_bucket{le="${bound}",${labels}} ${cumulative}`)
      })
      lines.push(`${DURATION_NAME}_bucket{le="+Inf",${labels}} ${series.count}`)
      lines.push(`${DURATION_NAME}_sum{${labels}} ${series.sum}`)
      lines.push(`${DURATION_NAME}_count{${labels}} ${series.count}`)
    }
    return `${lines.join('\n')}\n`
  }
}

/** A label value as the text format escapes it. */
function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}
