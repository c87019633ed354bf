// CORS on the browser-facing netplay routes (GET /list, family B's POST
// /create, /join, /leave, GET /resolve and the SFU's GET /ice): EmulatorJS
// pages live on another origin than the netplay server, and without these
// headers the upstream client silently shows no rooms and family B's
// bearer requests fail their preflight. The allowed origins are the
// signaling plugin's `socketIo.corsOrigins`.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { netplayRoutes } from '../../lib/http.ts'
import { startNetplay, TOKEN_AUTH, type NetplayServerOptions } from '../helpers/netplay-server.ts'

const ROMM = 'https://romm.example'
const OTHER = 'https://evil.example'
const NO_WORKER = '/nonexistent/mediasoup-worker'

type Headers = Record<string, string | string[] | number | undefined>

function preflight (method: string, headers: Record<string, string> = {}): Record<string, string> {
  return { origin: ROMM, 'access-control-request-method': method, ...headers }
}

function hasNoCors (t: Test, headers: Headers, what: string): void {
  t.same(Object.keys(headers).filter((name) => name.startsWith('access-control-')), [], `${what}: no CORS headers`)
}

t.test('by default GET /list answers any origin with Access-Control-Allow-Origin: *, never with credentials', async (t) => {
  const server = await startNetplay(t)
  const response = await fetch(`${server.url}/list?domain=romm.example&game_id=1`, { headers: { origin: ROMM } })
  t.equal(response.status, 200)
  t.same(await response.json(), {})
  t.equal(response.headers.get('access-control-allow-origin'), '*')
  t.equal(response.headers.get('access-control-allow-credentials'), null)
  t.equal(response.headers.get('vary'), null, 'the answer does not depend on the Origin')
  t.same(server.app.netplay.signaling.corsOrigins, ['*'], 'the signaling decorator exposes the list')
})

t.test('preflights of /list, /create and /join/:roomId answer 204 with the path\'s methods, without auth', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH })
  for (const [path, method, methods] of [
    ['/list', 'GET', 'GET, HEAD, OPTIONS'],
    ['/create', 'POST', 'POST, OPTIONS'],
    ['/join/Mario%20Kart', 'POST', 'POST, OPTIONS']
  ] as const) {
    // Over real HTTP, as a browser sends it: no Authorization on a preflight.
    const response = await fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: preflight(method, { 'access-control-request-headers': 'authorization, content-type' }) })
    t.equal(response.status, 204, path)
    t.equal(response.headers.get('access-control-allow-origin'), '*', path)
    t.equal(response.headers.get('access-control-allow-methods'), methods, path)
    t.equal(response.headers.get('access-control-allow-headers'), 'authorization, content-type', path)
    t.equal(response.headers.get('access-control-max-age'), '600', path)
    t.equal(response.headers.get('access-control-allow-credentials'), null, path)
    t.equal(await response.text(), '', path)
  }
  const leave = await server.app.inject({ method: 'OPTIONS', url: '/leave/Duel', headers: preflight('POST', { 'access-control-request-headers': 'authorization' }) })
  t.same([leave.statusCode, leave.headers['access-control-allow-methods']], [204, 'POST, OPTIONS'])
  const resolve = await server.app.inject({ method: 'OPTIONS', url: '/resolve?room=Duel', headers: preflight('GET', { 'access-control-request-headers': 'authorization' }) })
  t.same([resolve.statusCode, resolve.headers['access-control-allow-methods']], [204, 'GET, HEAD, OPTIONS'])
})

t.test('an allow-list echoes an allowed Origin with Vary: Origin and gives any other origin no CORS headers', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH, signaling: { socketIo: { corsOrigins: [ROMM] } } })
  t.same(server.app.netplay.signaling.corsOrigins, [ROMM])
  const token = await server.token('alice')
  const headers = { authorization: `Bearer ${token}` }

  const allowed = await server.app.inject({ url: '/list', headers: { ...headers, origin: ROMM } })
  t.equal(allowed.statusCode, 200)
  t.equal(allowed.headers['access-control-allow-origin'], ROMM)
  t.equal(allowed.headers.vary, 'Origin')
  t.equal(allowed.headers['access-control-allow-credentials'], undefined)

  const allowedPreflight = await server.app.inject({ method: 'OPTIONS', url: '/create', headers: preflight('POST', { 'access-control-request-headers': 'authorization' }) })
  t.equal(allowedPreflight.statusCode, 204)
  t.equal(allowedPreflight.headers['access-control-allow-origin'], ROMM)
  t.equal(allowedPreflight.headers['access-control-allow-methods'], 'POST, OPTIONS')
  t.equal(allowedPreflight.headers.vary, 'Origin')

  const other = await server.app.inject({ url: '/list', headers: { ...headers, origin: OTHER } })
  t.equal(other.statusCode, 200, 'still served: the browser is the one to refuse')
  hasNoCors(t, other.headers, 'another origin')
  t.equal(other.headers.vary, 'Origin', 'a cache keeps the two answers apart')
  const otherPreflight = await server.app.inject({ method: 'OPTIONS', url: '/create', headers: preflight('POST', { origin: OTHER }) })
  t.equal(otherPreflight.statusCode, 204)
  hasNoCors(t, otherPreflight.headers, 'another origin\'s preflight')
  const none = await server.app.inject({ url: '/list', headers })
  hasNoCors(t, none.headers, 'no Origin')
})

t.test('error responses carry the CORS headers: 400, 401, 404 and a 429; a preflight takes one HTTP token, like any request', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH, rateLimit: { limits: { http: { capacity: 6, refillPerSecond: 0 } } } })
  const origin = { origin: ROMM }

  const unauthenticated = await server.app.inject({ method: 'POST', url: '/create', headers: origin, payload: { room_name: 'Duel' } })
  t.equal(unauthenticated.statusCode, 401)
  t.equal(unauthenticated.json().error, 'FST_NETPLAY_AUTH_MISSING_TOKEN')
  t.equal(unauthenticated.headers['access-control-allow-origin'], '*', '401')

  const invalid = await server.app.inject({ method: 'POST', url: '/create', headers: origin, payload: { room_name: 'Duel', max_players: 'many' } })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().error, 'FST_NETPLAY_INVALID_REQUEST')
  t.equal(invalid.headers['access-control-allow-origin'], '*', '400')

  const token = await server.token('carol')
  const missing = await server.app.inject({ method: 'POST', url: '/join/Nope', headers: { ...origin, authorization: `Bearer ${token}` }, payload: {} })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'FST_NETPLAY_ROOMS_NOT_FOUND')
  t.equal(missing.headers['access-control-allow-origin'], '*', '404 from a route')

  const before = Number((await server.app.inject({ url: '/list', headers: origin })).headers['ratelimit-remaining'])
  const preflighted = await server.app.inject({ method: 'OPTIONS', url: '/list', headers: preflight('GET') })
  t.equal(preflighted.statusCode, 204)
  t.equal(Number(preflighted.headers['ratelimit-remaining']), before - 1, 'one token')

  for (let left = Number(preflighted.headers['ratelimit-remaining']); left > 0; left--) await server.app.inject({ url: '/list', headers: origin })
  const limited = await server.app.inject({ url: '/list', headers: origin })
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'rate_limited')
  t.equal(limited.headers['access-control-allow-origin'], '*', '429')
})

t.test('under a prefix, rooms and the SFU share it and each path answers its preflight', async (t) => {
  // Two netplayRoutes scopes on one prefix: a wildcard `OPTIONS /netplay*` per scope would collide at boot.
  const options: NetplayServerOptions = { auth: TOKEN_AUTH, prefix: '/netplay', sfu: { required: false, workerBin: NO_WORKER, workers: 1, port: 0 } }
  const server = await startNetplay(t, options)
  for (const [path, methods] of [['/netplay/list', 'GET, HEAD, OPTIONS'], ['/netplay/create', 'POST, OPTIONS'], ['/netplay/ice', 'GET, HEAD, OPTIONS']] as const) {
    const response = await fetch(`${server.url}${path}`, { method: 'OPTIONS', headers: preflight('GET', { 'access-control-request-headers': 'authorization' }) })
    t.equal(response.status, 204, path)
    t.equal(response.headers.get('access-control-allow-origin'), '*', path)
    t.equal(response.headers.get('access-control-allow-methods'), methods, path)
  }
  const token = await server.token('alice')
  const ice = await fetch(`${server.url}/netplay/ice`, { headers: { origin: ROMM, authorization: `Bearer ${token}` } })
  t.equal(ice.status, 200)
  t.equal(ice.headers.get('access-control-allow-origin'), '*')
  t.equal(ice.headers.get('cache-control'), 'no-store', 'the route\'s own headers are kept')
  const refused = await fetch(`${server.url}/netplay/ice`, { headers: { origin: ROMM } })
  t.equal(refused.status, 401)
  t.equal(refused.headers.get('access-control-allow-origin'), '*', 'the 401 is readable by the page')
  t.equal((await server.app.inject({ method: 'OPTIONS', url: '/list', headers: preflight('GET') })).statusCode, 404, 'nothing outside the prefix')
})

t.test('GET /ice answers cross-origin and its preflight works without a prefix', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH, sfu: { required: false, workerBin: NO_WORKER, workers: 1, port: 0 } })
  const ice = await server.app.inject({ method: 'OPTIONS', url: '/ice', headers: preflight('GET', { 'access-control-request-headers': 'authorization' }) })
  t.equal(ice.statusCode, 204)
  t.equal(ice.headers['access-control-allow-origin'], '*')
  t.equal(ice.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS')
  t.equal(ice.headers['access-control-allow-headers'], 'authorization, content-type')
})

t.test('ops routes, the /ws route and the host\'s own routes carry no CORS headers', async (t) => {
  const server = await startNetplay(t, { beforeListen: async (app) => { app.get('/host', async () => ({ host: true })) } })
  const list = await server.app.inject({ url: '/list', headers: { origin: ROMM } })
  t.equal(list.headers['access-control-allow-origin'], '*', 'the netplay routes of the same app do')
  for (const url of ['/healthz', '/readyz', '/metrics', '/ws', '/host']) {
    const response = await server.app.inject({ url, headers: { origin: ROMM } })
    hasNoCors(t, response.headers, url)
    const preflighted = await server.app.inject({ method: 'OPTIONS', url, headers: preflight('GET') })
    t.equal(preflighted.statusCode, 404, `no preflight for ${url}`)
    hasNoCors(t, preflighted.headers, `OPTIONS ${url}`)
  }
})

t.test('netplayRoutes keeps a route\'s own OPTIONS handler and adds no CORS without corsOrigins', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await netplayRoutes(app, { prefix: '/np', corsOrigins: [ROMM] }, (scope) => {
    scope.get('/plain', async () => ({ ok: true }))
    scope.route({ method: ['GET', 'OPTIONS'], url: '/own', handler: async (request) => ({ method: request.method }) })
  })
  await netplayRoutes(app, { prefix: '/np' }, (scope) => { scope.get('/internal', async () => ({ ok: true })) })
  await app.ready()
  const plain = await app.inject({ method: 'OPTIONS', url: '/np/plain', headers: preflight('GET') })
  t.same([plain.statusCode, plain.headers['access-control-allow-origin'], plain.headers['access-control-allow-methods']], [204, ROMM, 'GET, HEAD, OPTIONS'])
  const own = await app.inject({ method: 'OPTIONS', url: '/np/own', headers: preflight('GET') })
  t.same([own.statusCode, own.json()], [200, { method: 'OPTIONS' }], 'the route answers its own OPTIONS')
  t.equal(own.headers['access-control-allow-origin'], ROMM, 'with the scope\'s origin rule')
  const internal = await app.inject({ url: '/np/internal', headers: { origin: ROMM } })
  hasNoCors(t, internal.headers, 'a scope without corsOrigins')
  t.equal((await app.inject({ method: 'OPTIONS', url: '/np/internal', headers: preflight('GET') })).statusCode, 404)
})
