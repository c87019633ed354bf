// Read tokens are remembered as verified, but never beyond what verifying
// them again would allow: not past exp, not past the TTL, and never for a
// write (which must consume its jti every time).
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import netplay from '../../index.ts'

const SECRET = 'verified-cache-test-secret-0123456789abcdef'

async function app (t: { teardown (fn: () => unknown): void }, verifiedTokens?: { max?: number, ttlMs?: number }): Promise<ReturnType<typeof Fastify>> {
  const server = Fastify()
  t.teardown(() => server.close())
  await server.register(netplay, { auth: { secrets: [SECRET], clockSkewMs: 0, mint: { issuer: 'romm:sfu' }, ...(verifiedTokens !== undefined ? { verifiedTokens } : {}) }, signaling: false })
  await server.ready()
  return server
}

t.test('a remembered read token still expires at its exp', async (t) => {
  const server = await app(t)
  const { token } = await server.netplay.auth.mint({ sub: 'alice', kind: 'read', ttlMs: 1200 })
  t.equal((await server.netplay.auth.verify(token)).sub, 'alice')
  t.equal((await server.netplay.auth.verify(token)).sub, 'alice', 'verified again from memory')
  await sleep(1500)
  await t.rejects(server.netplay.auth.verify(token), { code: 'FST_NETPLAY_AUTH_INVALID_TOKEN' }, 'refused once expired')
})

t.test('the same identity object is shared and cannot be altered by a caller', async (t) => {
  const server = await app(t)
  const { token } = await server.netplay.auth.mint({ sub: 'bob', kind: 'read' })
  const first = await server.netplay.auth.verify(token)
  t.throws(() => { (first as { userid: string }).userid = 'someone-else' })
  t.equal((await server.netplay.auth.verify(token)).userid, first.userid)
})

t.test('a write still consumes its jti even after the token was seen as a read', async (t) => {
  const server = await app(t)
  const { token } = await server.netplay.auth.mint({ sub: 'carol', kind: 'write' })
  await server.netplay.auth.verify(token)
  await server.netplay.auth.verify(token, { need: 'write' })
  await t.rejects(server.netplay.auth.verify(token, { need: 'write' }), { code: 'FST_NETPLAY_AUTH_TOKEN_USED' })
})

t.test('verifiedTokens.max 0 turns the memory off; bad values are named', async (t) => {
  const server = await app(t, { max: 0 })
  const { token } = await server.netplay.auth.mint({ sub: 'dave', kind: 'read' })
  t.equal((await server.netplay.auth.verify(token)).sub, 'dave')
  const bad = Fastify()
  t.teardown(() => bad.close())
  await t.rejects(async () => {
    await bad.register(netplay, { auth: { secrets: [SECRET], verifiedTokens: { ttlMs: -1 } }, signaling: false })
    await bad.ready()
  }, { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /auth\.verifiedTokens\.ttlMs/ })
})
