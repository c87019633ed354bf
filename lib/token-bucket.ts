// Token-bucket arithmetic, shared by the memory store, the per-connection
// buckets of signaling and data channels, and (in Lua) the Redis store.

export interface BucketLimit {
  /** Tokens the bucket holds when full (the burst). */
  capacity: number
  /** Tokens added per second. */
  refillPerSecond: number
}

export interface TakeResult {
  allowed: boolean
  /** Whole tokens left after this take. */
  remaining: number
  /** Milliseconds until the request would be allowed (0 when allowed). */
  retryAfterMs: number
  /** Milliseconds until the bucket is full again. */
  resetMs: number
}

const DAY_MS = 86_400_000

/**
 * Snaps float noise at whole tokens: ten refills of 0.1 token make 1 token,
 * not 0.9999999999999999 (which would refuse a request that is due).
 */
function settle (tokens: number): number {
  const whole = Math.round(tokens)
  return Math.abs(tokens - whole) < 1e-9 ? whole : tokens
}

export function resultFor (limit: BucketLimit, tokens: number, cost: number, allowed: boolean): TakeResult {
  const perMs = limit.refillPerSecond / 1000
  const missing = Math.max(0, cost - tokens)
  return {
    allowed,
    remaining: Math.max(0, Math.floor(tokens)),
    retryAfterMs: allowed ? 0 : (perMs > 0 ? Math.min(DAY_MS, Math.ceil(missing / perMs)) : DAY_MS),
    resetMs: perMs > 0 ? Math.min(DAY_MS, Math.ceil((limit.capacity - tokens) / perMs)) : DAY_MS
  }
}

/**
 * What a connection's bucket says of one message: `allowed`; `shed` (over
 * the limit: dropped, but within `ceiling` times the limit, which real
 * clients reach in bursts, so not held against the sender); `abusive`
 * (beyond that: dropped, and a strike).
 */
export type Admission = 'allowed' | 'shed' | 'abusive'

/** A single bucket owned by one connection or sender: synchronous, no allocation per take. */
export class TokenBucket {
  readonly limit: BucketLimit
  /** Messages up to this many times the limit are shed rather than abusive (1: every refusal is abusive). */
  readonly ceiling: number
  tokens: number
  updatedMs: number
  // Charged with the shed messages only: one burst, refilled at (ceiling - 1)
  // times the rate; made at the first one.
  #overflow: TokenBucket | undefined

  constructor (limit: BucketLimit, now = Date.now(), ceiling = 1) {
    this.limit = limit
    this.ceiling = ceiling
    this.tokens = limit.capacity
    this.updatedMs = now
  }

  /** Takes `cost` tokens, or says whether the refused message is within the ceiling (shed) or beyond it (abusive). */
  admit (cost = 1, now = Date.now()): Admission {
    if (this.tryTake(cost, now)) return 'allowed'
    const spare = this.ceiling - 1
    if (spare <= 0) return 'abusive'
    this.#overflow ??= new TokenBucket({ capacity: this.limit.capacity, refillPerSecond: this.limit.refillPerSecond * spare }, now)
    return this.#overflow.tryTake(cost, now) ? 'shed' : 'abusive'
  }

  /** Refills for the elapsed time, then takes `cost` tokens if there are enough. */
  tryTake (cost = 1, now = Date.now()): boolean {
    if (now > this.updatedMs) {
      this.tokens = Math.min(this.limit.capacity, settle(this.tokens + (now - this.updatedMs) * this.limit.refillPerSecond / 1000))
      this.updatedMs = now
    }
    if (this.tokens >= cost) {
      this.tokens -= cost
      return true
    }
    return false
  }

  take (cost = 1, now = Date.now()): TakeResult {
    const allowed = this.tryTake(cost, now)
    return resultFor(this.limit, this.tokens, cost, allowed)
  }
}
