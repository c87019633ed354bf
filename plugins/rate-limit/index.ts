// `rate-limit`: token buckets for HTTP, signaling, identities, minting and
// data channels, behind one `take(limit, key, cost)`; abuse counters that
// tell a transport when to cut a connection off.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { AbuseCounter } from '../../lib/abuse.ts'
import { errorBody } from '../../lib/errors.ts'
import { PACKAGE, netplayNamespace } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { redisForStore } from '../../lib/redis.ts'
import { MemoryTokenBucketStore, RedisTokenBucketStore, type TokenBucketStore } from '../../lib/stores/token-buckets.ts'
import { TokenBucket, type TakeResult } from '../../lib/token-bucket.ts'
import { RateLimitedError, RateLimitUnavailableError, UnknownLimitError } from './errors.ts'
import { DEFAULT_LIMITS, LimitOptions, RateLimitOptions, type RateLimitOptionsInput } from './schema.ts'

export interface RateLimitStats {
  /** Refusals by limit name. */
  drops: Record<string, number>
  /** Abuse strikes by reason, from every counter handed out. */
  strikes: Record<string, number>
  /** Takes let through because the store was unreachable (fail-open). */
  degraded: number
}

export interface RateLimitApi {
  readonly bodyLimit: number
  /** Effective settings of a named limit. */
  limit (name: string): LimitOptions
  /** Takes `cost` tokens from `key`'s bucket of the named limit. */
  take (name: string, key: string, cost?: number): Promise<TakeResult>
  /** A bucket owned by one connection or sender (no lookup per take; freed with its owner), with `abuse.ceiling`. */
  bucket (name: string): TokenBucket
  /** An abuse counter for one connection or sender; `maxDrops` by default, forgiving per `abuse.forgiveMs`. */
  abuseCounter (limit?: number): AbuseCounter
  /** onRequest hook limiting a route per client IP (honours `trustProxy`). Netplay routes use it already. */
  readonly httpHook: ((request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void) | undefined
  stats (): RateLimitStats
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    rateLimit: RateLimitApi
  }
}

/** A per-owner bucket whose refusals count in `stats().drops` like the shared limits' (signaling and data-channel drops are most of them). */
class CountedBucket extends TokenBucket {
  readonly #name: string
  readonly #drops: Map<string, number>

  constructor (limit: LimitOptions, name: string, drops: Map<string, number>, ceiling: number) {
    super(limit, Date.now(), ceiling)
    this.#name = name
    this.#drops = drops
  }

  override tryTake (cost = 1, now = Date.now()): boolean {
    if (super.tryTake(cost, now)) return true
    this.#drops.set(this.#name, (this.#drops.get(this.#name) ?? 0) + 1)
    return false
  }
}

const parseOptions = optionsParser('rate-limit', RateLimitOptions)
const parseLimit = optionsParser('rate-limit.limits', LimitOptions)

async function rateLimit (app: FastifyInstance, input: RateLimitOptionsInput): Promise<void> {
  const options = parseOptions(input)
  const limits = new Map<string, LimitOptions>()
  for (const [name, limit] of Object.entries({ ...DEFAULT_LIMITS, ...options.limits })) {
    limits.set(name, Object.freeze(parseLimit({ ...DEFAULT_LIMITS[name], ...limit }, `rate-limit.limits.${name}`)))
  }
  const memory = new MemoryTokenBucketStore(options.maxEntries)
  const redis = await redisForStore(app, 'rate-limit', options.store, options.redis)
  const shared: TokenBucketStore = redis === null ? memory : new RedisTokenBucketStore(redis, options.keyPrefix)
  const drops = new Map<string, number>()
  const strikes = new Map<string, number>()
  let degraded = 0
  let lastWarnMs = 0

  function limitOf (name: string): LimitOptions {
    const limit = limits.get(name)
    if (limit === undefined) throw new UnknownLimitError(name)
    return limit
  }

  function counted (name: string, result: TakeResult): TakeResult {
    if (!result.allowed) drops.set(name, (drops.get(name) ?? 0) + 1)
    return result
  }

  /** Takes synchronously when the bucket lives in this process (local limits, or the memory store); null when it lives in Redis. */
  function takeHere (name: string, limit: LimitOptions, key: string, cost: number): TakeResult | null {
    if (limit.scope !== 'local' && redis !== null) return null
    return counted(name, memory.takeSync(name, limit, key, cost))
  }

  async function take (name: string, key: string, cost = 1): Promise<TakeResult> {
    const limit = limitOf(name)
    const here = takeHere(name, limit, key, cost)
    if (here !== null) return here
    try {
      return counted(name, await shared.take(name, limit, key, cost))
    } catch (err) {
      const now = Date.now()
      if (now - lastWarnMs > 10_000) {
        lastWarnMs = now
        app.log.warn({ limit: name, failOpen: limit.failOpen, err: { message: (err as Error).message } }, 'rate limit store unreachable')
      }
      if (!limit.failOpen) throw new RateLimitUnavailableError()
      degraded++
      return { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 }
    }
  }

  const httpLimit = options.http ? limitOf('http') : undefined
  const answer = (reply: FastifyReply, limit: LimitOptions, result: TakeResult, done: HookHandlerDoneFunction): void => {
    reply.header('RateLimit-Limit', limit.capacity)
    reply.header('RateLimit-Remaining', result.remaining)
    reply.header('RateLimit-Reset', Math.ceil(result.resetMs / 1000))
    if (result.allowed) {
      done()
      return
    }
    reply.header('Retry-After', Math.max(1, Math.ceil(result.retryAfterMs / 1000)))
    reply.code(429).send(errorBody(new RateLimitedError()))
  }
  // A callback hook: with the memory store the request never waits on a
  // promise (this runs on every netplay request); with Redis it waits on one.
  const httpHook = httpLimit === undefined
    ? undefined
    : (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
        const here = takeHere('http', httpLimit, request.ip, 1)
        if (here !== null) {
          answer(reply, httpLimit, here, done)
          return
        }
        take('http', request.ip).then(
          (result) => answer(reply, httpLimit, result, done),
          (err: unknown) => { reply.code(503).send(errorBody(err)) }
        )
      }

  netplayNamespace(app).rateLimit = {
    bodyLimit: options.bodyLimit,
    limit: limitOf,
    take,
    bucket: (name) => new CountedBucket(limitOf(name), name, drops, options.abuse.ceiling),
    abuseCounter: (limit = options.abuse.maxDrops) => new AbuseCounter(limit, strikes, options.abuse.forgiveMs),
    httpHook,
    stats: () => ({ drops: Object.fromEntries(drops), strikes: Object.fromEntries(strikes), degraded })
  }
}

export default fp(rateLimit, {
  fastify: '5.x',
  name: `${PACKAGE}/rate-limit`
})

export { RateLimitOptions, type RateLimitOptionsInput } from './schema.ts'
export * from './errors.ts'
