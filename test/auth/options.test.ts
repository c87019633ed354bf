// Options are checked at boot: a bad one fails `app.ready()` with a coded
// error naming it; auth with nothing to verify against refuses to start
// unless the host says `auth: false` (which it logs).
import t from 'tap'
import { createServer } from 'node:net'
import { once } from 'node:events'
import Fastify from 'fastify'
import netplay, { auth, rateLimit, type NetplayOptions } from '../../index.ts'
import type { AuthOptionsInput } from '../../plugins/auth/index.ts'
import { netplayApp } from '../helpers/app.ts'
import { SECRET, rommToken } from '../helpers/jwt.ts'
import { captureLogs } from '../helpers/logs.ts'

/** Boots an app with the aggregate plugin and returns the error `ready()` failed with. */
async function bootError (options: NetplayOptions): Promise<{ code?: string, message: string }> {
  const app = Fastify()
  app.register(netplay, options)
  try {
    await app.ready()
  } catch (err) {
    return err as { code?: string, message: string }
  } finally {
    await app.close()
  }
  throw new Error('expected the app to fail at boot')
}

const invalid: Array<[string, unknown]> = [
  ['auth.clockSkewMs', { clockSkewMs: -1 }],
  ['auth.clockSkewMs', { clockSkewMs: '5s' }],
  ['auth.bogus', { bogus: true }],
  ['auth.jwks.timeoutMs', { jwks: { timeoutMs: 120_000 } }],
  ['auth.jwks.cooldown', { jwks: { cooldown: 1000 } }],
  ['auth.tokenSources.cookie', { tokenSources: { cookie: ['x'] } }],
  ['auth.issuers.0.jwksUrl', { issuers: [{ iss: 'idp', jwksUrl: 'file:///etc/keys.json' }] }],
  ['auth.issuers.0.algorithms.0', { issuers: [{ iss: 'idp', jwksUrl: 'https://idp/jwks', algorithms: ['HS256'] }] }],
  ['auth.secrets.0', { secrets: ['too-short'] }],
  ['auth.maxTokenBytes', { maxTokenBytes: 100 }],
  ['auth.userid', { userid: 'email' }],
  ['auth.mint.algorithm', { mint: { algorithm: 'HS512' } }],
  ['auth.romm.url', { romm: { url: 'romm.local', secret: 'x' } }],
  ['auth.redis', { store: 'redis' }]
]

for (const [name, options] of invalid) {
  t.test(`${name}: ${JSON.stringify(options)}`, async (t) => {
    const err = await bootError({ auth: { secrets: [SECRET], ...(options as AuthOptionsInput) } })
    t.equal(err.code, 'FST_NETPLAY_OPTIONS_INVALID')
    t.ok(err.message.includes(`"${name}"`), `names ${name}: ${err.message}`)
  })
}

t.test('the standalone plugin checks its options too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(rateLimit)
  app.register(auth, { secrets: [SECRET], clockSkewMs: -1 })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_NETPLAY_OPTIONS_INVALID' })
})

t.test('auth needs the rate-limit plugin', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(auth, { secrets: [SECRET] })
  await t.rejects(async () => { await app.ready() }, { code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED' })
})

t.test('auth enabled with no key source does not start', async (t) => {
  t.equal((await bootError({ auth: {} })).code, 'FST_NETPLAY_AUTH_NO_KEY_SOURCE')
  t.equal((await bootError({ auth: { secrets: [], issuers: [] } })).code, 'FST_NETPLAY_AUTH_NO_KEY_SOURCE')
})

t.test('each key source alone is enough', async (t) => {
  const sources: AuthOptionsInput[] = [
    { secrets: [SECRET] },
    { issuers: [{ iss: 'https://idp.example.test', jwksUrl: 'http://127.0.0.1:9/jwks.json' }] },
    { romm: { url: 'http://127.0.0.1:9', secret: 'x' } },
    { mint: { issuer: 'netplay-test' } }
  ]
  for (const source of sources) {
    const app = await netplayApp(t, { auth: source })
    t.equal(app.netplay.auth.enabled, true, Object.keys(source).join())
  }
})

t.test('mint.route without authorize does not start', async (t) => {
  t.equal((await bootError({ auth: { mint: { route: true } } })).code, 'FST_NETPLAY_AUTH_MINT_NOT_CONFIGURED')
})

t.test('issuer operations without mint are refused', async (t) => {
  const { auth } = (await netplayApp(t, { auth: { secrets: [SECRET] } })).netplay
  await t.rejects(auth.mint({ sub: 'alice', kind: 'read' }), { code: 'FST_NETPLAY_AUTH_MINT_NOT_CONFIGURED' })
  t.throws(() => auth.rotateKey(), { code: 'FST_NETPLAY_AUTH_MINT_NOT_CONFIGURED' })
  t.throws(() => auth.jwks(), { code: 'FST_NETPLAY_AUTH_MINT_NOT_CONFIGURED' })
})

t.test('auth: false warns at boot and lets everyone through as anonymous', async (t) => {
  const logs = captureLogs()
  const app = await netplayApp(t, { auth: false }, { logger: { level: 'info', stream: logs.stream } })
  const warnings = logs.records().filter((r) => r.level === 40)
  t.equal(warnings.length, 1, 'one warning')
  t.match(String(warnings[0]?.msg), /auth/)
  const { auth } = app.netplay
  t.equal(auth.enabled, false)
  t.equal(await auth.authenticate({ headers: {} }), null)
  t.equal(await auth.authenticate({ headers: {}, handshakeAuth: rommToken() }), null, 'a token changes nothing')
  const res = await app.inject({ method: 'GET', url: '/whoami' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { identity: null })
})

t.test('an unreachable Redis fails at boot, not at the first request', async (t) => {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address() as { port: number }
  probe.close()
  await once(probe, 'close')
  const err = await bootError({ auth: { secrets: [SECRET], store: 'redis', redis: `redis://127.0.0.1:${port}` } })
  t.equal(err.code, 'FST_NETPLAY_REDIS_UNAVAILABLE')
})

t.test('the caller\'s options object is left as it was', async (t) => {
  const options = { secrets: [SECRET], tokenSources: { query: false } }
  await netplayApp(t, { auth: options })
  t.same(options, { secrets: [SECRET], tokenSources: { query: false } })
})
