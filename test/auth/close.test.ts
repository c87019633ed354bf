// `app.close()` leaves nothing open: the Redis client auth created is closed
// (its socket gone when close() resolves), also when Redis is down; a
// client the host passed in is left alone.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { Redis } from 'ioredis'
import netplay, { type NetplayOptions } from '../../index.ts'
import { SECRET } from '../helpers/jwt.ts'
import { startRedis } from '../helpers/redis.ts'

/** Sockets and timers keeping the process alive. */
function openHandles (): string[] {
  return process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r === 'Timeout').sort()
}

/**
 * Handles open now that were not open before: a timer of an earlier test
 * that ends meanwhile is not one of close()'s, a socket or timer it left is.
 */
function leftOpen (before: string[]): string[] {
  const unmatched = [...before]
  return openHandles().filter((handle) => {
    const at = unmatched.indexOf(handle)
    if (at === -1) return true
    unmatched.splice(at, 1)
    return false
  })
}

/** The handles once the test's own connections (e.g. the Redis helper's probe) have finished closing. */
async function settledHandles (): Promise<string[]> {
  let previous = openHandles()
  for (let i = 0; i < 40; i++) {
    await sleep(50)
    const current = openHandles()
    if (current.join() === previous.join()) return current
    previous = current
  }
  return previous
}

const redis = await startRedis(t)

async function bootAndUse (options: NetplayOptions) {
  const app = Fastify()
  await app.register(netplay, options)
  await app.ready()
  // Exercise the connection: minting stores the jti, verifying consumes it.
  const { token } = await app.netplay.auth.mint({ sub: 'alice', kind: 'write' })
  await app.netplay.auth.verify(token, { need: 'write' })
  return app
}

t.test('auth store: redis with a URL: app.close() closes the client it created', async (t) => {
  const before = await settledHandles()
  const app = await bootAndUse({ auth: { secrets: [SECRET], mint: {}, store: 'redis', redis: redis.url } })
  t.ok(openHandles().filter((r) => r.startsWith('TCP')).length > before.filter((r) => r.startsWith('TCP')).length, 'connected while running')
  await app.close()
  t.same(leftOpen(before), [], 'no socket or timer left once close() resolves')
})

t.test('the shared `redis` URL of the aggregate plugin is closed too', async (t) => {
  const before = await settledHandles()
  const app = await bootAndUse({ redis: redis.url, auth: { secrets: [SECRET], mint: {} } })
  await app.close()
  t.same(leftOpen(before), [], 'no socket or timer left once close() resolves')
})

t.test('close() finishes when Redis has gone away', async (t) => {
  const own = await startRedis(t)
  const app = await bootAndUse({ auth: { secrets: [SECRET], mint: {}, store: 'redis', redis: own.url } })
  await own.stop()
  await sleep(100)
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 1000, 'promptly')
})

t.test('a client the host passes in is not closed', async (t) => {
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const app = await bootAndUse({ auth: { secrets: [SECRET], mint: {}, store: 'redis', redis: client } })
  await app.close()
  t.equal(client.status, 'ready')
  t.equal(await client.ping(), 'PONG')
})
