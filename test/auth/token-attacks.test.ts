// Forged, altered and out-of-date tokens are refused with a 401, each for
// the right reason (the audit line's `reason`), and no log line ever holds
// the token.
import t, { type Test } from 'tap'
import { netplayServerOptions } from '../../index.ts'
import type { AuthOptionsInput } from '../../plugins/auth/index.ts'
import { bearer, netplayApp } from '../helpers/app.ts'
import { startJwksServer } from '../helpers/http.ts'
import { SECRET, encodeJwt, issuerKey, issuerToken, nowSeconds, rommClaims, rommToken } from '../helpers/jwt.ts'
import { captureLogs } from '../helpers/logs.ts'

const IDP = 'https://idp.example.test'
const CLIENT_IP = '203.0.113.9'
const rsa = issuerKey('RS256')
const idp = await startJwksServer(t, [rsa])

async function appWithLogs (t: Test, auth: AuthOptionsInput = {}) {
  const logs = captureLogs()
  const app = await netplayApp(t, {
    auth: { secrets: [SECRET], issuers: [{ iss: IDP, jwksUrl: idp.jwksUrl }], ...auth }
  }, { logger: { level: 'info', stream: logs.stream } })
  const whoami = (token: string) => app.inject({ method: 'GET', url: '/whoami', headers: bearer(token), remoteAddress: CLIENT_IP })
  return { app, logs, whoami }
}

/** The token, and each of its long segments, appear in no log line. */
function assertNotLogged (t: Test, lines: string[], token: string): void {
  const secrets = [token, ...token.split('.').filter((segment) => segment.length >= 16)]
  const leaks = lines.filter((line) => secrets.some((secret) => line.includes(secret)))
  t.same(leaks, [], 'no log line contains the token')
}

function tamperSignature (token: string): string {
  const [header, payload, signature = ''] = token.split('.')
  // A middle character: the last one can differ only in unused padding bits.
  const i = Math.floor(signature.length / 2)
  const flipped = signature[i] === 'A' ? 'B' : 'A'
  return `${header}.${payload}.${signature.slice(0, i)}${flipped}${signature.slice(i + 1)}`
}

function tamperClaims (token: string): string {
  const [, , signature] = token.split('.')
  const forged = encodeJwt({ alg: 'HS256', typ: 'JWT' }, rommClaims({ sub: 'admin' }), 'whatever')
  const [header, payload] = forged.split('.')
  return `${header}.${payload}.${signature}`
}

/** The smallest RomM token whose length in bytes is above `bytes` (and the one before it). */
function tokensAround (bytes: number): { under: string, over: string } {
  let under = ''
  // base64url makes 4 characters of 3 bytes: start a little under the limit.
  for (let n = Math.floor(bytes * 3 / 4) - 400; ; n++) {
    const token = rommToken({ pad: 'x'.repeat(n) })
    if (Buffer.byteLength(token) > bytes) return { under, over: token }
    under = token
  }
}

interface Attack {
  name: string
  token: () => string
  /** The audit reason code. */
  reason: string
}

const attacks: Attack[] = [
  { name: 'alg: none', token: () => encodeJwt({ alg: 'none', typ: 'JWT' }, rommClaims()), reason: 'alg_not_allowed' },
  { name: 'alg: NoNe with a signature', token: () => `${encodeJwt({ alg: 'NoNe' }, rommClaims())}c2lnbmF0dXJl`, reason: 'alg_not_allowed' },
  {
    name: 'HS256 signed with the JWKS issuer\'s RSA public key (PEM text)',
    token: () => encodeJwt({ alg: 'HS256', typ: 'JWT', kid: rsa.kid }, rommClaims({ iss: IDP }), rsa.publicPem),
    reason: 'alg_not_allowed'
  },
  { name: 'HS256 signed with the shared secret but claiming the JWKS issuer', token: () => rommToken({ iss: IDP }), reason: 'alg_not_allowed' },
  {
    name: 'RS256 with the issuer\'s kid, signed by a key it never published',
    token: () => issuerToken(issuerKey('RS256', rsa.kid), { iss: IDP }),
    reason: 'bad_signature'
  },
  { name: 'an untrusted iss', token: () => rommToken({ iss: 'evil:sfu' }), reason: 'issuer_not_allowed' },
  { name: 'no iss', token: () => rommToken({ iss: undefined }), reason: 'issuer_not_allowed' },
  { name: 'expired beyond the skew', token: () => rommToken({ exp: nowSeconds() - 10 }), reason: 'expired' },
  { name: 'no exp', token: () => rommToken({ exp: undefined }), reason: 'missing_claim' },
  { name: 'nbf beyond the skew', token: () => rommToken({ nbf: nowSeconds() + 10 }), reason: 'not_yet_valid' },
  { name: 'iat in the future beyond the skew', token: () => rommToken({ iat: nowSeconds() + 10 }), reason: 'issued_in_future' },
  { name: 'no sub', token: () => rommToken({ sub: undefined }), reason: 'missing_claim' },
  { name: 'an empty sub', token: () => rommToken({ sub: '' }), reason: 'missing_claim' },
  { name: 'no type', token: () => rommToken({ type: undefined }), reason: 'bad_type' },
  { name: 'an unknown type', token: () => rommToken({ type: 'sfu:admin' }), reason: 'bad_type' },
  { name: 'a tampered signature', token: () => tamperSignature(rommToken()), reason: 'bad_signature' },
  { name: 'tampered claims', token: () => tamperClaims(rommToken()), reason: 'bad_signature' },
  { name: 'another secret', token: () => rommToken({}, 'not-the-secret-0123456789abcdef-0123'), reason: 'bad_signature' },
  { name: 'a token over 8 KiB', token: () => tokensAround(8192).over, reason: 'too_large' },
  // Garbage that would be 'malformed' if it were parsed: the size check comes first.
  { name: '9 KiB of garbage (refused before parsing)', token: () => '!'.repeat(9 * 1024), reason: 'too_large' },
  { name: 'garbage', token: () => 'not-a-jwt', reason: 'malformed' }
]

for (const attack of attacks) {
  t.test(`refuses ${attack.name}`, async (t) => {
    const { logs, whoami } = await appWithLogs(t)
    const token = attack.token()
    const res = await whoami(token)
    t.equal(res.statusCode, 401)
    const body = res.json()
    t.equal(body.code, 'FST_NETPLAY_AUTH_INVALID_TOKEN')
    t.match(body.message, /unauthorized|token/, 'a client knows to refresh its token')
    const failures = logs.audits('auth.failure')
    t.equal(failures.length, 1, 'one audit line')
    t.match(failures[0], { audit: true, event: 'auth.failure', reason: attack.reason, ip: CLIENT_IP })
    assertNotLogged(t, logs.lines, token)
  })
}

t.test('a valid RomM token is accepted (the attacks fail for their own reason)', async (t) => {
  const { logs, whoami } = await appWithLogs(t)
  const token = rommToken()
  const res = await whoami(token)
  t.equal(res.statusCode, 200)
  t.match(res.json().identity, { sub: 'alice', tokenKind: 'read', issuer: 'romm:sfu' })
  t.same(logs.audits('auth.failure'), [])
  assertNotLogged(t, logs.lines, token)
})

t.test('clock differences within the 5 s skew are accepted', async (t) => {
  const { whoami } = await appWithLogs(t)
  const now = nowSeconds()
  for (const claims of [{ exp: now - 2 }, { nbf: now + 3 }, { iat: now + 3 }]) {
    t.equal((await whoami(rommToken(claims))).statusCode, 200, JSON.stringify(Object.keys(claims)))
  }
})

t.test('clockSkewMs sets the allowance', async (t) => {
  const { whoami } = await appWithLogs(t, { clockSkewMs: 0 })
  const now = nowSeconds()
  t.equal((await whoami(rommToken({ exp: now - 2 }))).statusCode, 401)
  t.equal((await whoami(rommToken({ nbf: now + 3 }))).statusCode, 401)
  t.equal((await whoami(rommToken({ iat: now + 3 }))).statusCode, 401)
})

t.test('a token of up to maxTokenBytes is accepted, one byte more is not', async (t) => {
  const { whoami, logs } = await appWithLogs(t)
  const { under, over } = tokensAround(8192)
  t.equal((await whoami(under)).statusCode, 200)
  t.equal((await whoami(over)).statusCode, 401)
  t.match(logs.audits('auth.failure'), [{ reason: 'too_large' }])
})

t.test('a token in the query is refused when tokenSources.query is false', async (t) => {
  const token = rommToken()
  const closed = await appWithLogs(t, { tokenSources: { query: false } })
  const res = await closed.app.inject({ method: 'GET', url: '/whoami', query: { token }, remoteAddress: CLIENT_IP })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_NETPLAY_AUTH_MISSING_TOKEN')
  t.match(res.json().message, /unauthorized|token/)
  t.match(closed.logs.audits('auth.failure'), [{ reason: 'missing_token', ip: CLIENT_IP }])

  const open = await appWithLogs(t)
  t.equal((await open.app.inject({ method: 'GET', url: '/whoami', query: { token } })).statusCode, 200, 'accepted by default')
})

t.test('audience: with `audience` configured, aud must name it', async (t) => {
  const { whoami, logs } = await appWithLogs(t, { audience: 'netplay' })
  t.equal((await whoami(rommToken({ aud: 'netplay' }))).statusCode, 200)
  t.equal((await whoami(rommToken({ aud: ['romm', 'netplay'] }))).statusCode, 200)
  t.equal((await whoami(rommToken({ aud: 'romm' }))).statusCode, 401, 'another audience')
  t.equal((await whoami(rommToken())).statusCode, 401, 'no audience at all')
  t.match(logs.audits('auth.failure'), [{ reason: 'audience' }, { reason: 'missing_claim' }])
})

t.test('the host logger from netplayServerOptions() keeps tokens out of every line', async (t) => {
  const logs = captureLogs()
  const app = await netplayApp(t, { auth: { secrets: [SECRET] } }, netplayServerOptions({ logger: { stream: logs.stream } }))
  const good = rommToken()
  const bad = tamperSignature(rommToken({ sub: 'mallory' }))
  const requests = [
    { url: '/whoami', query: { token: good } },
    { url: '/whoami', query: { token: bad } },
    { url: '/whoami', headers: bearer(bad) },
    { url: '/whoami', headers: { cookie: `romm_sfu_token=${bad}` } }
  ]
  const statuses = []
  for (const request of requests) statuses.push((await app.inject({ method: 'GET', ...request })).statusCode)
  t.same(statuses, [200, 401, 401, 401])
  t.ok(logs.lines.some((line) => line.includes('/whoami')), 'requests are logged')
  assertNotLogged(t, logs.lines, good)
  assertNotLogged(t, logs.lines, bad)
})
