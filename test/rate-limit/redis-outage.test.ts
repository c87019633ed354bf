import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { eventually, limitedApp, ping, pingStatuses } from '../helpers/rate-limit-app.ts'

t.test('Redis stopped mid-test: fail-open lets through, fail-closed answers 503, and limiting resumes after a restart', async (t) => {
  const redis = await startRedis(t)
  const open = await limitedApp(t, {
    store: 'redis',
    redis: redis.url,
    limits: { http: { capacity: 3, refillPerSecond: 0 }, strict: { capacity: 5, refillPerSecond: 1, failOpen: false } }
  })
  const closed = await limitedApp(t, { store: 'redis', redis: redis.url, keyPrefix: 'closed:', limits: { http: { capacity: 3, refillPerSecond: 0, failOpen: false } } })
  const api = open.netplay.rateLimit
  t.equal((await ping(open)).statusCode, 200)
  t.equal((await ping(closed)).statusCode, 200)

  await redis.stop()

  t.same(await pingStatuses(open, 5), [200, 200, 200, 200, 200], 'fail-open: more than the burst gets through')
  t.same(await api.take('http', 'someone'), { allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 })
  t.equal(api.stats().degraded, 6, 'every let-through is counted')

  const refused = await ping(closed)
  t.equal(refused.statusCode, 503, 'fail-closed http limit')
  t.same(Object.keys(refused.json()).sort(), ['error', 'message'])
  t.equal(refused.json().error, 'FST_NETPLAY_RATE_LIMIT_UNAVAILABLE')
  t.ok(refused.headers['x-request-id'])
  await t.rejects(api.take('mint', 'ip:1.2.3.4'), { code: 'FST_NETPLAY_RATE_LIMIT_UNAVAILABLE', statusCode: 503 }, 'mint is fail-closed by default')
  await t.rejects(api.take('strict', 'k'), { code: 'FST_NETPLAY_RATE_LIMIT_UNAVAILABLE' }, 'a custom failOpen:false limit')
  t.ok((await api.take('signaling', 'socket-1')).allowed, 'local limits do not need Redis')
  t.equal(api.stats().degraded, 6, 'refusals and local takes are not "degraded"')

  await redis.start()
  await eventually(async () => (await ping(closed)).statusCode === 200, 15_000, 'the fail-closed app to reconnect')
  await eventually(async () => {
    try { return (await api.take('mint', 'probe')).allowed } catch { return false }
  }, 15_000, 'the fail-open app to reconnect')
  const degraded = api.stats().degraded
  t.same(await pingStatuses(open, 4), [200, 200, 200, 429], 'limiting works again (the restarted Redis starts empty)')
  t.equal(api.stats().degraded, degraded)
  t.match(await api.take('strict', 'k'), { allowed: true, remaining: 4 })
})

t.test('Redis down before the first request: still no crash', async (t) => {
  const redis = await startRedis(t)
  const app = await limitedApp(t, { store: 'redis', redis: redis.url })
  await redis.stop()
  const results = await Promise.all(Array.from({ length: 20 }, () => ping(app)))
  t.same(new Set(results.map((r) => r.statusCode)), new Set([200]))
  t.equal(app.netplay.rateLimit.stats().degraded, 20)
})
