// Issuer mode: the host mints its own read and one-time write tokens
// (HS256 or an asymmetric key), publishes the public keys as a JWKS, rotates
// them with an overlap window, and can serve a rate-limited `POST /token`.
import t, { type Test } from 'tap'
import { createHmac, createPublicKey, generateKeyPairSync, verify as verifySignature, type JsonWebKey } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import netplay, { type NetplayOptions } from '../../index.ts'
import type { AuthorizeMint } from '../../plugins/auth/index.ts'
import { bearer, netplayApp } from '../helpers/app.ts'
import { SECRET, decodeJwt, encodeJwt, rommClaims, type AsymmetricAlg } from '../helpers/jwt.ts'
import { captureLogs } from '../helpers/logs.ts'

const ISSUER = 'netplay-test'

async function jwksOf (app: FastifyInstance, prefix = ''): Promise<JsonWebKey[]> {
  const res = await app.inject({ method: 'GET', url: `${prefix}/.well-known/jwks.json` })
  if (res.statusCode !== 200) throw new Error(`JWKS answered ${res.statusCode}`)
  return res.json().keys
}

/** Checks a token's signature with a published JWK, using node:crypto only. */
function signedBy (token: string, jwk: JsonWebKey): boolean {
  const [header = '', payload = '', signature = ''] = token.split('.')
  const key = createPublicKey({ key: jwk, format: 'jwk' })
  const data = Buffer.from(`${header}.${payload}`)
  const sig = Buffer.from(signature, 'base64url')
  if (jwk.kty === 'OKP') return verifySignature(null, data, key, sig)
  if (jwk.kty === 'EC') return verifySignature('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
  return verifySignature('sha256', data, key, sig)
}

t.test('HS256: read and one-time write tokens signed with the shared secret', async (t) => {
  const logs = captureLogs()
  const app = await netplayApp(t, {
    auth: { secrets: [SECRET], mint: { issuer: ISSUER, readTtlMs: 60_000, writeTtlMs: 10_000 } }
  }, { logger: { level: 'info', stream: logs.stream } })
  const { auth } = app.netplay

  const read = await auth.mint({ sub: 'alice', kind: 'read', name: 'Alice' })
  const { header, payload } = decodeJwt(read.token)
  t.equal(header.alg, 'HS256')
  t.match(payload, { iss: ISSUER, sub: 'alice', type: 'sfu:read', name: 'Alice' })
  t.notOk('jti' in payload, 'read tokens carry no jti')
  t.equal(Number(payload.exp) - Number(payload.iat), 60, 'readTtlMs')
  t.ok(Math.abs(read.expiresAt - (Date.now() + 60_000)) < 2000)
  const [signing, body, signature] = read.token.split('.')
  t.equal(createHmac('sha256', SECRET).update(`${signing}.${body}`).digest('base64url'), signature, 'signed with secrets[0]')
  t.match(await auth.verify(read.token), { sub: 'alice', name: 'Alice', tokenKind: 'read', issuer: ISSUER })

  const write = await auth.mint({ sub: 'alice', kind: 'write' })
  const claims = decodeJwt(write.token).payload
  t.match(claims, { type: 'sfu:write', jti: write.jti })
  t.equal(Number(claims.exp) - Number(claims.iat), 10, 'writeTtlMs')
  t.equal((await app.inject({ method: 'POST', url: '/act', headers: bearer(write.token) })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/act', headers: bearer(write.token) })).json().code, 'FST_NETPLAY_AUTH_TOKEN_USED')

  const short = decodeJwt((await auth.mint({ sub: 'alice', kind: 'read', ttlMs: 5000 })).token).payload
  t.equal(Number(short.exp) - Number(short.iat), 5, 'ttlMs per token')

  t.equal((await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode, 404, 'nothing to publish for HS256')
  t.match(logs.audits('auth.token_minted'), [{ sub: 'alice', kind: 'read' }, { sub: 'alice', kind: 'write' }, { sub: 'alice', kind: 'read' }])
  t.notOk(logs.lines.some((line) => line.includes(read.token) || line.includes(write.token)), 'minted tokens are not logged')
})

t.test('mint.secret signs instead of secrets[0]', async (t) => {
  const own = 'the-minting-secret-0123456789abcdef'
  const app = await netplayApp(t, { auth: { mint: { issuer: ISSUER, secret: own } } })
  const { token } = await app.netplay.auth.mint({ sub: 'alice', kind: 'read' })
  const [h, p, s] = token.split('.')
  t.equal(createHmac('sha256', own).update(`${h}.${p}`).digest('base64url'), s)
  await t.resolves(app.netplay.auth.verify(token))
})

for (const alg of ['EdDSA', 'ES256', 'RS256'] as AsymmetricAlg[]) {
  t.test(`${alg}: mints tokens and publishes the public key as a JWKS`, async (t) => {
    const app = await netplayApp(t, { auth: { mint: { issuer: ISSUER, algorithm: alg } } })
    const read = await app.netplay.auth.mint({ sub: 'alice', kind: 'read' })
    const write = await app.netplay.auth.mint({ sub: 'alice', kind: 'write' })
    const { header } = decodeJwt(read.token)
    t.equal(header.alg, alg)
    t.type(header.kid, 'string')

    const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    t.equal(res.statusCode, 200)
    t.match(res.headers['cache-control'], /max-age=\d+/)
    const [jwk, ...more] = res.json().keys as JsonWebKey[]
    t.same(more, [])
    t.match(jwk, { kid: header.kid, alg, use: 'sig' })
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(secret in (jwk ?? {}), `no private "${secret}" in the JWKS`)
    t.ok(signedBy(read.token, jwk as JsonWebKey), 'the published key verifies the token')

    t.match(await app.netplay.auth.verify(read.token), { sub: 'alice', tokenKind: 'read', issuer: ISSUER })
    t.match(await app.netplay.auth.verify(write.token, { need: 'write' }), { tokenKind: 'write' })
    await t.rejects(app.netplay.auth.verify(write.token, { need: 'write' }), { code: 'FST_NETPLAY_AUTH_TOKEN_USED' })
  })
}

t.test('an HS256 token signed with the issuer\'s published public key is refused', async (t) => {
  const app = await netplayApp(t, { auth: { secrets: [SECRET], mint: { issuer: ISSUER, algorithm: 'ES256' } } })
  const [jwk] = await jwksOf(app)
  const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const forged = encodeJwt({ alg: 'HS256', typ: 'JWT', kid: jwk?.kid }, rommClaims({ iss: ISSUER }), pem)
  await t.rejects(app.netplay.auth.verify(forged), { code: 'FST_NETPLAY_AUTH_INVALID_TOKEN' })
  // Nor does knowing the HS256 shared secret let anyone sign as the asymmetric issuer.
  const withSecret = encodeJwt({ alg: 'HS256', typ: 'JWT' }, rommClaims({ iss: ISSUER }), SECRET)
  await t.rejects(app.netplay.auth.verify(withSecret), { code: 'FST_NETPLAY_AUTH_INVALID_TOKEN' })
})

t.test('another node trusts the issuer through its JWKS over HTTP', async (t) => {
  const issuer = Fastify()
  t.teardown(() => issuer.close())
  await issuer.register(netplay, { prefix: '/netplay', auth: { mint: { issuer: ISSUER, algorithm: 'EdDSA' } } })
  const origin = await issuer.listen({ port: 0, host: '127.0.0.1' })
  const node = await netplayApp(t, {
    auth: { issuers: [{ iss: ISSUER, jwksUrl: `${origin}/netplay/.well-known/jwks.json`, algorithms: ['EdDSA'] }] }
  })
  const { token } = await issuer.netplay.auth.mint({ sub: 'alice', kind: 'read' })
  const res = await node.inject({ method: 'GET', url: '/whoami', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.match(res.json().identity, { sub: 'alice', issuer: ISSUER })
  t.same(node.netplay.auth.jwksFetches(), { [ISSUER]: 1 })
})

t.test('rotateKey: the old key stays published, and its tokens valid, for rotationOverlapMs', async (t) => {
  const overlapMs = 1000
  const logs = captureLogs()
  const app = await netplayApp(t, {
    auth: { mint: { issuer: ISSUER, algorithm: 'EdDSA', rotationOverlapMs: overlapMs } }
  }, { logger: { level: 'info', stream: logs.stream } })
  const { auth } = app.netplay
  const old = await auth.mint({ sub: 'alice', kind: 'read' })
  const oldKid = decodeJwt(old.token).header.kid

  const newKid = auth.rotateKey()
  t.not(newKid, oldKid)
  t.match(logs.audits('auth.key_rotated'), [{ kid: newKid }])
  const fresh = await auth.mint({ sub: 'alice', kind: 'read' })
  t.equal(decodeJwt(fresh.token).header.kid, newKid, 'signs with the new key')
  t.same((await jwksOf(app)).map((k) => k.kid), [oldKid, newKid], 'both published during the overlap')
  t.same(auth.jwks().keys.map((k) => (k as JsonWebKey).kid), [oldKid, newKid])
  await t.resolves(auth.verify(old.token), 'old token valid during the overlap')
  await t.resolves(auth.verify(fresh.token))

  await sleep(overlapMs + 50)
  t.same((await jwksOf(app)).map((k) => k.kid), [newKid], 'the old key is withdrawn after the overlap')
  await t.rejects(auth.verify(old.token), { code: 'FST_NETPLAY_AUTH_INVALID_TOKEN' }, 'old token refused after the overlap')
  await t.resolves(auth.verify(fresh.token))
})

t.test('configured privateKeys: the newest signs, all are published, tokens outlive a restart', async (t) => {
  const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const privateKeys = [{ kid: 'k1', pem: pem() }, { kid: 'k2', pem: pem() }]
  const options: NetplayOptions = { auth: { mint: { issuer: ISSUER, algorithm: 'EdDSA', privateKeys } } }
  const first = await netplayApp(t, options)
  const { token } = await first.netplay.auth.mint({ sub: 'alice', kind: 'read' })
  t.equal(decodeJwt(token).header.kid, 'k2')
  t.same((await jwksOf(first)).map((k) => k.kid), ['k1', 'k2'])
  await first.close()
  const restarted = await netplayApp(t, options)
  await t.resolves(restarted.netplay.auth.verify(token))
})

t.test('a configured audience does not refuse the tokens we mint ourselves', async (t) => {
  const app = await netplayApp(t, { auth: { secrets: [SECRET], audience: 'netplay', mint: { issuer: ISSUER } } })
  const { token } = await app.netplay.auth.mint({ sub: 'alice', kind: 'read' })
  await t.resolves(app.netplay.auth.verify(token))
})

const allowAlice: AuthorizeMint = (request) => request.headers['x-user'] === 'alice' ? { sub: 'alice', name: 'Alice' } : null

async function minting (t: Test, authorize: AuthorizeMint, extra: Partial<NetplayOptions> = {}): Promise<FastifyInstance> {
  return netplayApp(t, { auth: { secrets: [SECRET], mint: { issuer: ISSUER, route: true, authorize } }, ...extra })
}

const postToken = (app: FastifyInstance, user: string | undefined, body: unknown, remoteAddress = '198.51.100.1', url = '/token') =>
  app.inject({ method: 'POST', url, headers: user === undefined ? {} : { 'x-user': user }, payload: body as object, remoteAddress })

t.test('POST /token mints for whom authorize allows', async (t) => {
  const app = await minting(t, allowAlice)
  const refused = await postToken(app, undefined, { kind: 'read' })
  t.equal(refused.statusCode, 403)
  t.same(Object.keys(refused.json()).sort(), ['error', 'message'])
  t.equal(refused.json().error, 'FST_NETPLAY_AUTH_MINT_FORBIDDEN')
  t.equal((await postToken(app, 'mallory', { kind: 'read' })).statusCode, 403)

  const read = await postToken(app, 'alice', {})
  t.equal(read.statusCode, 200)
  const minted = read.json()
  t.equal(minted.kind, 'read', 'read by default')
  t.ok(Math.abs(minted.expires_at - (Date.now() + 15 * 60_000)) < 5000, 'expires_at in epoch ms')
  t.match(await app.netplay.auth.verify(minted.token), { sub: 'alice', name: 'Alice', tokenKind: 'read', issuer: ISSUER })

  const write = (await postToken(app, 'alice', { kind: 'write' })).json()
  t.equal(write.kind, 'write')
  await t.resolves(app.netplay.auth.verify(write.token, { need: 'write' }))
  await t.rejects(app.netplay.auth.verify(write.token, { need: 'write' }), { code: 'FST_NETPLAY_AUTH_TOKEN_USED' })

  const bad = await postToken(app, 'alice', { kind: 'admin' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().error, 'FST_NETPLAY_INVALID_REQUEST')
})

t.test('POST /token: a grant limited to some kinds refuses the others', async (t) => {
  const app = await minting(t, async () => ({ sub: 'viewer', kinds: ['read'] }))
  t.equal((await postToken(app, undefined, { kind: 'read' })).statusCode, 200)
  const res = await postToken(app, undefined, { kind: 'write' })
  t.equal(res.statusCode, 403)
  t.equal(res.json().error, 'FST_NETPLAY_AUTH_MINT_FORBIDDEN')
})

t.test('POST /token lives under the netplay prefix', async (t) => {
  const app = await minting(t, allowAlice, { prefix: '/netplay' })
  t.equal((await postToken(app, 'alice', {}, undefined, '/netplay/token')).statusCode, 200)
  t.equal((await postToken(app, 'alice', {})).statusCode, 404)
})

const allowAnyone: AuthorizeMint = (request) => {
  const user = request.headers['x-user']
  return typeof user === 'string' ? { sub: user } : null
}

t.test('minting is rate-limited per client address', async (t) => {
  const app = await minting(t, allowAnyone, { rateLimit: { limits: { mint: { capacity: 3, refillPerSecond: 0 } } } })
  const statuses = []
  for (const user of ['u1', 'u2', 'u3']) statuses.push((await postToken(app, user, {})).statusCode)
  t.same(statuses, [200, 200, 200])
  const limited = await postToken(app, 'u4', {})
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'rate_limited')
  t.equal((await postToken(app, 'u4', {}, '198.51.100.2')).statusCode, 200, 'another address has its own bucket')
})

t.test('refused requests count too: authorize cannot be probed without limit', async (t) => {
  const app = await minting(t, allowAlice, { rateLimit: { limits: { mint: { capacity: 3, refillPerSecond: 0 } } } })
  for (let i = 0; i < 3; i++) t.equal((await postToken(app, 'mallory', {})).statusCode, 403)
  t.equal((await postToken(app, 'alice', {})).statusCode, 429)
})

t.test('minting is rate-limited per subject, across addresses', async (t) => {
  const app = await minting(t, allowAlice, { rateLimit: { limits: { mint: { capacity: 3, refillPerSecond: 0 } } } })
  const statuses = []
  for (let i = 1; i <= 4; i++) statuses.push((await postToken(app, 'alice', {}, `198.51.100.${i}`)).statusCode)
  t.same(statuses, [200, 200, 200, 429])
})
