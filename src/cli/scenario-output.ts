import type {ScenarioResult} from '../perf/remote-scenarios.js'

/** A mixed scenario's report in the shape of tkrzw_dbm_remote_perf's, with latencies. */
export function scenarioText(result: ScenarioResult, setting: string): string {
  const {p50, p99, p999, max} = result.latency
  const lines = [
    `Doing: ${setting}`,
    `Done: elapsed_time=${result.elapsed.toFixed(6)} num_operations=${result.operations} qps=${Math.round(result.qps)} ` +
      `p50=${p50.toFixed(3)}ms p99=${p99.toFixed(3)}ms p999=${p999.toFixed(3)}ms max=${max.toFixed(3)}ms`,
  ]
  if (result.errors.length > 0) lines.push(...result.errors.map((error) => `Inconsistent: ${error}`))
  else lines.push('Consistent: yes')
  return `${lines.join('\n')}\n`
}
