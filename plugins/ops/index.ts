// `ops`: liveness, readiness, Prometheus metrics and a graceful drain.
// Readiness is the conjunction of checks other plugins register (Redis
// reachable, a mediasoup worker alive, not draining); each failing check
// names itself in the body so an operator sees why.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { processMetrics } from './process-metrics.ts'
import { netplayRoutes } from '../../lib/http.ts'
import { PACKAGE, netplayNamespace } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { OpsOptions, type OpsOptionsInput } from './schema.ts'

/** A readiness check: null when fine, else the reason this node should not get traffic. */
export type ReadinessCheck = () => string | null | Promise<string | null>

export interface OpsApi {
  addReadinessCheck (name: string, check: ReadinessCheck): void
  /** Runs every check; `reasons` is empty when ready. */
  readiness (): Promise<{ ready: boolean, reasons: Record<string, string> }>
  readonly draining: boolean
  /** The app's own Prometheus registry (nothing global). */
  readonly metrics: Registry
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    ops: OpsApi
  }
}

const parseOptions = optionsParser('ops', OpsOptions)

async function ops (app: FastifyInstance, input: OpsOptionsInput): Promise<void> {
  const options = parseOptions(input)
  const np = app.netplay
  const checks = new Map<string, ReadinessCheck>()
  let draining = false
  checks.set('draining', () => draining ? 'node is shutting down' : null)
  // Its own name: the aggregate adds a `redis` PING check, which must not replace this one.
  if (np.cluster !== undefined) checks.set('cluster', () => np.cluster.healthy ? null : 'cluster heartbeats are not reaching Redis')
  // Only an SFU that ran at boot can become unready: one left out on purpose (`required: false` without mediasoup) never does.
  if (np.sfu?.available === true) checks.set('sfu', () => np.sfu.available ? null : 'no mediasoup worker is running')

  const registry = new Registry()
  const p = options.metrics.prefix
  // Node process metrics sample the event loop on a timer of their own: only when metrics are served, stopped on close.
  if (options.metrics.enabled) {
    const processSampler = processMetrics(registry, p, options.metrics.eventLoopResolutionMs)
    app.addHook('onClose', async () => { processSampler.stop() })
  }
  const joins = new Counter({ name: `${p}joins_total`, help: 'Room joins answered, by outcome', labelNames: ['outcome'], registers: [registry] })
  // Label children bound once: a labelled inc() hashes its labels on every call (7% of a join in the load bench's profile).
  const joinsOk = joins.labels('ok')
  const joinsRefused = joins.labels('refused')
  const joinLatency = new Histogram({ name: `${p}join_duration_seconds`, help: 'join-room handling time', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry] })
  // Figures the plugins already keep are read at scrape time, not copied on every event.
  const sample = <T extends Gauge | Counter>(metric: T): void => { registry.registerMetric(metric) }
  sample(new Gauge({ name: `${p}rooms`, help: 'Rooms on this node', registers: [], collect () { this.set(count(np.rooms?.all())) } }))
  sample(new Gauge({ name: `${p}seats`, help: 'Seated players on this node (reconnecting included)', registers: [], collect () { let n = 0; for (const room of np.rooms?.all() ?? []) n += room.current; this.set(n) } }))
  sample(new Gauge({ name: `${p}connections`, help: 'Live signaling connections', registers: [], collect () { this.set(np.signaling?.connectionCount ?? 0) } }))
  sample(new Gauge({ name: `${p}auth_failures_total`, help: 'Authentication failures by reason', labelNames: ['reason'], registers: [], collect () { setAll(this, np.auth?.stats().failures) } }))
  sample(new Gauge({ name: `${p}rate_limit_drops_total`, help: 'Requests and messages refused by a rate limit, by limit', labelNames: ['limit'], registers: [], collect () { setAll(this, np.rateLimit?.stats().drops) } }))
  sample(new Gauge({ name: `${p}input_rejects_total`, help: 'Inputs and relayed messages refused by the data-channel guard, by reason', labelNames: ['reason'], registers: [], collect () { setAll(this, np.datachannelGuard?.stats().rejects) } }))
  if (np.sfu !== undefined) {
    const sfu = np.sfu
    sample(new Gauge({ name: `${p}sfu_workers`, help: 'mediasoup workers running', registers: [], collect () { this.set(sfu.stats().workers) } }))
    sample(new Gauge({ name: `${p}sfu_worker_replacements_total`, help: 'mediasoup workers that died and were replaced', registers: [], collect () { this.set(sfu.stats().workerReplacements) } }))
    sample(new Gauge({
      name: `${p}sfu_objects`,
      help: 'mediasoup objects held for clients, by kind',
      labelNames: ['kind'],
      registers: [],
      collect () {
        const stats = sfu.stats()
        setAll(this, { rooms: stats.rooms, transports: stats.transports, producers: stats.producers, consumers: stats.consumers, data_producers: stats.dataProducers, data_consumers: stats.dataConsumers })
      }
    }))
    sample(new Gauge({ name: `${p}sfu_inputs_total`, help: 'Inputs on SFU input channels, by outcome', labelNames: ['outcome'], registers: [], collect () { const { inputs } = sfu.stats(); setAll(this, { forwarded: inputs.forwarded, refused: inputs.refused }) } }))
    sample(new Gauge({ name: `${p}sfu_input_guard_seconds_total`, help: 'Time SFU inputs spent in this node (receive, check, forward); divide by sfu_inputs_total for the mean', registers: [], collect () { this.set(sfu.stats().inputs.guardSeconds) } }))
  }
  sample(new Gauge({ name: `${p}abuse_strikes_total`, help: 'Abuse strikes (invalid messages, drops, rejected inputs) by reason', labelNames: ['reason'], registers: [], collect () { setAll(this, np.rateLimit?.stats().strikes) } }))

  np.signaling?.onEventHandled('join-room', (seconds, ok) => {
    const outcome = ok ? joinsOk : joinsRefused
    outcome.inc()
    joinLatency.observe(seconds)
  })

  const readiness = async (): Promise<{ ready: boolean, reasons: Record<string, string> }> => {
    const reasons: Record<string, string> = {}
    for (const [name, check] of checks) {
      try {
        const reason = await check()
        if (reason !== null) reasons[name] = reason
      } catch (err) {
        reasons[name] = (err as Error).message
      }
    }
    return { ready: Object.keys(reasons).length === 0, reasons }
  }

  await netplayRoutes(app, { prefix: options.prefix }, (scope) => {
    scope.get(options.healthPath, async () => ({ status: 'ok' }))
    scope.get(options.readyPath, async (_request, reply) => {
      const state = await readiness()
      reply.code(state.ready ? 200 : 503)
      return state
    })
    if (options.metrics.enabled) {
      scope.get(options.metrics.path, async (_request, reply) => {
        reply.header('content-type', registry.contentType)
        return registry.metrics()
      })
    }
  })

  // Drain on close: stop taking rooms, leave the cluster, tell every client,
  // give them a moment, then let the other plugins close their connections.
  // With signaling present this must run before its transports close the
  // connections (a preClose of ours added after theirs would find none).
  const drain = async (): Promise<void> => {
    draining = true
    const deadline = Date.now() + options.drainTimeoutMs
    np.cluster?.drain()
    const leaving = np.cluster?.leave()
    let told = 0
    for (const connection of np.signaling?.connections() ?? []) {
      told++
      connection.emit('server-shutdown', { message: 'this netplay node is shutting down; reconnect to continue', reconnectAfterMs: options.drainNoticeMs })
    }
    const pause = told === 0 ? 0 : Math.min(options.drainNoticeMs, Math.max(0, deadline - Date.now()))
    const bounded = new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())
    await Promise.race([Promise.all([leaving, new Promise((resolve) => setTimeout(resolve, pause))]), bounded])
  }
  if (np.signaling !== undefined) np.signaling.onClosing(drain)
  else app.addHook('preClose', drain)

  netplayNamespace(app).ops = {
    addReadinessCheck: (name, check) => { checks.set(name, check) },
    readiness,
    get draining () { return draining },
    metrics: registry,

  }
}

function count (items: Iterable<unknown> | undefined): number {
  return items === undefined ? 0 : Array.from(items).length
}

/** Copies a by-label tally kept by a plugin into a labelled gauge (monotonic, so it reads as a counter). */
function setAll (gauge: Gauge, tally: Record<string, number> | undefined): void {
  gauge.reset()
  const [label] = (gauge as unknown as { labelNames: string[] }).labelNames
  for (const [value, n] of Object.entries(tally ?? {})) gauge.set({ [label as string]: value }, n)
}

export default fp(ops, {
  fastify: '5.x',
  name: `${PACKAGE}/ops`,
  dependencies: [`${PACKAGE}/rate-limit`]
})

export { OpsOptions, type OpsOptionsInput } from './schema.ts'
