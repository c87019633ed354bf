import t from 'tap'
import { limitedApp, ping, pingStatuses } from '../helpers/rate-limit-app.ts'

t.test('429 after the burst, with Retry-After and RateLimit-* headers', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 3, refillPerSecond: 1 } } })
  const remaining: unknown[] = []
  for (let i = 0; i < 3; i++) {
    const res = await ping(app)
    t.equal(res.statusCode, 200)
    t.equal(res.headers['ratelimit-limit'], '3')
    remaining.push(res.headers['ratelimit-remaining'])
  }
  t.same(remaining, ['2', '1', '0'])
  const refused = await ping(app)
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '1', 'one token away at 1/s')
  t.equal(refused.headers['ratelimit-limit'], '3')
  t.equal(refused.headers['ratelimit-remaining'], '0')
  t.equal(refused.headers['ratelimit-reset'], '3', 'three tokens away from full')
  t.ok(refused.headers['x-request-id'])
  const body = refused.json()
  t.same(Object.keys(body).sort(), ['error', 'message'])
  t.equal(body.error, 'rate_limited')
  t.type(body.message, 'string')
  t.same(app.netplay.rateLimit.stats().drops, { http: 1 })
})

t.test('the burst refills', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 1, refillPerSecond: 20 } } })
  t.same(await pingStatuses(app, 2), [200, 429])
  await new Promise((resolve) => setTimeout(resolve, 120))
  t.equal((await ping(app)).statusCode, 200)
})

t.test('one bucket per client IP', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 2, refillPerSecond: 0 } } })
  t.same(await pingStatuses(app, 3, '10.0.0.1'), [200, 200, 429])
  t.same(await pingStatuses(app, 3, '10.0.0.2'), [200, 200, 429])
  t.same(await pingStatuses(app, 1, '2001:db8::1'), [200])
})

t.test('X-Forwarded-For picks the bucket only when trustProxy is on', async (t) => {
  const forwarded = (ip: string) => ({ 'x-forwarded-for': ip })
  const limits = { http: { capacity: 1, refillPerSecond: 0 } }

  const direct = await limitedApp(t, { limits })
  t.equal((await ping(direct, '127.0.0.1', forwarded('198.51.100.1'))).statusCode, 200)
  t.equal((await ping(direct, '127.0.0.1', forwarded('198.51.100.2'))).statusCode, 429, 'a spoofed header does not buy a new bucket')

  const proxied = await limitedApp(t, { limits }, { trustProxy: true })
  t.equal((await ping(proxied, '127.0.0.1', forwarded('198.51.100.1'))).statusCode, 200)
  t.equal((await ping(proxied, '127.0.0.1', forwarded('198.51.100.2'))).statusCode, 200, 'another client behind the proxy')
  t.equal((await ping(proxied, '127.0.0.1', forwarded('198.51.100.1'))).statusCode, 429)
})

t.test('trustProxy as a list trusts only those proxies', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 1, refillPerSecond: 0 } } }, { trustProxy: ['10.0.0.0/8'] })
  t.equal((await ping(app, '10.1.1.1', { 'x-forwarded-for': '198.51.100.1' })).statusCode, 200)
  t.equal((await ping(app, '10.1.1.1', { 'x-forwarded-for': '198.51.100.2' })).statusCode, 200, 'trusted proxy: client address counts')
  t.equal((await ping(app, '192.0.2.9', { 'x-forwarded-for': '198.51.100.3' })).statusCode, 200)
  t.equal((await ping(app, '192.0.2.9', { 'x-forwarded-for': '198.51.100.4' })).statusCode, 429, 'untrusted peer: its own address counts')
})

t.test('bodies over 32 KiB get 413 with { error, message }', async (t) => {
  const app = await limitedApp(t)
  const fits = await app.inject({ method: 'POST', url: '/echo', payload: { a: 'x'.repeat(32 * 1024 - 16) } })
  t.equal(fits.statusCode, 200)
  const tooBig = await app.inject({ method: 'POST', url: '/echo', payload: { a: 'x'.repeat(32 * 1024) } })
  t.equal(tooBig.statusCode, 413)
  t.same(Object.keys(tooBig.json()).sort(), ['error', 'message'])
  t.equal(tooBig.json().error, 'FST_ERR_CTP_BODY_TOO_LARGE')
  t.ok(tooBig.headers['x-request-id'])
})

t.test('bodyLimit option', async (t) => {
  const app = await limitedApp(t, { bodyLimit: 2048 })
  t.equal((await app.inject({ method: 'POST', url: '/echo', payload: { a: 'x'.repeat(2100) } })).statusCode, 413)
  t.equal((await app.inject({ method: 'POST', url: '/echo', payload: { a: 'x'.repeat(1000) } })).statusCode, 200)
})

t.test('X-Request-Id on every netplay response: echoed when well-formed, replaced otherwise', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 2, refillPerSecond: 0 } } })
  const echoed = await ping(app, '127.0.0.1', { 'x-request-id': 'abc-123_x.y' })
  t.equal(echoed.headers['x-request-id'], 'abc-123_x.y')
  const overlong = 'a'.repeat(129)
  const replaced = await ping(app, '127.0.0.1', { 'x-request-id': overlong })
  t.ok(replaced.headers['x-request-id'])
  t.not(replaced.headers['x-request-id'], overlong)
  const refused = await ping(app, '127.0.0.1', { 'x-request-id': 'bad id with spaces' })
  t.equal(refused.statusCode, 429)
  t.ok(refused.headers['x-request-id'])
  t.not(refused.headers['x-request-id'], 'bad id with spaces')
  t.equal((await ping(app, '127.0.0.1', { 'x-request-id': 'a'.repeat(128) })).headers['x-request-id'], 'a'.repeat(128), '128 characters is the limit')
})

t.test('http: false leaves netplay routes unlimited', async (t) => {
  const app = await limitedApp(t, { http: false, limits: { http: { capacity: 1, refillPerSecond: 0 } } })
  const statuses = await pingStatuses(app, 3)
  t.same(statuses, [200, 200, 200])
  t.notOk((await ping(app)).headers['ratelimit-limit'])
})

t.test('the host\'s own routes are not limited', async (t) => {
  const app = await limitedApp(t, { limits: { http: { capacity: 1, refillPerSecond: 0 } } })
  t.equal((await ping(app)).statusCode, 200)
  t.equal((await ping(app)).statusCode, 429)
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'GET', url: '/host' })
    t.equal(res.statusCode, 200)
    t.notOk(res.headers['ratelimit-limit'])
  }
})
