import {Counter, Histogram, Registry} from 'prom-client'

/**
 * Counts of the calls a server answers, by protocol and operation: how many, how many
 * failed, and how long they took, as Prometheus metrics (kv_call_duration_seconds, a
 * histogram whose _count is the number of calls, and kv_call_failures_total). Each series'
 * handle is kept, so that recording a call is a lookup and a few additions.
 */
export const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface Series {
  protocol: string
  operation: string
  count: number
  failures: number
  duration: {observe(seconds: number): void}
}

export class CallMetrics {
  readonly registry = new Registry()
  private readonly series = new Map<string, Series>()
  private readonly durations = new Histogram({
    name: 'kv_call_duration_seconds',
    help: 'Calls answered, by protocol and operation, and how long they took',
    labelNames: ['protocol', 'operation'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  })
  private readonly failures = new Counter({
    name: 'kv_call_failures_total',
    help: 'Calls that failed (an error status), by protocol and operation',
    labelNames: ['protocol', 'operation'],
    registers: [this.registry],
  })

  /** Records one call that took `seconds`. */
  record(protocol: string, operation: string, seconds: number, failed = false): void {
    const name = `${protocol}\u0000${operation}`
    let series = this.series.get(name)
    if (!series) {
      series = {protocol, operation, count: 0, failures: 0, duration: this.durations.labels(protocol, operation)}
      this.series.set(name, series)
    }
    series.count++
    series.duration.observe(seconds)
    if (failed) {
      series.failures++
      this.failures.inc({protocol, operation})
    }
  }

  /** The counts as name/value pairs, for Inspect and reports: calls_<protocol>_<operation>, failures_<protocol>_<operation>. */
  attributes(): [string, string][] {
    const attributes: [string, string][] = []
    const all = [...this.series.values()].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.operation.localeCompare(b.operation))
    for (const series of all) {
      attributes.push([`calls_${series.protocol}_${series.operation}`, String(series.count)])
      if (series.failures > 0) attributes.push([`failures_${series.protocol}_${series.operation}`, String(series.failures)])
    }
    return attributes
  }
}
