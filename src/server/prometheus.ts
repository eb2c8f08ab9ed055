import {Gauge, collectDefaultMetrics} from 'prom-client'
import type {ServerCore} from './core.js'

const installed = new WeakSet<ServerCore>()

/**
 * The server's metrics in Prometheus' text format: the calls by protocol and operation
 * (CallMetrics), records and bytes per database, calls in flight, the replication lag of a
 * replica, and the process' own (CPU, memory, event-loop delay). The gauges are read when
 * scraped.
 */
export async function prometheusText(core: ServerCore): Promise<{contentType: string; text: string}> {
  const registry = core.metrics.registry
  if (!installed.has(core)) {
    installed.add(core)
    collectDefaultMetrics({register: registry})
    const databases = (read: (index: number) => number) =>
      function (this: Gauge) {
        this.reset()
        core.registry.entries.forEach((entry, index) => {
          if (entry.dbm?.isOpen()) this.set({index: String(index)}, read(index))
        })
      }
    new Gauge({
      name: 'kv_database_records',
      help: 'Records in each database',
      labelNames: ['index'],
      registers: [registry],
      collect: databases((index) => core.registry.get(index).count()),
    })
    new Gauge({
      name: 'kv_database_bytes',
      help: 'Size of each database (its file, or its memory use)',
      labelNames: ['index'],
      registers: [registry],
      collect: databases((index) => core.registry.get(index).getFileSize()),
    })
    new Gauge({
      name: 'kv_active_calls',
      help: 'Calls in flight, blocked ones included',
      registers: [registry],
      collect(this: Gauge) {
        this.set(core.numActiveCalls)
      },
    })
    new Gauge({
      name: 'kv_replication_lag_seconds',
      help: "How far a replica's newest applied change is behind now (absent on a server that does not replicate)",
      registers: [registry],
      collect(this: Gauge) {
        this.reset()
        const newest = core.replication?.maxTimestamp() ?? 0
        const master = new Map(core.replication?.attributes() ?? []).get('repl_master') ?? ''
        if (master !== '' && newest > 0) this.set(Math.max(0, (Date.now() - newest) / 1000))
      },
    })
  }
  return {contentType: registry.contentType, text: core.metrics.durationText() + (await registry.metrics())}
}
