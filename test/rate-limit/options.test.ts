import t from 'tap'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import rateLimit from '../../plugins/rate-limit/index.ts'
import { startRedis } from '../helpers/redis.ts'
import { eventually, limitedApp, openSockets, settledSockets } from '../helpers/rate-limit-app.ts'

const INVALID: Array<[string, unknown, string]> = [
  ['zero capacity', { limits: { http: { capacity: 0, refillPerSecond: 1 } } }, 'rate-limit.limits.http.capacity'],
  ['negative refill', { limits: { mint: { refillPerSecond: -1 } } }, 'rate-limit.limits.mint.refillPerSecond'],
  ['unknown scope', { limits: { http: { scope: 'global' } } }, 'rate-limit.limits.http.scope'],
  ['failOpen not a boolean', { limits: { identity: { failOpen: 'yes' } } }, 'rate-limit.limits.identity.failOpen'],
  ['unknown limit field', { limits: { http: { burst: 10 } } }, 'rate-limit.limits.http.burst'],
  ['limit name', { limits: { 'Not-Lowercase': { capacity: 1, refillPerSecond: 1 } } }, 'rate-limit.limits.Not-Lowercase'],
  ['new limit without capacity', { limits: { uploads: { refillPerSecond: 1 } } }, 'rate-limit.limits.uploads'],
  ['maxEntries too small', { maxEntries: 5 }, 'rate-limit.maxEntries'],
  ['bodyLimit not a number', { bodyLimit: '32k' }, 'rate-limit.bodyLimit'],
  ['unknown store', { store: 'postgres' }, 'rate-limit.store'],
  ['abuse.maxDrops', { abuse: { maxDrops: 0 } }, 'rate-limit.abuse.maxDrops'],
  ['unknown option', { limts: {} }, 'rate-limit.limts'],
  ['store redis without redis', { store: 'redis' }, 'rate-limit.redis']
]

for (const [what, options, name] of INVALID) {
  t.test(`invalid options fail app.ready(): ${what}`, async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(rateLimit, options as never)
    await t.rejects(async () => app.ready(), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: new RegExp(`"${name.replaceAll('.', '\\.')}"`) })
  })
}

t.test('defaults are applied without touching the caller\'s object', async (t) => {
  const limits = { http: { capacity: 5 }, uploads: { capacity: 2, refillPerSecond: 0.5 } }
  const input = { limits, abuse: {} }
  const before = structuredClone(input)
  const app = await limitedApp(t, input)
  t.same(input, before)
  t.equal(input.limits, limits)
  const api = app.netplay.rateLimit
  t.same(api.limit('http'), { capacity: 5, refillPerSecond: 20, scope: 'shared', failOpen: true }, 'the rest comes from the built-in http limit')
  t.same(api.limit('uploads'), { capacity: 2, refillPerSecond: 0.5, scope: 'shared', failOpen: true })
  t.same(api.limit('mint'), { capacity: 10, refillPerSecond: 0.5, scope: 'shared', failOpen: false })
  t.ok(Object.isFrozen(api.limit('http')))
  t.equal(api.bodyLimit, 32 * 1024)
})

t.test('unknown limits are coded errors', async (t) => {
  const app = await limitedApp(t)
  await t.rejects(app.netplay.rateLimit.take('nope', 'k'), { code: 'FST_NETPLAY_RATE_LIMIT_UNKNOWN' })
  t.throws(() => app.netplay.rateLimit.bucket('nope'), { code: 'FST_NETPLAY_RATE_LIMIT_UNKNOWN' })
  t.throws(() => app.netplay.rateLimit.limit('nope'), { code: 'FST_NETPLAY_RATE_LIMIT_UNKNOWN' })
})

t.test('a wrong Redis URL fails at boot, not at the first request, and leaves no socket', async (t) => {
  const redis = await startRedis(t)
  const { port } = redis
  await redis.stop()
  const sockets = await settledSockets()
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(rateLimit, { store: 'redis', redis: `redis://127.0.0.1:${port}` })
  const started = Date.now()
  await t.rejects(async () => app.ready(), { code: 'FST_NETPLAY_REDIS_UNAVAILABLE' })
  t.ok(Date.now() - started < 5000, 'fails within the connect timeout')
  await eventually(() => openSockets() === sockets, 2000, 'the failed client\'s socket to close')
})

t.test('a client the plugin created is closed by app.close()', async (t) => {
  const redis = await startRedis(t)
  const sockets = await settledSockets()
  const app = Fastify()
  app.register(rateLimit, { store: 'redis', redis: redis.url })
  await app.ready()
  t.equal(openSockets(), sockets + 1, 'one connection while running')
  t.equal((await redis.client().client('LIST') as string).match(/name=netplay-rate-limit/g)?.length, 1, 'named after its owner')
  await app.close()
  await eventually(() => openSockets() === sockets + 1, 2000, 'only the assertion client to be left')
  await eventually(async () => !/name=netplay-rate-limit/.test(await redis.client().client('LIST') as string), 2000, 'Redis to see the connection go')
})

t.test('a client the host passes in is NOT closed by app.close()', async (t) => {
  const redis = await startRedis(t)
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  await client.ping()
  const sockets = await settledSockets()
  const app = Fastify()
  app.register(rateLimit, { store: 'redis', redis: client })
  await app.ready()
  t.equal(openSockets(), sockets, 'no connection of its own')
  t.ok((await app.netplay.rateLimit.take('http', '10.0.0.1')).allowed)
  await app.close()
  t.equal(client.status, 'ready')
  t.equal(await client.ping(), 'PONG')
  t.equal(await client.exists('netplay:rl:http:10.0.0.1'), 1, 'it was used for the limit')
})

t.test('an options object makes an owned client too', async (t) => {
  const redis = await startRedis(t)
  const sockets = await settledSockets()
  const app = Fastify()
  app.register(rateLimit, { store: 'redis', redis: { host: '127.0.0.1', port: redis.port } })
  await app.ready()
  t.ok((await app.netplay.rateLimit.take('http', 'k')).allowed)
  await app.close()
  await eventually(() => openSockets() === sockets, 2000, 'the owned client to close')
})
