import type {Latency} from '../perf/remote.js'
import type {ScenarioResult} from '../perf/remote-scenarios.js'
import {paintVerdict} from './color.js'

/** Latency percentiles as `kv perf` prints them. */
export function latencyText({p50, p99, p999, max}: Latency): string {
  return `p50=${p50.toFixed(3)}ms p99=${p99.toFixed(3)}ms p999=${p999.toFixed(3)}ms max=${max.toFixed(3)}ms`
}

/** A mixed scenario's report in the shape of tkrzw_dbm_remote_perf's, with latencies. */
export function scenarioText(result: ScenarioResult, setting: string): string {
  const lines = [
    `Doing: ${setting}`,
    `Done: elapsed_time=${result.elapsed.toFixed(6)} num_operations=${result.operations} qps=${Math.round(result.qps)} ${latencyText(result.latency)}`,
  ]
  if (result.errors.length > 0) lines.push(...result.errors.map((error) => paintVerdict(`Inconsistent: ${error}`, false)))
  else lines.push(paintVerdict('Consistent: yes', true))
  return `${lines.join('\n')}\n`
}
