import t from 'tap'
import Fastify, { type FastifyRequest, type FastifyServerOptions } from 'fastify'
import Type from 'typebox'
import { defineError } from '../../lib/errors.ts'
import { DEFAULT_BODY_LIMIT, netplayRoutes } from '../../lib/http.ts'
import { netplayServerOptions } from '../../lib/logging.ts'

const TeapotError = defineError('FST_NETPLAY_TEST_TEAPOT', 'short and stout', 418)
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

interface Teardown { teardown (fn: () => unknown): void }

async function app (t: Teardown, server: FastifyServerOptions = {}, onResponse?: (request: FastifyRequest) => void) {
  const app = Fastify(server)
  t.teardown(() => app.close())
  if (onResponse !== undefined) app.addHook('onResponse', async (request) => onResponse(request))
  await netplayRoutes(app, { prefix: '/np' }, (scope) => {
    scope.post('/echo', async (request) => ({ bytes: JSON.stringify(request.body).length }))
    scope.post('/small', { bodyLimit: 1024 }, async () => ({ ok: true }))
    scope.post('/typed', { schema: { body: Type.Object({ kind: Type.Literal('read') }) } }, async () => ({ ok: true }))
    scope.get('/teapot', async () => { throw new TeapotError() })
    scope.get('/crash', async () => { throw new Error('db password is hunter2') })
  })
  app.get('/host', async () => ({ host: true }))
  app.post('/host', async () => ({ host: true }))
  await app.ready()
  return app
}

t.test('a route may set its own body limit', async (t) => {
  const server = await app(t)
  t.equal((await server.inject({ method: 'POST', url: '/np/small', payload: { a: 'x'.repeat(2000) } })).statusCode, 413)
})

t.test('error shape: coded errors, validation, unexpected errors', async (t) => {
  const server = await app(t)
  const teapot = await server.inject({ method: 'GET', url: '/np/teapot' })
  t.equal(teapot.statusCode, 418)
  t.equal(teapot.json().error, 'FST_NETPLAY_TEST_TEAPOT')
  const invalid = await server.inject({ method: 'POST', url: '/np/typed', payload: { kind: 'admin' } })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().error, 'FST_NETPLAY_INVALID_REQUEST')
  const crash = await server.inject({ method: 'GET', url: '/np/crash' })
  t.equal(crash.statusCode, 500)
  t.same(Object.keys(crash.json()).sort(), ['error', 'message'])
  t.equal(crash.json().error, 'FST_NETPLAY_INTERNAL')
  t.notMatch(crash.body, /hunter2/, 'internals stay in the log')
  for (const res of [teapot, invalid, crash]) t.ok(res.headers['x-request-id'], 'error responses carry X-Request-Id')
})

t.test('the host\'s own routes are untouched', async (t) => {
  const server = await app(t)
  const res = await server.inject({ method: 'POST', url: '/host', payload: { a: 'x'.repeat(DEFAULT_BODY_LIMIT * 2) } })
  t.equal(res.statusCode, 200, 'Fastify\'s default body limit, not ours')
  t.notOk(res.headers['x-request-id'])
})

t.test('X-Request-Id with netplayServerOptions(): echoed when well-formed, else a UUID that is also the log id', async (t) => {
  let seen = ''
  const server = await app(t, netplayServerOptions({ level: 'silent' }), (request) => { seen = request.id })
  const echoed = await server.inject({ method: 'POST', url: '/np/echo', payload: {}, headers: { 'x-request-id': 'client-42:a.b/c' } })
  t.equal(echoed.headers['x-request-id'], 'client-42:a.b/c')
  for (const bad of ['x'.repeat(129), 'has space', 'semi;colon', '<script>']) {
    const res = await server.inject({ method: 'POST', url: '/np/echo', payload: {}, headers: { 'x-request-id': bad } })
    t.match(res.headers['x-request-id'], UUID, `replaced: ${bad.slice(0, 12)}`)
  }
  const fresh = await server.inject({ method: 'POST', url: '/np/echo', payload: {} })
  t.match(fresh.headers['x-request-id'], UUID)
  t.equal(fresh.headers['x-request-id'], seen)
})
