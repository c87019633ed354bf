import t from 'tap'
import fc from 'fast-check'
import { TokenBucket, resultFor } from '../../lib/token-bucket.ts'

const DAY_MS = 86_400_000

t.test('a new bucket is full and allows exactly `capacity` takes', async (t) => {
  const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 1 }, 0)
  t.same([bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0)].map((r) => [r.allowed, r.remaining]), [[true, 2], [true, 1], [true, 0]])
  const refused = bucket.take(1, 0)
  t.equal(refused.allowed, false)
  t.equal(refused.remaining, 0)
})

t.test('refills over the injected clock, never above capacity', async (t) => {
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 4 }, 0)
  t.ok(bucket.tryTake(2, 0))
  t.notOk(bucket.tryTake(1, 100), '0.4 token after 100 ms')
  t.ok(bucket.tryTake(1, 250), '1 token after 250 ms')
  t.equal(bucket.take(0, 60_000).remaining, 2, 'a minute later: capped at capacity')
  t.equal(bucket.tokens, 2)
})

t.test('retryAfterMs and resetMs', async (t) => {
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, 0)
  bucket.take(2, 0)
  const empty = bucket.take(1, 0)
  t.same(empty, { allowed: false, remaining: 0, retryAfterMs: 1000, resetMs: 2000 })
  const later = bucket.take(1, 250)
  t.same(later, { allowed: false, remaining: 0, retryAfterMs: 750, resetMs: 1750 })
  const due = bucket.take(1, 1000)
  t.same(due, { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 2000 })
})

t.test('cost > 1 takes several tokens; a refused take consumes nothing', async (t) => {
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 2 }, 0)
  t.same(bucket.take(4, 0), { allowed: true, remaining: 6, retryAfterMs: 0, resetMs: 2000 })
  const refused = bucket.take(7, 0)
  t.equal(refused.allowed, false)
  t.equal(refused.remaining, 6)
  t.equal(refused.retryAfterMs, 500, 'one token missing at 2/s')
  t.ok(bucket.tryTake(6, 0), 'the 6 tokens are still there')
})

t.test('refill 0: never refills; retry and reset are capped at a day', async (t) => {
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 0 }, 0)
  t.ok(bucket.tryTake(1, 0))
  t.same(bucket.take(1, 10 * DAY_MS), { allowed: false, remaining: 0, retryAfterMs: DAY_MS, resetMs: DAY_MS })
})

t.test('very slow refill is capped at a day', async (t) => {
  t.same(resultFor({ capacity: 10, refillPerSecond: 1e-6 }, 0, 1, false), { allowed: false, remaining: 0, retryAfterMs: DAY_MS, resetMs: DAY_MS })
})

t.test('a clock that goes backwards neither refills nor drains', async (t) => {
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1 }, 10_000)
  t.ok(bucket.tryTake(2, 10_000))
  t.notOk(bucket.tryTake(1, 5_000))
  t.equal(bucket.tokens, 0)
  t.ok(bucket.tryTake(1, 11_000), 'refills from the latest time seen')
})

// Rates are n/d tokens per second with d among the awkward decimal
// denominators. An exact model counts in units of 1/(1000·d) token, so a
// refill of `dt` ms is exactly `dt·n` units: no float in the reference.
// Short regular polls (10 ms, 100 ms) at small rates are where float refills used to go wrong.
const rate = fc.record({ n: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 500 })), d: fc.constantFrom(1, 2, 3, 4, 10) })
const dtMs = fc.oneof(fc.constantFrom(1, 10, 100, 250), fc.integer({ min: 0, max: 5000 }))
const step = fc.record({ dtMs, cost: fc.integer({ min: 1, max: 5 }), tries: fc.integer({ min: 1, max: 6 }) })

t.test('property: matches an exact token bucket; never above capacity or below zero; never more than capacity + elapsed·rate', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 50 }), rate, fc.array(step, { maxLength: 60 }), (capacity, { n, d }, steps) => {
    const unit = 1000 * d
    const bucket = new TokenBucket({ capacity, refillPerSecond: n / d }, 0)
    let exact = capacity * unit
    let now = 0
    let granted = 0
    for (const { dtMs, cost, tries } of steps) {
      now += dtMs
      exact = Math.min(capacity * unit, exact + dtMs * n)
      for (let i = 0; i < tries; i++) {
        const allowed = bucket.tryTake(cost, now)
        const expected = exact >= cost * unit
        if (allowed !== expected) return false
        if (expected) {
          exact -= cost * unit
          granted += cost
        }
        if (bucket.tokens < 0 || bucket.tokens > capacity) return false
      }
      // floor(capacity + elapsed·rate) in integers
      if (granted > capacity + Math.floor(now * n / unit)) return false
    }
    return true
  }), { numRuns: 5000 })
  t.pass('property held')
})

t.test('property: a bucket drained at every step allows exactly floor(capacity + elapsed·rate)', async (t) => {
  const drained = fc.integer({ min: 2, max: 50 }).chain((capacity) => rate.chain(({ n, d }) => {
    // Steps short enough that a drained bucket (< 1 token) never fills up, so no refill is lost to the cap.
    const maxStep = n === 0 ? 10_000 : Math.floor((capacity - 1) * 1000 * d / n)
    const short = fc.constantFrom(...[1, 10, 100].filter((ms) => ms <= maxStep))
    const steps = maxStep >= 1 ? fc.oneof(short, fc.integer({ min: 0, max: maxStep })) : fc.constant(0)
    return fc.tuple(fc.constant(capacity), fc.constant({ n, d }), fc.array(steps, { maxLength: 200 }))
  }))
  fc.assert(fc.property(drained, ([capacity, { n, d }, steps]) => {
    const bucket = new TokenBucket({ capacity, refillPerSecond: n / d }, 0)
    let now = 0
    let granted = 0
    while (bucket.tryTake(1, now)) granted++
    for (const dtMs of steps) {
      now += dtMs
      while (bucket.tryTake(1, now)) granted++
      if (bucket.tokens < 0 || bucket.tokens >= 1) return false
    }
    return granted === capacity + Math.floor(now * n / (1000 * d))
  }), { numRuns: 5000 })
  t.pass('property held')
})
