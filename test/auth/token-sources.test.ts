// Where clients put their token (Socket.IO handshake auth, Bearer header,
// RomM's cookies, ?token=) and the Identity a verified token becomes.
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { AuthOptionsInput } from '../../plugins/auth/index.ts'
import { bearer, netplayApp } from '../helpers/app.ts'
import { SECRET, rommToken } from '../helpers/jwt.ts'

const OTHER_ISSUER = 'other:sfu'

async function app (t: Test, auth: AuthOptionsInput = {}): Promise<FastifyInstance> {
  return netplayApp(t, { auth: { secrets: [SECRET], hs256Issuers: ['romm:sfu', OTHER_ISSUER], ...auth } })
}

/** GET /whoami with the given request parts; the identity's sub, or the error code. */
async function whoIs (server: FastifyInstance, request: { headers?: Record<string, string>, query?: Record<string, string> }): Promise<string> {
  const res = await server.inject({ method: 'GET', url: '/whoami', ...request })
  return res.statusCode === 200 ? res.json().identity.sub : res.json().code
}

const MISSING = 'FST_NETPLAY_AUTH_MISSING_TOKEN'

t.test('Socket.IO handshake auth: a string or { token }', async (t) => {
  const server = await app(t)
  const { auth } = server.netplay
  t.match(await auth.authenticate({ headers: {}, handshakeAuth: rommToken({ sub: 'str' }) }), { sub: 'str' })
  t.match(await auth.authenticate({ headers: {}, handshakeAuth: { token: rommToken({ sub: 'obj' }) } }), { sub: 'obj' })
  for (const handshakeAuth of [undefined, null, '', {}, { token: '' }, { token: 42 }]) {
    await t.rejects(auth.authenticate({ headers: {}, handshakeAuth }), { code: MISSING }, JSON.stringify(handshakeAuth) ?? 'undefined')
  }
  t.equal(auth.tokenFrom({ headers: {}, handshakeAuth: { token: 'abc' } }), 'abc')
})

t.test('Authorization: Bearer', async (t) => {
  const server = await app(t)
  t.equal(await whoIs(server, { headers: bearer(rommToken({ sub: 'bearer' })) }), 'bearer')
  t.equal(await whoIs(server, { headers: { authorization: `bearer  ${rommToken({ sub: 'lower' })} ` } }), 'lower', 'case and spacing')
  t.equal(await whoIs(server, { headers: { authorization: `Basic ${rommToken()}` } }), MISSING, 'not another scheme')
  t.equal(await whoIs(server, { headers: { authorization: 'Bearer' } }), MISSING)
})

t.test('RomM\'s cookies: romm_sfu_token, then sfu_token', async (t) => {
  const server = await app(t)
  t.equal(await whoIs(server, { headers: { cookie: `theme=dark; romm_sfu_token=${rommToken({ sub: 'romm-cookie' })}` } }), 'romm-cookie')
  t.equal(await whoIs(server, { headers: { cookie: `sfu_token=${rommToken({ sub: 'sfu-cookie' })}` } }), 'sfu-cookie')
  t.equal(await whoIs(server, {
    headers: { cookie: `sfu_token=${rommToken({ sub: 'second' })}; romm_sfu_token=${rommToken({ sub: 'first' })}` }
  }), 'first', 'in the configured order')
  t.equal(await whoIs(server, { headers: { cookie: `session=${rommToken()}` } }), MISSING, 'other cookies are not read')
})

t.test('custom cookie names replace the defaults', async (t) => {
  const server = await app(t, { tokenSources: { cookies: ['netplay_jwt'] } })
  t.equal(await whoIs(server, { headers: { cookie: `netplay_jwt=${rommToken({ sub: 'custom' })}` } }), 'custom')
  t.equal(await whoIs(server, { headers: { cookie: `romm_sfu_token=${rommToken()}` } }), MISSING)
})

t.test('?token= and a custom query parameter', async (t) => {
  const server = await app(t)
  t.equal(await whoIs(server, { query: { token: rommToken({ sub: 'query' }) } }), 'query')
  const custom = await app(t, { tokenSources: { queryParam: 'jwt' } })
  t.equal(await whoIs(custom, { query: { jwt: rommToken({ sub: 'jwt-param' }) } }), 'jwt-param')
  t.equal(await whoIs(custom, { query: { token: rommToken() } }), MISSING)
})

t.test('tokenSources.header: false ignores the Authorization header', async (t) => {
  const server = await app(t, { tokenSources: { header: false } })
  t.equal(await whoIs(server, { headers: bearer(rommToken()) }), MISSING)
  t.equal(await whoIs(server, { headers: { cookie: `sfu_token=${rommToken({ sub: 'cookie' })}` } }), 'cookie')
})

t.test('order: handshake auth, then header, then cookie, then query', async (t) => {
  const server = await app(t)
  const { auth } = server.netplay
  const headers = { ...bearer(rommToken({ sub: 'header' })), cookie: `romm_sfu_token=${rommToken({ sub: 'cookie' })}` }
  const query = { token: rommToken({ sub: 'query' }) }
  t.match(await auth.authenticate({ headers, query, handshakeAuth: { token: rommToken({ sub: 'handshake' }) } }), { sub: 'handshake' })
  t.equal(await whoIs(server, { headers, query }), 'header')
  t.equal(await whoIs(server, { headers: { cookie: headers.cookie }, query }), 'cookie')
  t.equal(await whoIs(server, { query }), 'query')
})

t.test('the identity: sub, userid, name, tokenKind, issuer', async (t) => {
  const server = await app(t)
  const { auth } = server.netplay
  const identity = await auth.verify(rommToken({ sub: 'alice', name: '  Alice Liddell  ' }))
  t.same(Object.keys(identity).sort(), ['issuer', 'name', 'sub', 'tokenKind', 'userid'])
  t.match(identity, { sub: 'alice', name: 'Alice Liddell', tokenKind: 'read', issuer: 'romm:sfu' })
  t.match(identity.userid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)

  t.equal((await auth.verify(rommToken({ sub: 'bob', netplay_username: 'Bobby' }))).name, 'Bobby', 'RomM\'s netplay_username')
  t.equal((await auth.verify(rommToken({ sub: 'carol' }))).name, 'carol', 'sub when there is no name')
  t.equal((await auth.verify(rommToken({ sub: 'dan', name: '   ' }))).name, 'dan', 'sub when the name is blank')
  t.equal((await auth.verify(rommToken({ sub: 'eve', name: 'e'.repeat(500) }))).name.length, 64, 'long names are cut')
})

t.test('userid is stable for (iss, sub), on every node, and differs across issuers', async (t) => {
  const one = (await app(t)).netplay.auth
  const two = (await app(t)).netplay.auth
  const alice = (await one.verify(rommToken({ sub: 'alice' }))).userid
  t.equal((await one.verify(rommToken({ sub: 'alice', name: 'Renamed' }))).userid, alice, 'same token subject, same id')
  t.equal((await two.verify(rommToken({ sub: 'alice' }))).userid, alice, 'another node agrees')
  t.not((await one.verify(rommToken({ sub: 'alicia' }))).userid, alice)
  t.not((await one.verify(rommToken({ sub: 'alice', iss: OTHER_ISSUER }))).userid, alice, 'another issuer\'s alice is someone else')
})

t.test('userid: romm-sfu reproduces romm-sfu-server\'s id (sha256 of sub)', async (t) => {
  const { auth } = (await app(t, { userid: 'romm-sfu' })).netplay
  const hex = createHash('sha256').update('alice').digest('hex')
  const expected = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
  t.equal((await auth.verify(rommToken({ sub: 'alice' }))).userid, expected)
  t.equal((await auth.verify(rommToken({ sub: 'alice', iss: OTHER_ISSUER }))).userid, expected, 'the issuer is not part of it')
})
