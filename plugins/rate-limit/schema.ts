import Type, { type Static } from 'typebox'
import { DEFAULT_ABUSE_CEILING, DEFAULT_FORGIVE_MS } from '../../lib/abuse.ts'
import type { RedisOption } from '../../lib/redis.ts'

export const LimitOptions = Type.Object({
  capacity: Type.Number({ exclusiveMinimum: 0, maximum: 1e9, description: 'Tokens when full (the burst).' }),
  refillPerSecond: Type.Number({ minimum: 0, maximum: 1e9, description: 'Tokens added per second.' }),
  scope: Type.Union([Type.Literal('shared'), Type.Literal('local')], {
    default: 'shared',
    description: 'shared: kept in the configured store (Redis across nodes); local: this process only (per-connection keys).'
  }),
  failOpen: Type.Boolean({ default: true, description: 'When the store is unreachable: true lets requests through, false refuses them (503).' })
}, { additionalProperties: false })
export type LimitOptions = Static<typeof LimitOptions>

/**
 * One entry of `limits`: fields left out come from the built-in limit of the
 * same name, then from the defaults above. No defaults are filled in here, so
 * overriding `mint`'s capacity keeps it fail-closed.
 */
export const LimitOverride = Type.Partial(LimitOptions, { additionalProperties: false })

const LIMIT_NAME = '^[a-z][a-z0-9_-]*$'

export const DEFAULT_LIMITS: Record<string, LimitOptions> = {
  http: { capacity: 40, refillPerSecond: 20, scope: 'shared', failOpen: true },
  signaling: { capacity: 40, refillPerSecond: 20, scope: 'local', failOpen: true },
  identity: { capacity: 120, refillPerSecond: 40, scope: 'shared', failOpen: true },
  mint: { capacity: 10, refillPerSecond: 0.5, scope: 'shared', failOpen: false },
  relay: { capacity: 400, refillPerSecond: 200, scope: 'local', failOpen: true },
  chat: { capacity: 10, refillPerSecond: 2, scope: 'local', failOpen: true },
  // Inputs (data channels and the data-message relay; a relayed message costs
  // one token per started KiB). EmulatorJS polls a gamepad every 10 ms and
  // turns one analog axis change into 4 inputs, so a stick in motion sends
  // ~800 messages a second and both sticks ~1,600; an upstream host acks every
  // input of every guest. Beyond the refill the excess is dropped, and only
  // what passes `abuse.ceiling` times it is a strike.
  data: { capacity: 4000, refillPerSecond: 2000, scope: 'local', failOpen: true }
}

export const RateLimitOptions = Type.Object({
  store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }),
  redis: Type.Optional(Type.Unsafe<RedisOption>(Type.Any())),
  keyPrefix: Type.String({ default: 'netplay:rl:' }),
  maxEntries: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 100_000, description: 'Memory store: buckets kept (least recently used evicted).' }),
  http: Type.Boolean({ default: true, description: 'Limit netplay HTTP routes per client IP with the `http` limit.' }),
  bodyLimit: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 32 * 1024, description: 'Largest request body on netplay routes (413 above).' }),
  limits: Type.Record(Type.String({ pattern: LIMIT_NAME }), LimitOverride, { default: {}, propertyNames: { pattern: LIMIT_NAME } }),
  abuse: Type.Object({
    maxDrops: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20, description: 'Abusive messages (beyond `ceiling` times a limit) after which a connection is closed.' }),
    ceiling: Type.Number({
      minimum: 1,
      maximum: 1000,
      default: DEFAULT_ABUSE_CEILING,
      description: 'Messages over a per-connection limit are dropped; only those beyond this many times the limit count as abuse (1: every drop does).'
    }),
    forgiveMs: Type.Integer({
      minimum: 0,
      maximum: 86_400_000,
      default: DEFAULT_FORGIVE_MS,
      description: 'One strike of an abuse counter is forgiven per this many milliseconds without a new one (0: strikes add up for good). A burst still crosses the limit at once.'
    })
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false })

export type RateLimitOptions = Static<typeof RateLimitOptions>
export type RateLimitOptionsInput = Partial<Omit<RateLimitOptions, 'limits' | 'abuse'>> & {
  /** Built-in limits take partial overrides; a new limit needs `capacity` and `refillPerSecond`. */
  limits?: Record<string, Partial<LimitOptions>>
  abuse?: Partial<RateLimitOptions['abuse']>
}
