// The aggregate plugin: registers every enabled netplay plugin from one
// options object, in dependency order, sharing one Redis connection when
// `redis` is given.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { PACKAGE } from './lib/netplay.ts'
import { OptionsInvalidError } from './lib/errors.ts'
import { connectRedis, type RedisOption } from './lib/redis.ts'
import auth, { type AuthOptionsInput } from './plugins/auth/index.ts'
import rateLimit, { type RateLimitOptionsInput } from './plugins/rate-limit/index.ts'
import rooms, { type RoomsOptionsInput } from './plugins/rooms/index.ts'
import signaling, { type SignalingOptionsInput } from './plugins/signaling/index.ts'
import cluster, { type ClusterOptionsInput } from './plugins/cluster/index.ts'
import ops, { type OpsOptionsInput } from './plugins/ops/index.ts'
import datachannelGuard, { type GuardOptionsInput } from './plugins/datachannel-guard/index.ts'
import sfu, { type SfuOptionsInput } from './plugins/sfu/index.ts'

export interface NetplayOptions {
  /** Route prefix for every netplay route (e.g. `/netplay`). */
  prefix?: string
  /** One Redis for every plugin whose store is `redis` (URL, options or a client you own). */
  redis?: RedisOption
  /** `false` serves anonymous clients (logged as a warning at boot). */
  auth: AuthOptionsInput | false
  rateLimit?: RateLimitOptionsInput
  /** `false` registers no signaling transports (and so no rooms). */
  signaling?: SignalingOptionsInput | false
  /** `false` leaves rooms out. */
  rooms?: RoomsOptionsInput | false
  /** Input and relay validation (needs rooms); `false` leaves it out. */
  datachannelGuard?: GuardOptionsInput | false
  /**
   * The mediasoup SFU (needs rooms and datachannelGuard). Off unless given
   * (or `false`); `{ required: false }` runs without it when mediasoup or its
   * worker is missing.
   */
  sfu?: SfuOptionsInput | false
  /** Several nodes on one Redis (needs rooms; `redis` defaults to the shared one). Off unless given (or `false`). */
  cluster?: (Omit<ClusterOptionsInput, 'redis'> & { redis?: RedisOption }) | false
  /** Health, readiness, metrics and graceful drain; `false` leaves them out. */
  ops?: OpsOptionsInput | false
}

const REDIS_PING_TIMEOUT_MS = 1000

/** Each plugin's section of the options, and whether `false` may leave the plugin out (the rate limits never are). */
const SECTIONS = {
  auth: true,
  rateLimit: false,
  signaling: true,
  rooms: true,
  datachannelGuard: true,
  sfu: true,
  cluster: true,
  ops: true
} satisfies Partial<Record<keyof NetplayOptions, boolean>>

/**
 * A section is an options object, absent, or `false` where allowed. Anything
 * else (a JSON config's `"sfu": true`, `rateLimit: false`) is refused before
 * any plugin starts: spread into a plugin's options it would read as that
 * plugin's defaults.
 */
function checkSections (options: NetplayOptions): void {
  for (const [key, canBeOff] of Object.entries(SECTIONS)) {
    const value: unknown = options[key as keyof typeof SECTIONS]
    if (value === undefined || (value === false && canBeOff)) continue
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new OptionsInvalidError(key, canBeOff ? 'expected an options object, or false to leave it out' : 'expected an options object (it cannot be left out)')
    }
  }
}

async function netplay (app: FastifyInstance, options: NetplayOptions): Promise<void> {
  checkSections(options)
  const prefix = options.prefix ?? ''
  let redis: Redis | undefined
  if (options.redis !== undefined) redis = await connectRedis(app, options.redis, 'netplay')
  const withRedis = <T extends { store?: 'memory' | 'redis', redis?: RedisOption }>(opts: T | undefined): T => {
    const merged = { ...opts } as T
    if (redis !== undefined && merged.redis === undefined) {
      merged.redis = redis
      merged.store ??= 'redis'
    }
    return merged
  }
  await app.register(rateLimit, withRedis(options.rateLimit))
  const authOptions: AuthOptionsInput = options.auth === false ? { enabled: false } : options.auth
  await app.register(auth, withRedis({ prefix, ...authOptions }))
  if (options.signaling !== false) {
    await app.register(signaling, { prefix, ...options.signaling })
    if (options.rooms !== false) {
      await app.register(rooms, withRedis({ prefix, ...options.rooms }))
      if (options.datachannelGuard !== false) await app.register(datachannelGuard, options.datachannelGuard ?? {})
    }
  }
  if (options.sfu !== undefined && options.sfu !== false) {
    if (options.signaling === false || options.rooms === false || options.datachannelGuard === false) {
      throw new OptionsInvalidError('sfu', 'the SFU needs signaling, rooms and datachannelGuard')
    }
    await app.register(sfu, { prefix, ...options.sfu })
  }
  if (options.cluster !== undefined && options.cluster !== false) {
    const clusterRedis = options.cluster.redis ?? redis
    if (clusterRedis === undefined) throw new OptionsInvalidError('cluster.redis', 'a cluster needs Redis (set `redis` or `cluster.redis`)')
    await app.register(cluster, { ...options.cluster, redis: clusterRedis })
  }
  if (options.ops === false) return
  await app.register(ops, { prefix, ...options.ops })
  const shared = redis
  if (shared !== undefined) {
    app.netplay.ops.addReadinessCheck('redis', async () => {
      const timeout = new Promise<string>((resolve) => setTimeout(resolve, REDIS_PING_TIMEOUT_MS, 'timeout').unref())
      const reply = await Promise.race([shared.ping().catch((err: Error) => err.message), timeout])
      return reply === 'PONG' ? null : `Redis unreachable (${reply})`
    })
  }
}

export default fp(netplay, { fastify: '5.x', name: PACKAGE })

export { netplayServerOptions, REDACT_PATHS } from './lib/logging.ts'
export type { Identity, TokenKind, NetplayDecorators } from './lib/netplay.ts'
export { default as auth } from './plugins/auth/index.ts'
export { default as rateLimit } from './plugins/rate-limit/index.ts'
export { default as signaling } from './plugins/signaling/index.ts'
export { default as rooms } from './plugins/rooms/index.ts'
export { default as cluster } from './plugins/cluster/index.ts'
export { default as ops } from './plugins/ops/index.ts'
export { default as datachannelGuard } from './plugins/datachannel-guard/index.ts'
export { default as sfu } from './plugins/sfu/index.ts'
