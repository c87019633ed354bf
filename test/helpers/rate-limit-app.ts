// Builds a Fastify app with the rate-limit plugin, two netplay routes
// (registered through `netplayRoutes`, like every netplay route) and one
// host route outside it; ready, and closed at teardown.
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import { netplayRoutes } from '../../lib/http.ts'
import rateLimit, { type RateLimitOptionsInput } from '../../plugins/rate-limit/index.ts'

interface Teardown { teardown (fn: () => unknown): void }

export async function limitedApp (t: Teardown, options: RateLimitOptionsInput = {}, server: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(server)
  t.teardown(() => app.close())
  await app.register(rateLimit, options)
  await netplayRoutes(app, {}, (scope) => {
    scope.get('/ping', async () => ({ ok: true }))
    scope.post('/echo', async (request) => ({ bytes: JSON.stringify(request.body).length }))
  })
  app.get('/host', async () => ({ host: true }))
  await app.ready()
  return app
}

/** GET /ping from one client address. */
export function ping (app: FastifyInstance, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/ping', remoteAddress, headers })
}

/** Statuses of `n` GET /ping in sequence. */
export async function pingStatuses (app: FastifyInstance, n: number, remoteAddress?: string): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < n; i++) statuses.push((await ping(app, remoteAddress)).statusCode)
  return statuses
}

/** Retries `check` until it returns true (e.g. waiting for a Redis reconnect); throws after `timeoutMs`. */
export async function eventually (check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Open TCP sockets in this process (what a leaked Redis client leaves behind). */
export function openSockets (): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length
}

/** Open TCP sockets once closing ones are gone (unchanged for 100 ms): a baseline to compare with. */
export async function settledSockets (): Promise<number> {
  let count = openSockets()
  for (;;) {
    await sleep(100)
    const next = openSockets()
    if (next === count) return count
    count = next
  }
}
