import t from 'tap'
import { limitedApp, pingStatuses } from '../helpers/rate-limit-app.ts'

t.test('strike() turns true once the total is over the limit', async (t) => {
  const app = await limitedApp(t, { abuse: { maxDrops: 3 } })
  const counter = app.netplay.rateLimit.abuseCounter()
  t.equal(counter.limit, 3, 'abuse.maxDrops by default')
  t.same([counter.strike('flood'), counter.strike('flood'), counter.strike('bad_frame')], [false, false, false])
  t.notOk(counter.exceeded)
  t.ok(counter.strike('flood'), 'the fourth strike is over the limit')
  t.ok(counter.exceeded)
  t.ok(counter.strike('flood'), 'and stays over')
  t.same(Object.fromEntries(counter.byReason), { flood: 4, bad_frame: 1 })
})

t.test('a counter with its own limit', async (t) => {
  const app = await limitedApp(t)
  const counter = app.netplay.rateLimit.abuseCounter(1)
  t.notOk(counter.strike('x'))
  t.ok(counter.strike('x'))
})

t.test('stats().strikes tallies reasons across counters; each app has its own', async (t) => {
  const app = await limitedApp(t)
  const other = await limitedApp(t)
  const a = app.netplay.rateLimit.abuseCounter()
  const b = app.netplay.rateLimit.abuseCounter()
  a.strike('flood')
  a.strike('flood')
  b.strike('flood')
  b.strike('oversized')
  other.netplay.rateLimit.abuseCounter().strike('flood')
  t.same(app.netplay.rateLimit.stats().strikes, { flood: 3, oversized: 1 })
  t.same(other.netplay.rateLimit.stats().strikes, { flood: 1 })
})

t.test('stats().drops counts refusals by limit', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 1, refillPerSecond: 0 }, identity: { capacity: 2, refillPerSecond: 0 } } })
  const api = app.netplay.rateLimit
  t.same(api.stats(), { drops: {}, strikes: {}, degraded: 0 })
  t.same(await pingStatuses(app, 4), [200, 429, 429, 429])
  for (let i = 0; i < 3; i++) await api.take('identity', 'user-1')
  await api.take('identity', 'user-2')
  t.same(api.stats().drops, { http: 3, identity: 1 })
})

t.test('bucket(): a private bucket with the limit\'s settings, not counted in the store', async (t) => {
  const app = await limitedApp(t, { limits: { data: { capacity: 2, refillPerSecond: 0 } } })
  const api = app.netplay.rateLimit
  const mine = api.bucket('data')
  const yours = api.bucket('data')
  t.ok(mine.tryTake())
  t.ok(mine.tryTake())
  t.notOk(mine.tryTake())
  t.ok(yours.tryTake(), 'buckets are independent')
  t.ok((await api.take('data', 'mine')).allowed, 'and separate from keyed takes')
})

t.test('strikes are forgiven one per abuse.forgiveMs (a minute by default); 0 never forgives', async (t) => {
  const app = await limitedApp(t, { abuse: { maxDrops: 2 } })
  const counter = app.netplay.rateLimit.abuseCounter()
  t.equal(counter.forgiveMs, 60_000)
  t.notOk(counter.strike('x', 0))
  t.notOk(counter.strike('x', 1))
  t.equal(counter.standing(60_000), 1, 'one forgiven a minute after the first')
  t.equal(counter.standing(120_000), 0)
  t.notOk(counter.strike('x', 120_000))
  t.notOk(counter.strike('x', 120_001))
  t.ok(counter.strike('x', 120_002), 'three standing: over the limit')
  t.ok(counter.strike('x', 10_000_000) && counter.exceeded, 'and it stays over')
  t.equal(counter.total, 6)
  const strict = await limitedApp(t, { abuse: { maxDrops: 2, forgiveMs: 0 } })
  const never = strict.netplay.rateLimit.abuseCounter()
  never.strike('x', 0)
  never.strike('x', 1)
  t.ok(never.strike('x', 1e9), 'forgiveMs 0: strikes add up for good')
})
