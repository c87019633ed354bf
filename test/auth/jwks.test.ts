// Trusted issuers publishing their keys as a JWKS, served by a real HTTP
// server on the loopback: kid selection, rotation, unknown-kid floods, an
// issuer that goes down or hangs, and per-issuer algorithms.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AuthOptionsInput } from '../../plugins/auth/index.ts'
import { bearer, netplayApp } from '../helpers/app.ts'
import { startJwksServer, type JwksMode, type JwksServer } from '../helpers/http.ts'
import { issuerKey, issuerToken, type IssuerKey } from '../helpers/jwt.ts'

const IDP = 'https://idp.example.test'
const OTHER_IDP = 'https://other-idp.example.test'

// Key generation is the slow part: make each kind once and reuse it.
const rsa = issuerKey('RS256')
const ec = issuerKey('ES256')
const ed = issuerKey('EdDSA')
const unpublished = issuerKey('ES256')

type Jwks = Partial<NonNullable<AuthOptionsInput['jwks']>>

async function trusting (t: Test, idp: JwksServer, jwks: Jwks = {}, issuer: { algorithms?: Array<IssuerKey['alg']> } = {}) {
  const app = await netplayApp(t, { auth: { issuers: [{ iss: IDP, jwksUrl: idp.jwksUrl, ...issuer }], jwks } })
  const whoami = (token: string) => app.inject({ method: 'GET', url: '/whoami', headers: bearer(token) })
  const fetches = () => app.netplay.auth.jwksFetches()[IDP]
  return { app, whoami, fetches }
}

const tokenOf = (key: IssuerKey, header: Record<string, unknown> = {}) => issuerToken(key, { iss: IDP, sub: `user-of-${key.alg}` }, header)

/** 50 tokens signed by a key nobody published, each with a random kid. */
function kidFlood (): string[] {
  return Array.from({ length: 50 }, () => tokenOf(unpublished, { kid: crypto.randomUUID() }))
}

async function refusedAll (t: Test, app: Awaited<ReturnType<typeof trusting>>['app'], tokens: string[]): Promise<void> {
  const results = await Promise.allSettled(tokens.map((token) => app.netplay.auth.verify(token)))
  t.ok(results.every((r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'FST_NETPLAY_AUTH_INVALID_TOKEN'),
    `all ${tokens.length} refused as invalid`)
}

t.test('the kid selects the key: RS256, ES256 and EdDSA from one fetch', async (t) => {
  const idp = await startJwksServer(t, [rsa, ec, ed])
  const { whoami, fetches } = await trusting(t, idp)
  for (const key of [rsa, ec, ed]) {
    const res = await whoami(tokenOf(key))
    t.equal(res.statusCode, 200, key.alg)
    t.match(res.json().identity, { sub: `user-of-${key.alg}`, issuer: IDP, tokenKind: 'read' })
  }
  t.equal(fetches(), 1)
  t.equal(idp.fetches, 1)
  // Signed by one published key, pointing at another one.
  t.equal((await whoami(tokenOf(ec, { kid: ed.kid }))).statusCode, 401, 'ES256 token naming the EdDSA kid')
  t.equal((await whoami(tokenOf(unpublished, { kid: ec.kid }))).statusCode, 401, 'kid of a published key, signed by another')
})

t.test('a token without kid is accepted only when the issuer publishes a single key', async (t) => {
  const single = await startJwksServer(t, [ec])
  t.equal((await (await trusting(t, single)).whoami(tokenOf(ec, { kid: undefined }))).statusCode, 200)
  const several = await startJwksServer(t, [ec, ed])
  t.equal((await (await trusting(t, several)).whoami(tokenOf(ec, { kid: undefined }))).statusCode, 401)
})

t.test('one issuer\'s key cannot sign for another issuer', async (t) => {
  const idp = await startJwksServer(t, [ec])
  const other = await startJwksServer(t, [ed])
  const app = await netplayApp(t, {
    auth: { issuers: [{ iss: IDP, jwksUrl: idp.jwksUrl }, { iss: OTHER_IDP, jwksUrl: other.jwksUrl }] }
  })
  await t.resolves(app.netplay.auth.verify(issuerToken(ed, { iss: OTHER_IDP })))
  await t.rejects(app.netplay.auth.verify(issuerToken(ed, { iss: IDP })), { code: 'FST_NETPLAY_AUTH_INVALID_TOKEN' })
})

t.test('keys that are not for signatures are ignored', async (t) => {
  const encryption = { ...issuerKey('EdDSA'), kid: 'enc-key' }
  encryption.jwk = { ...encryption.jwk, kid: 'enc-key', use: 'enc' }
  const idp = await startJwksServer(t, [ec, encryption])
  const { whoami } = await trusting(t, idp)
  t.equal((await whoami(tokenOf(ec))).statusCode, 200)
  t.equal((await whoami(tokenOf(encryption))).statusCode, 401)
})

t.test('after the issuer rotates, a token with the new kid verifies once the keys are refetched', async (t) => {
  const idp = await startJwksServer(t, [rsa])
  const { whoami, fetches } = await trusting(t, idp, { cooldownMs: 100 })
  t.equal((await whoami(tokenOf(rsa))).statusCode, 200)
  idp.keys = [ec]
  await sleep(120)
  t.equal((await whoami(tokenOf(ec))).statusCode, 200, 'new kid')
  t.equal(fetches(), 2, 'one refetch')
  t.equal(idp.fetches, 2)
  // The retired key is gone from the new document: its tokens now fail.
  await sleep(120)
  t.equal((await whoami(tokenOf(rsa))).statusCode, 401, 'retired kid')
})

t.test('an unknown-kid flood costs at most one fetch per cooldown', async (t) => {
  const idp = await startJwksServer(t, [ec])
  const { app, whoami, fetches } = await trusting(t, idp, { cooldownMs: 1000 })

  // Cold start: 50 concurrent unknown kids share one fetch.
  await refusedAll(t, app, kidFlood())
  t.equal(fetches(), 1, 'cold flood: one fetch')
  // Within the cooldown: none.
  await refusedAll(t, app, kidFlood())
  await refusedAll(t, app, kidFlood())
  t.equal(fetches(), 1, 'within the cooldown: no fetch')
  t.equal((await whoami(tokenOf(ec))).statusCode, 200, 'real tokens still verify')
  // Next cooldown window: one more, however many kids.
  await sleep(1050)
  await refusedAll(t, app, kidFlood())
  await refusedAll(t, app, kidFlood())
  t.equal(fetches(), 2, 'next window: one fetch')
  t.equal(idp.fetches, 2, 'the issuer saw exactly those requests')
})

const failures: Array<{ mode: JwksMode | 'down', name: string }> = [
  { mode: 'down', name: 'is down' },
  { mode: 'hang', name: 'times out' },
  { mode: 'error', name: 'answers 500' },
  { mode: 'garbage', name: 'answers broken JSON' },
  { mode: 'empty', name: 'publishes no usable key' }
]

async function breakServer (idp: JwksServer, mode: JwksMode | 'down'): Promise<void> {
  if (mode === 'down') await idp.stop()
  else idp.mode = mode
}

for (const { mode, name } of failures) {
  t.test(`when the issuer ${name}, the last good keys keep working`, async (t) => {
    const idp = await startJwksServer(t, [rsa])
    const { whoami, fetches } = await trusting(t, idp, { cooldownMs: 50, timeoutMs: 150 })
    t.equal((await whoami(tokenOf(rsa))).statusCode, 200)
    await breakServer(idp, mode)
    await sleep(60)
    // An unknown kid forces a refetch, which fails: that must not drop the cached keys.
    const started = Date.now()
    const res = await whoami(tokenOf(ec))
    t.equal(res.statusCode, 401, 'an unknown kid is still just invalid')
    t.ok(Date.now() - started < 1000, 'bounded by jwks.timeoutMs')
    t.equal(fetches(), 2, 'the refetch was attempted')
    t.equal((await whoami(tokenOf(rsa))).statusCode, 200, 'known kid still verifies')
  })
}

for (const { mode, name } of failures) {
  t.test(`when the issuer ${name} from the start, verification answers 503 until it recovers`, async (t) => {
    const idp = await startJwksServer(t, [rsa])
    await breakServer(idp, mode)
    const { whoami } = await trusting(t, idp, { cooldownMs: 50, timeoutMs: 150 })
    const res = await whoami(tokenOf(rsa))
    t.equal(res.statusCode, 503)
    t.equal(res.json().code, 'FST_NETPLAY_AUTH_UNAVAILABLE')
    t.match(res.json().message, /token/, 'the client is told to refresh its token and retry')

    if (mode === 'down') await idp.start()
    else idp.mode = 'ok'
    await sleep(60)
    t.equal((await whoami(tokenOf(rsa))).statusCode, 200, 'verifies once the issuer is back')
  })
}

t.test('an issuer only accepts its configured algorithms', async (t) => {
  const idp = await startJwksServer(t, [rsa, ec, ed])
  const { whoami } = await trusting(t, idp, {}, { algorithms: ['ES256'] })
  t.equal((await whoami(tokenOf(ec))).statusCode, 200, 'ES256')
  t.equal((await whoami(tokenOf(rsa))).statusCode, 401, 'RS256, though its key is published')
  t.equal((await whoami(tokenOf(ed))).statusCode, 401, 'EdDSA, though its key is published')
})
