// Regression: a `limits` entry had to spell out `scope` and `failOpen` too
// (TypeBox fills no defaults inside a Record), so `{ mint: { capacity: 3 } }`
// failed at boot with "must have required properties scope, failOpen", and an
// invalid field was named `rate-limit.limits.http`, not the field. The fields
// left out must come from the built-in limit, not from the schema defaults:
// `failOpen: true` must not sneak into `mint`.
import t from 'tap'
import Fastify from 'fastify'
import rateLimit from '../../plugins/rate-limit/index.ts'
import { startRedis } from '../helpers/redis.ts'
import { limitedApp } from '../helpers/rate-limit-app.ts'

t.test('a built-in limit overridden by capacity alone keeps its other settings', async (t) => {
  const app = await limitedApp(t, { limits: { mint: { capacity: 3 }, http: { refillPerSecond: 5 }, signaling: { failOpen: false } } })
  const { limit } = app.netplay.rateLimit
  t.same(limit('mint'), { capacity: 3, refillPerSecond: 0.5, scope: 'shared', failOpen: false })
  t.same(limit('http'), { capacity: 40, refillPerSecond: 5, scope: 'shared', failOpen: true })
  t.same(limit('signaling'), { capacity: 40, refillPerSecond: 20, scope: 'local', failOpen: false })
})

t.test('a new limit takes the schema defaults for scope and failOpen', async (t) => {
  const app = await limitedApp(t, { limits: { uploads: { capacity: 2, refillPerSecond: 1 } } })
  t.same(app.netplay.rateLimit.limit('uploads'), { capacity: 2, refillPerSecond: 1, scope: 'shared', failOpen: true })
})

t.test('mint overridden by capacity stays fail-closed when Redis is down', async (t) => {
  const redis = await startRedis(t)
  const app = await limitedApp(t, { store: 'redis', redis: redis.url, limits: { mint: { capacity: 3 } } })
  t.ok((await app.netplay.rateLimit.take('mint', 'ip:10.0.0.1')).allowed)
  await redis.stop()
  await t.rejects(app.netplay.rateLimit.take('mint', 'ip:10.0.0.1'), { code: 'FST_NETPLAY_RATE_LIMIT_UNAVAILABLE' })
})

t.test('an invalid field is named in full', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(rateLimit, { limits: { http: { capacity: 0 } } })
  await t.rejects(async () => app.ready(), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /"rate-limit\.limits\.http\.capacity"/ })
})
