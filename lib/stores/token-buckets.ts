// Keyed token buckets: memory (bounded LRU) or Redis (one atomic Lua script,
// clock from Redis TIME so every node agrees). Keys: `<prefix><limit>:<key>`.
import type { LRUCache } from 'lru-cache'
import type { Redis } from 'ioredis'
import { boundedLru } from '../lru.ts'
import { TokenBucket, resultFor, type BucketLimit, type TakeResult } from '../token-bucket.ts'

export interface TokenBucketStore {
  take (limitName: string, limit: BucketLimit, key: string, cost: number): Promise<TakeResult>
}

export class MemoryTokenBucketStore implements TokenBucketStore {
  readonly #buckets: LRUCache<string, TokenBucket>

  constructor (maxEntries: number) {
    this.#buckets = boundedLru(maxEntries)
  }

  get size (): number { return this.#buckets.size }

  takeSync (limitName: string, limit: BucketLimit, key: string, cost: number): TakeResult {
    const id = `${limitName}:${key}`
    let bucket = this.#buckets.get(id)
    if (bucket === undefined || bucket.limit !== limit) {
      bucket = new TokenBucket(limit)
      this.#buckets.set(id, bucket)
    }
    return bucket.take(cost)
  }

  async take (limitName: string, limit: BucketLimit, key: string, cost: number): Promise<TakeResult> {
    return this.takeSync(limitName, limit, key, cost)
  }
}

const TAKE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = capacity
  updated = now
end
if now > updated then
  tokens = math.min(capacity, tokens + (now - updated) * per_ms)
end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now)
local ttl = 86400000
if per_ms > 0 then ttl = math.ceil((capacity - tokens) / per_ms) end
if ttl < 1000 then ttl = 1000 end
if ttl > 86400000 then ttl = 86400000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return { allowed, tostring(tokens) }
`

interface BucketCommands {
  netplayTakeTokens (key: string, capacity: number, perMs: number, cost: number): Promise<[number, string]>
}

export class RedisTokenBucketStore implements TokenBucketStore {
  readonly #redis: Redis & BucketCommands
  readonly #prefix: string

  constructor (redis: Redis, prefix: string) {
    if (typeof (redis as Partial<BucketCommands>).netplayTakeTokens !== 'function') {
      redis.defineCommand('netplayTakeTokens', { numberOfKeys: 1, lua: TAKE_SCRIPT })
    }
    this.#redis = redis as Redis & BucketCommands
    this.#prefix = prefix
  }

  async take (limitName: string, limit: BucketLimit, key: string, cost: number): Promise<TakeResult> {
    const [allowed, tokens] = await this.#redis.netplayTakeTokens(
      `${this.#prefix}${limitName}:${key}`, limit.capacity, limit.refillPerSecond / 1000, cost)
    return resultFor(limit, Number(tokens), cost, allowed === 1)
  }
}
