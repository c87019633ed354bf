// Node process metrics for the ops registry, under the same names as
// prom-client's defaults (dashboards built for those keep working), but
// owned by the app: collectDefaultMetrics() leaves its event-loop sampler
// and GC observer running after app.close(), with no handle to stop them
// (measured: 20 closed apps kept an idle process at 1.5% of a core).
// Everything here is read at scrape time except the event-loop delay
// histogram, which `stop()` disables.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { getHeapStatistics } from 'node:v8'
import { Gauge, type Registry } from 'prom-client'

const NS_PER_S = 1e9
const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime())

/** Registers the process metrics on `registry`; returns what stops the event-loop sampler. */
export function processMetrics (registry: Registry, prefix: string, eventLoopResolutionMs: number): { stop: () => void } {
  const gauge = (name: string, help: string, collect: (this: Gauge) => void, labelNames: string[] = []): void => {
    registry.registerMetric(new Gauge({ name: `${prefix}${name}`, help, labelNames, registers: [], collect }))
  }
  gauge('process_cpu_user_seconds_total', 'User CPU time spent in seconds', function () { this.set(process.cpuUsage().user / 1e6) })
  gauge('process_cpu_system_seconds_total', 'System CPU time spent in seconds', function () { this.set(process.cpuUsage().system / 1e6) })
  gauge('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds', function () { const cpu = process.cpuUsage(); this.set((cpu.user + cpu.system) / 1e6) })
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds', function () { this.set(startTimeSeconds) })
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes', function () { this.set(process.memoryUsage.rss()) })
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes', function () { this.set(getHeapStatistics().total_heap_size) })
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes', function () { this.set(getHeapStatistics().used_heap_size) })
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes', function () { this.set(process.memoryUsage().external) })
  gauge('nodejs_version_info', 'Node.js version info', function () { this.set({ version: process.version }, 1) }, ['version'])

  // Sampled every eventLoopResolutionMs; read and reset at each scrape, so each figure covers the time since the last one.
  const delay = monitorEventLoopDelay({ resolution: eventLoopResolutionMs })
  delay.enable()
  const seconds = (ns: number): number => Number.isFinite(ns) ? ns / NS_PER_S : 0
  const lag = { p50: 0, p99: 0, max: 0 }
  registry.registerMetric(new Gauge({
    name: `${prefix}nodejs_eventloop_lag_p50_seconds`,
    help: 'The median of the recorded event loop delays since the last scrape',
    registers: [],
    collect () {
      // The first of the three gauges to be collected reads the histogram for all of them.
      lag.p50 = seconds(delay.percentile(50))
      lag.p99 = seconds(delay.percentile(99))
      lag.max = seconds(delay.max)
      delay.reset()
      this.set(lag.p50)
    }
  }))
  gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays since the last scrape', function () { this.set(lag.p99) })
  gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay since the last scrape', function () { this.set(lag.max) })
  return { stop: () => { delay.disable() } }
}
