// A Fastify app with the netplay plugins and two tiny routes guarded by the
// auth plugin: `GET /whoami` (any valid token) and `POST /act` (a one-time
// write token). Both answer `{ identity }`. Closed at teardown.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import netplay, { type NetplayOptions } from '../../index.ts'

interface Teardown { teardown (fn: () => unknown): void }

export async function netplayApp (t: Teardown, options: NetplayOptions, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server)
  t.teardown(() => app.close())
  await app.register(netplay, options)
  const { auth } = app.netplay
  app.get('/whoami', { preHandler: auth.requireIdentity() }, async (request) => ({ identity: request.netplayIdentity }))
  app.post('/act', { preHandler: auth.requireIdentity({ need: 'write' }) }, async (request) => ({ identity: request.netplayIdentity }))
  await app.ready()
  return app
}

export function bearer (token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}
