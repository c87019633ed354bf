// Regression: netplayRoutes read `app.netplay.rateLimit` and threw a
// TypeError ("Cannot read properties of undefined") in an app where no
// netplay plugin had created `app.netplay` yet.
import t from 'tap'
import Fastify from 'fastify'
import { DEFAULT_BODY_LIMIT, netplayRoutes } from '../../lib/http.ts'

t.test('netplay routes work without the rate-limit plugin: default body limit, no HTTP limit', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await netplayRoutes(app, {}, (scope) => {
    scope.post('/echo', async (request) => ({ bytes: JSON.stringify(request.body).length }))
  })
  await app.ready()
  t.notOk(app.hasDecorator('netplay'), 'nothing decorated on the way')

  const fits = await app.inject({ method: 'POST', url: '/echo', payload: { a: 'x'.repeat(DEFAULT_BODY_LIMIT - 16) } })
  t.equal(fits.statusCode, 200)
  t.notOk(fits.headers['ratelimit-limit'])
  t.ok(fits.headers['x-request-id'])

  const tooBig = await app.inject({ method: 'POST', url: '/echo', payload: { a: 'x'.repeat(DEFAULT_BODY_LIMIT) } })
  t.equal(tooBig.statusCode, 413)
  t.same(Object.keys(tooBig.json()).sort(), ['error', 'message'])
})
