// Regression: refills of a fraction of a token were summed in floating point,
// so ten 100 ms refills at 1 token/s made 0.9999999999999999 tokens and a
// request that was due was refused (retryAfterMs: 1).
import t from 'tap'
import { TokenBucket } from '../../lib/token-bucket.ts'

t.test('ten 100 ms refills at 1 token/s make one whole token', async (t) => {
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1 }, 0)
  t.ok(bucket.tryTake(1, 0))
  for (let now = 100; now < 1000; now += 100) t.notOk(bucket.tryTake(1, now), `not yet at ${now} ms`)
  const due = bucket.take(1, 1000)
  t.equal(due.allowed, true, 'due after exactly one second')
  t.equal(bucket.tokens, 0)
})

t.test('0.1 token/s polled every second: the token is there after ten seconds', async (t) => {
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 0.1 }, 0)
  t.ok(bucket.tryTake(1, 0))
  for (let now = 1000; now < 10_000; now += 1000) t.notOk(bucket.tryTake(1, now))
  t.ok(bucket.tryTake(1, 10_000))
})

t.test('remaining counts a whole token made of fractions', async (t) => {
  const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 3 }, 0)
  bucket.take(5, 0)
  let result = bucket.take(0, 0)
  for (let now = 100; now <= 1000; now += 100) result = bucket.take(0, now)
  t.equal(result.remaining, 3)
})
