import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { limitedApp, ping, pingStatuses } from '../helpers/rate-limit-app.ts'

t.test('two instances on one Redis share the HTTP limit', async (t) => {
  const redis = await startRedis(t)
  const options = { store: 'redis' as const, redis: redis.url, limits: { http: { capacity: 3, refillPerSecond: 0 } } }
  const first = await limitedApp(t, options)
  const second = await limitedApp(t, options)
  t.same(await pingStatuses(first, 3), [200, 200, 200], 'the burst is spent on instance 1')
  const refused = await ping(second)
  t.equal(refused.statusCode, 429, 'instance 2 refuses')
  t.equal(refused.json().error, 'rate_limited')
  t.equal(refused.headers['ratelimit-remaining'], '0')
  t.equal(refused.headers['retry-after'], '86400', 'no refill: a day')
  t.equal((await ping(second, '10.0.0.7')).statusCode, 200, 'other clients are unaffected')
})

t.test('take() is shared too, and keys are namespaced `<prefix><limit>:<key>` with a TTL', async (t) => {
  const redis = await startRedis(t)
  const options = { store: 'redis' as const, redis: redis.url, limits: { mint: { capacity: 2, refillPerSecond: 1 } } }
  const first = await limitedApp(t, options)
  const second = await limitedApp(t, options)
  t.ok((await first.netplay.rateLimit.take('mint', 'sub:alice')).allowed)
  t.ok((await second.netplay.rateLimit.take('mint', 'sub:alice')).allowed)
  const refused = await first.netplay.rateLimit.take('mint', 'sub:alice')
  t.equal(refused.allowed, false)
  t.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000)
  t.same(second.netplay.rateLimit.stats().drops, {}, 'drops are counted where they happen')
  t.same(first.netplay.rateLimit.stats().drops, { mint: 1 })

  const client = redis.client()
  const ttl = await client.pttl('netplay:rl:mint:sub:alice')
  t.ok(ttl > 0 && ttl <= 2000, 'expires once it would be full again (at least 1 s)')
})

t.test('a different keyPrefix is a different set of buckets', async (t) => {
  const redis = await startRedis(t)
  const limits = { http: { capacity: 1, refillPerSecond: 0 } }
  const first = await limitedApp(t, { store: 'redis', redis: redis.url, limits })
  const other = await limitedApp(t, { store: 'redis', redis: redis.url, limits, keyPrefix: 'staging:rl:' })
  t.same(await pingStatuses(first, 2), [200, 429])
  t.same(await pingStatuses(other, 2), [200, 429])
  t.same((await redis.client().keys('*')).sort(), ['netplay:rl:http:127.0.0.1', 'staging:rl:http:127.0.0.1'])
})

t.test('local limits never reach Redis', async (t) => {
  const redis = await startRedis(t)
  const options = { store: 'redis' as const, redis: redis.url, limits: { signaling: { capacity: 1, refillPerSecond: 0 } } }
  const first = await limitedApp(t, options)
  const second = await limitedApp(t, options)
  t.ok((await first.netplay.rateLimit.take('signaling', 'socket-1')).allowed)
  t.notOk((await first.netplay.rateLimit.take('signaling', 'socket-1')).allowed)
  t.ok((await second.netplay.rateLimit.take('signaling', 'socket-1')).allowed, 'each process has its own')
  t.same(await redis.client().keys('*'), [])
})

t.test('cost > 1 on the Redis store', async (t) => {
  const redis = await startRedis(t)
  const app = await limitedApp(t, { store: 'redis', redis: redis.url, limits: { bulk: { capacity: 10, refillPerSecond: 0 } } })
  const { take } = app.netplay.rateLimit
  t.match(await take('bulk', 'k', 4), { allowed: true, remaining: 6 })
  t.match(await take('bulk', 'k', 7), { allowed: false, remaining: 6 })
  t.match(await take('bulk', 'k', 6), { allowed: true, remaining: 0 })
})
