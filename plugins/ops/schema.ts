import Type, { type Static } from 'typebox'

export const OpsOptions = Type.Object({
  prefix: Type.String({ default: '' }),
  healthPath: Type.String({ pattern: '^/', default: '/healthz' }),
  readyPath: Type.String({ pattern: '^/', default: '/readyz' }),
  metrics: Type.Object({
    enabled: Type.Boolean({ default: true }),
    path: Type.String({ pattern: '^/', default: '/metrics' }),
    /** Metric name prefix. */
    prefix: Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', default: 'netplay_' }),
    /**
     * How often the event loop delay is sampled for the nodejs_eventloop_lag_*
     * metrics. prom-client's default (10 ms) costs an idle server about 1% of a
     * core; at 100 ms it is about 0.1%, and a stall still shows.
     */
    eventLoopResolutionMs: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })
  }, { additionalProperties: false, default: {} }),
  drainTimeoutMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000, description: 'How long app.close() waits for clients after telling them the node is going away.' }),
  drainNoticeMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'Pause between telling clients (server-shutdown) and closing their connections; the notice itself is delivered before the close either way.' })
}, { additionalProperties: false })

export type OpsOptions = Static<typeof OpsOptions>
export type OpsOptionsInput = Partial<Omit<OpsOptions, 'metrics'>> & { metrics?: Partial<OpsOptions['metrics']> }
