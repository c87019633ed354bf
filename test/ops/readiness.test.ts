// /healthz and /readyz in-process: ready when every check passes, and 503
// with a reason per failing check while the node drains or Redis is gone.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import netplay, { type NetplayOptions } from '../../index.ts'
import { startRedis } from '../helpers/redis.ts'
import { startNetplay } from '../helpers/netplay-server.ts'
import { connectTo } from '../helpers/cluster.ts'

interface Teardown { teardown (fn: () => unknown): void }

/** An app that answers its own routes during close (Fastify's default answers a bare 503 instead), so /readyz can be read while draining. */
async function listeningApp (t: Teardown, options: Partial<NetplayOptions>): Promise<{ app: ReturnType<typeof Fastify>, url: string }> {
  const app = Fastify({ logger: false, return503OnClosing: false, forceCloseConnections: true })
  t.teardown(() => app.close())
  await app.register(netplay, { auth: false, ...options, rateLimit: { limits: { http: { capacity: 10_000, refillPerSecond: 10_000 } } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { app, url: `http://127.0.0.1:${port}` }
}

t.test('/healthz is 200; /readyz is 200 with no reasons', async (t) => {
  const server = await startNetplay(t)
  const health = await server.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  t.strictSame(health.json(), { status: 'ok' })
  const ready = await server.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.strictSame(ready.json(), { ready: true, reasons: {} })
})

t.test('during close: /readyz 503 with reasons.draining, clients told, close bounded by drainNoticeMs', async (t) => {
  const { app, url } = await listeningApp(t, { ops: { drainNoticeMs: 400, drainTimeoutMs: 5000 } })
  const client = await connectTo(t, url)

  const started = Date.now()
  const closing = app.close()
  await sleep(100)
  t.equal(app.netplay.ops.draining, true)
  const response = await fetch(`${url}/readyz`)
  t.equal(response.status, 503)
  t.match(await response.json(), { ready: false, reasons: { draining: String } }, 'the reason is draining')
  t.strictSame(await app.netplay.ops.readiness(), { ready: false, reasons: { draining: 'node is shutting down' } })
  t.match(await client.inbox.take('server-shutdown'), { message: /shutting down/, reconnectAfterMs: 400 }, 'the client was told before its connection closed')
  await closing
  const took = Date.now() - started
  t.ok(took >= 380 && took < 2000, `close waited drainNoticeMs for clients (${took} ms)`)
  await client.inbox.take('disconnect')
})

t.test('drainTimeoutMs bounds the drain', async (t) => {
  const { app, url } = await listeningApp(t, { ops: { drainNoticeMs: 10_000, drainTimeoutMs: 300 } })
  const client = await connectTo(t, url)
  const started = Date.now()
  await app.close()
  const took = Date.now() - started
  t.ok(took < 1500, `closed in ${took} ms, not after drainNoticeMs`)
  await client.inbox.take('server-shutdown')
})

t.test('shared Redis stopped: /readyz 503 naming redis; back to 200 when it returns', async (t) => {
  const redis = await startRedis(t)
  const server = await startNetplay(t, { redis: redis.url, cluster: { publicUrl: 'http://127.0.0.1:1', heartbeatMs: 100, leaseMs: 1000 } })
  const readyz = async (): Promise<{ status: number, body: { ready: boolean, reasons: Record<string, string> } }> => {
    const response = await server.app.inject({ method: 'GET', url: '/readyz' })
    return { status: response.statusCode, body: response.json() }
  }
  t.strictSame(await readyz(), { status: 200, body: { ready: true, reasons: {} } })

  await redis.stop()
  const down = await readyz()
  t.equal(down.status, 503)
  t.match(down.body.reasons.redis, /redis/i, 'reasons.redis names Redis')
  // After a failed heartbeat the cluster says so too.
  for (let i = 0; i < 50 && server.app.netplay.cluster.healthy; i++) await sleep(20)
  const both = await readyz()
  t.match(both.body.reasons, { redis: /redis/i, cluster: /redis/i }, 'and the cluster heartbeat check names it')
  t.equal((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive')

  await redis.start()
  let back = await readyz()
  for (let i = 0; i < 200 && back.status !== 200; i++) {
    await sleep(25)
    back = await readyz()
  }
  t.strictSame(back, { status: 200, body: { ready: true, reasons: {} } }, 'ready again')
  t.equal(server.app.netplay.cluster.healthy, true, 'with the heartbeat back')
})

t.test('a cluster on its own Redis: readiness follows that Redis too', async (t) => {
  const shared = await startRedis(t)
  const clusterRedis = await startRedis(t)
  const server = await startNetplay(t, { redis: shared.url, cluster: { redis: clusterRedis.url, publicUrl: 'http://127.0.0.1:1', heartbeatMs: 100, leaseMs: 1000 } })
  t.equal((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  await clusterRedis.stop()
  for (let i = 0; i < 50 && server.app.netplay.cluster.healthy; i++) await sleep(20)
  const response = await server.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(response.statusCode, 503, 'not ready while the cluster cannot heartbeat, though the shared Redis answers')
  t.match(response.json(), { ready: false, reasons: { cluster: /redis/i } })
  t.notOk('redis' in response.json().reasons, 'the shared Redis is fine')
})
