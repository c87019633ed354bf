import t from 'tap'
import Fastify from 'fastify'
import netplay from '../index.ts'

t.test('auth + rate-limit mint and verify', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(netplay, { auth: { secrets: ['0123456789abcdef0123456789abcdef'], mint: { issuer: 'romm:sfu' } } })
  await app.ready()
  const minted = await app.netplay.auth.mint({ sub: 'alice', kind: 'write' })
  const id = await app.netplay.auth.verify(minted.token, { need: 'write' })
  t.equal(id.sub, 'alice')
  await t.rejects(app.netplay.auth.verify(minted.token, { need: 'write' }), { code: 'FST_NETPLAY_AUTH_TOKEN_USED' })
})
