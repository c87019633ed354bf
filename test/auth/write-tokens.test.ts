// One-time write tokens: a write token works once, also when two nodes race
// for it through a shared Redis, and RomM's own jti keys are honoured.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { AuthOptionsInput } from '../../plugins/auth/index.ts'
import { bearer, netplayApp } from '../helpers/app.ts'
import { SECRET, rommToken, rommWriteToken } from '../helpers/jwt.ts'
import { startRedis, type RedisServer } from '../helpers/redis.ts'

const JTI_KEY = 'sfu:auth:jti:'

const act = (app: FastifyInstance, token: string) => app.inject({ method: 'POST', url: '/act', headers: bearer(token) })
const whoami = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/whoami', headers: bearer(token) })

async function redisNode (t: Test, redis: RedisServer, auth: AuthOptionsInput = {}): Promise<FastifyInstance> {
  return netplayApp(t, { auth: { secrets: [SECRET], store: 'redis', redis: redis.url, ...auth } })
}

/** A write token as RomM makes it: signed with the shared secret, its jti stored for 30 s. */
async function rommWrite (raw: Redis, claims: Record<string, unknown> = {}): Promise<{ token: string, jti: string }> {
  const minted = rommWriteToken(claims)
  await raw.set(JTI_KEY + minted.jti, '0', 'EX', 30)
  return minted
}

t.test('a minted write token works once', async (t) => {
  const app = await netplayApp(t, { auth: { secrets: [SECRET], mint: { issuer: 'netplay-test' } } })
  const { token } = await app.netplay.auth.mint({ sub: 'alice', kind: 'write' })
  // Checking it as a read token consumes nothing.
  t.equal((await whoami(app, token)).statusCode, 200)
  const first = await act(app, token)
  t.equal(first.statusCode, 200)
  t.match(first.json().identity, { sub: 'alice', tokenKind: 'write', issuer: 'netplay-test' })
  const replay = await act(app, token)
  t.equal(replay.statusCode, 401)
  t.equal(replay.json().code, 'FST_NETPLAY_AUTH_TOKEN_USED')
  t.match(replay.json().message, /unauthorized|token/)
  t.equal((await act(app, token)).json().code, 'FST_NETPLAY_AUTH_TOKEN_USED', 'and stays used')
})

t.test('a read token where a write token is needed is 403', async (t) => {
  const app = await netplayApp(t, { auth: { secrets: [SECRET] } })
  const res = await act(app, rommToken())
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_NETPLAY_AUTH_WRITE_TOKEN_REQUIRED')
  const legacy = await act(app, rommToken({ type: 'sfu' }))
  t.equal(legacy.statusCode, 403, 'RomM\'s legacy `sfu` type is a read token')
  t.equal((await whoami(app, rommToken())).statusCode, 200)
  t.equal((await whoami(app, rommToken())).statusCode, 200, 'read tokens are reusable')
})

t.test('a write token without a usable jti is refused', async (t) => {
  const app = await netplayApp(t, { auth: { secrets: [SECRET] } })
  for (const jti of [undefined, '', 'x'.repeat(129)]) {
    const res = await act(app, rommToken({ type: 'sfu:write', jti }))
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'FST_NETPLAY_AUTH_INVALID_TOKEN')
  }
  // Signed correctly, but no node ever recorded this jti.
  t.equal((await act(app, rommWriteToken().token)).json().code, 'FST_NETPLAY_AUTH_TOKEN_USED')
})

t.test('with Redis', async (t) => {
  const redis = await startRedis(t)
  const raw = redis.client()

  t.test('a RomM-style jti key is accepted once, then refused', async (t) => {
    const app = await redisNode(t, redis)
    const { token, jti } = await rommWrite(raw, { sub: 'bob' })
    const first = await act(app, token)
    t.equal(first.statusCode, 200)
    t.match(first.json().identity, { sub: 'bob', tokenKind: 'write', issuer: 'romm:sfu' })
    t.equal(await raw.exists(JTI_KEY + jti), 0, 'the key is consumed')
    t.equal((await act(app, token)).json().code, 'FST_NETPLAY_AUTH_TOKEN_USED')
  })

  t.test('the key prefix is configurable', async (t) => {
    const app = await redisNode(t, redis, { jtiKeyPrefix: 'other:jti:' })
    const { token, jti } = rommWriteToken()
    await raw.set(JTI_KEY + jti, '0', 'EX', 30)
    t.equal((await act(app, token)).statusCode, 401, 'RomM\'s prefix is not read')
    await raw.set(`other:jti:${jti}`, '0', 'EX', 30)
    t.equal((await act(app, token)).statusCode, 200)
  })

  t.test('a write token minted on one node is consumed on another, once', async (t) => {
    const minter = await redisNode(t, redis, { mint: { issuer: 'netplay-test', writeTtlMs: 20_000 } })
    const other = await redisNode(t, redis, { mint: { issuer: 'netplay-test' } })
    const minted = await minter.netplay.auth.mint({ sub: 'carol', kind: 'write' })
    const ttl = await raw.pttl(JTI_KEY + String(minted.jti))
    t.ok(ttl > 15_000 && ttl <= 20_000, `stored for writeTtlMs (${ttl} ms)`)
    t.equal((await act(other, minted.token)).statusCode, 200)
    t.equal((await act(minter, minted.token)).json().code, 'FST_NETPLAY_AUTH_TOKEN_USED')
  })

  t.test('two nodes racing for the same write token: exactly one wins, every round', async (t) => {
    const nodes = [await redisNode(t, redis), await redisNode(t, redis)]
    for (let round = 0; round < 20; round++) {
      const { token } = await rommWrite(raw, { sub: `round-${round}` })
      // Three attempts on each node, all in flight at once.
      const attempts = await Promise.all([...nodes, ...nodes, ...nodes].map((node) => act(node, token)))
      const statuses = attempts.map((res) => res.statusCode).sort()
      t.same(statuses, [200, 401, 401, 401, 401, 401], `round ${round}`)
      t.ok(attempts.filter((res) => res.statusCode === 401).every((res) => res.json().code === 'FST_NETPLAY_AUTH_TOKEN_USED'))
    }
  })

  t.test('Redis down: write tokens answer 503, read tokens still verify, writes recover with Redis', async (t) => {
    const own = await startRedis(t)
    const app = await redisNode(t, own)
    const ownRaw = own.client()
    t.equal((await act(app, (await rommWrite(ownRaw)).token)).statusCode, 200, 'works while Redis is up')

    const pending = rommWriteToken()
    await own.stop()
    const res = await act(app, pending.token)
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'FST_NETPLAY_AUTH_UNAVAILABLE')
    t.equal((await whoami(app, rommToken())).statusCode, 200, 'read tokens need no Redis')
    t.equal((await whoami(app, pending.token)).statusCode, 200, 'a write token checked as a read token needs no Redis')

    await own.start()
    await ownRaw.set(JTI_KEY + pending.jti, '0', 'EX', 30)
    // The node reconnects on its own (retry backoff up to 2 s).
    const deadline = Date.now() + 5000
    let status = (await act(app, pending.token)).statusCode
    while (status === 503 && Date.now() < deadline) {
      await sleep(100)
      status = (await act(app, pending.token)).statusCode
    }
    t.equal(status, 200, 'the same token is accepted once Redis is back: the failed attempt did not consume it')
  })
})
