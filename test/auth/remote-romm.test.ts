// RomM's remote check: tokens of the RomM issuer are sent to
// `POST {romm}/api/sfu/internal/verify` (a real loopback server here) with
// the shared secret header; RomM's answer decides, and RomM being unwell is
// a 503 (retry), never a 401 (refresh).
import t, { type Test } from 'tap'
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { bearer, netplayApp } from '../helpers/app.ts'
import { sendJson, startServer, type LoopbackServer, type ReceivedRequest } from '../helpers/http.ts'
import { encodeJwt, rommClaims, rommToken, rommWriteToken } from '../helpers/jwt.ts'

const ROMM_SECRET = 'romm-sidecar-shared-secret'
const VERIFY_PATH = '/api/sfu/internal/verify'

/** How the fake RomM answers, unless it is told to fail. */
type Failure = { status: number } | 'hang' | { body: unknown }

interface FakeRomm extends LoopbackServer {
  /** Verify calls received (method POST on the verify path). */
  calls (): ReceivedRequest[]
  failure?: Failure
}

/**
 * RomM's verify endpoint: checks the secret header, knows the tokens it
 * minted, and consumes write tokens when asked.
 */
async function startRomm (t: Test, base = ''): Promise<FakeRomm> {
  const consumed = new Set<string>()
  const answer = (request: ReceivedRequest, response: ServerResponse): void => {
    if (request.method !== 'POST' || request.url !== base + VERIFY_PATH) return sendJson(response, 404, { detail: 'Not Found' })
    const failure = romm.failure
    if (failure === 'hang') return
    if (failure !== undefined && 'status' in failure) return sendJson(response, failure.status, { detail: 'failure' })
    if (failure !== undefined) return sendJson(response, 200, failure.body)
    if (request.headers['x-romm-sfu-secret'] !== ROMM_SECRET) return sendJson(response, 403, { detail: 'bad secret' })
    const { token, consume } = JSON.parse(request.body) as { token: string, consume: boolean }
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, string>
    if (payload.sub === 'revoked') return sendJson(response, 401, { detail: 'invalid token' })
    if (consume) {
      if (consumed.has(payload.jti ?? '')) return sendJson(response, 401, { detail: 'token already used' })
      consumed.add(payload.jti ?? '')
    }
    sendJson(response, 200, { sub: payload.sub, netplay_username: `${payload.sub} (RomM)` })
  }
  const server = await startServer(t, answer)
  const romm: FakeRomm = { ...server, calls: () => server.received.filter((r) => r.url.endsWith(VERIFY_PATH)) }
  return romm
}

async function sidecar (t: Test, url: string, timeoutMs = 1000): Promise<FastifyInstance> {
  return netplayApp(t, { auth: { romm: { url, secret: ROMM_SECRET, timeoutMs } } })
}

const whoami = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/whoami', headers: bearer(token) })
const act = (app: FastifyInstance, token: string) => app.inject({ method: 'POST', url: '/act', headers: bearer(token) })

t.test('a read token is checked by RomM with the secret header and consume: false', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  // Signed with a secret the sidecar does not know: only RomM can vouch for it.
  const token = rommToken({ sub: 'dave' }, 'a-secret-only-romm-knows-0123456789')
  const res = await whoami(app, token)
  t.equal(res.statusCode, 200)
  t.same(res.json().identity.name, 'dave (RomM)', 'netplay_username from RomM')
  t.match(res.json().identity, { sub: 'dave', tokenKind: 'read', issuer: 'romm:sfu' })
  const [call, ...more] = romm.calls()
  t.same(more, [])
  t.equal(call?.method, 'POST')
  t.equal(call?.headers['x-romm-sfu-secret'], ROMM_SECRET)
  t.match(call?.headers['content-type'], /^application\/json/)
  t.same(JSON.parse(call?.body ?? '{}'), { token, consume: false })
})

t.test('a write token is sent with consume: true, and RomM\'s refusal of a replay is a 401', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  const { token } = rommWriteToken({ sub: 'erin' })
  const first = await act(app, token)
  t.equal(first.statusCode, 200)
  t.match(first.json().identity, { sub: 'erin', tokenKind: 'write' })
  t.same(JSON.parse(romm.calls()[0]?.body ?? '{}'), { token, consume: true })
  const replay = await act(app, token)
  t.equal(replay.statusCode, 401)
  t.equal(replay.json().code, 'FST_NETPLAY_AUTH_INVALID_TOKEN')
})

t.test('a read token where a write token is needed is 403 without asking RomM', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  const res = await act(app, rommToken())
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'FST_NETPLAY_AUTH_WRITE_TOKEN_REQUIRED')
  t.same(romm.calls(), [])
})

t.test('alg: none is refused before RomM is asked', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  const res = await whoami(app, encodeJwt({ alg: 'none' }, rommClaims()))
  t.equal(res.statusCode, 401)
  t.same(romm.calls(), [])
})

t.test('RomM answering 401 is a 401', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  const res = await whoami(app, rommToken({ sub: 'revoked' }))
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'FST_NETPLAY_AUTH_INVALID_TOKEN')
  t.match(res.json().message, /unauthorized|token/)
})

t.test('RomM answering 200 without a subject is a 401', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  for (const body of [{}, { sub: '' }, { sub: 42 }, 'not an object']) {
    romm.failure = { body }
    t.equal((await whoami(app, rommToken())).statusCode, 401, JSON.stringify(body))
  }
})

t.test('RomM unwell is a 503', async (t) => {
  const cases: Array<{ name: string, failure?: Failure, down?: true }> = [
    { name: '500', failure: { status: 500 } },
    { name: '502', failure: { status: 502 } },
    { name: '429', failure: { status: 429 } },
    { name: 'timeout', failure: 'hang' },
    { name: 'unreachable', down: true }
  ]
  for (const { name, failure, down } of cases) {
    t.test(name, async (t) => {
      const romm = await startRomm(t)
      const app = await sidecar(t, romm.origin, 200)
      if (failure !== undefined) romm.failure = failure
      if (down) await romm.stop()
      const started = Date.now()
      const res = await whoami(app, rommToken())
      t.equal(res.statusCode, 503)
      t.equal(res.json().code, 'FST_NETPLAY_AUTH_UNAVAILABLE')
      t.ok(Date.now() - started < 1500, 'within romm.timeoutMs')
    })
  }
})

t.test('a RomM served under a path prefix is called under that prefix', async (t) => {
  const romm = await startRomm(t, '/romm')
  for (const url of [`${romm.origin}/romm`, `${romm.origin}/romm/`]) {
    const app = await sidecar(t, url)
    t.equal((await whoami(app, rommToken())).statusCode, 200, url)
  }
  t.same(romm.received.map((r) => r.url), [`/romm${VERIFY_PATH}`, `/romm${VERIFY_PATH}`])
})

t.test('only the RomM issuer goes to RomM', async (t) => {
  const romm = await startRomm(t)
  const app = await sidecar(t, romm.origin)
  t.equal((await whoami(app, rommToken({ iss: 'someone-else' }))).statusCode, 401)
  t.same(romm.calls(), [])
})
