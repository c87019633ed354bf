// One-time write tokens: a token's `jti` must be present, and using it
// removes it atomically, so exactly one use succeeds, also when two nodes
// race. The Redis layout is RomM's own (`SET sfu:auth:jti:<jti> "0" EX 30`),
// so a sidecar consumes the tokens RomM minted.
import type { LRUCache } from 'lru-cache'
import type { Redis } from 'ioredis'
import { boundedLru } from '../lru.ts'

export interface OneTimeTokenStore {
  /** Records a freshly minted jti, valid for `ttlMs`. */
  remember (jti: string, ttlMs: number): Promise<void>
  /** Removes the jti; true only for the one caller that removed it. */
  consume (jti: string): Promise<boolean>
}

export class MemoryOneTimeTokenStore implements OneTimeTokenStore {
  readonly #live: LRUCache<string, true>

  constructor (maxEntries = 100_000) {
    this.#live = boundedLru(maxEntries, 1)
  }

  async remember (jti: string, ttlMs: number): Promise<void> {
    this.#live.set(jti, true, { ttl: Math.max(1, ttlMs) })
  }

  async consume (jti: string): Promise<boolean> {
    // `has` ignores expired entries; check and delete run in one tick, so this is atomic.
    if (!this.#live.has(jti)) return false
    this.#live.delete(jti)
    return true
  }
}

export class RedisOneTimeTokenStore implements OneTimeTokenStore {
  readonly #redis: Redis
  readonly #prefix: string

  constructor (redis: Redis, prefix: string) {
    this.#redis = redis
    this.#prefix = prefix
  }

  async remember (jti: string, ttlMs: number): Promise<void> {
    await this.#redis.set(this.#prefix + jti, '0', 'PX', Math.max(1, ttlMs))
  }

  async consume (jti: string): Promise<boolean> {
    return (await this.#redis.getdel(this.#prefix + jti)) !== null
  }
}
