// The standalone server as a RomM admin runs it: a real child process.
import t, { type Test } from 'tap'
import { spawn, execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { get, request } from 'node:https'
import type { IncomingHttpHeaders } from 'node:http'
import { configFrom } from '../../examples/standalone/config.ts'
import { buildDemoBundle } from '../helpers/browser.ts'
import { startJwksServer } from '../helpers/http.ts'
import { issuerKey, issuerToken } from '../helpers/jwt.ts'

const SERVER = new URL('../../examples/standalone/server.ts', import.meta.url).pathname

function start (args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<{ url: string, pid: number, output: () => string, stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [...nodeArgs, SERVER, '--port', '0', '--host', '127.0.0.1', ...args], { env: { PATH: process.env.PATH ?? '', NETPLAY_SFU: 'off', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode
    child.kill('SIGTERM')
    const [code] = await once(child, 'exit') as [number | null]
    return code
  }
  t.teardown(async () => { if (child.exitCode === null) child.kill('SIGKILL') })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000)
    child.stdout.on('data', () => {
      const match = /Server listening at (https?:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match?.[1] !== undefined) {
        clearTimeout(timer)
        resolve({ url: match[1], pid: child.pid as number, output: () => output, stop })
      }
    })
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`server exited:\n${output}`)) })
  })
}

/** A self-signed certificate for 127.0.0.1, or null (with a comment) when openssl is missing. */
function certificate (t: Test): { cert: string, key: string } | null {
  const dir = mkdtempSync(join(tmpdir(), 'netplay-tls-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' })
  } catch {
    t.comment('skipped: openssl is not installed, so no test certificate can be made')
    return null
  }
  return { cert, key }
}

/** One HTTPS request to the self-signed server; the whole answer. */
function httpsRequest (url: string, method = 'GET', body?: string): Promise<{ status: number, headers: IncomingHttpHeaders, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, rejectUnauthorized: false, headers: body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8' } }, (response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => { text += chunk.toString() })
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

t.test('--help prints the options and exits 0', async (t) => {
  const out = execFileSync(process.execPath, [SERVER, '--help'], { encoding: 'utf8' })
  t.match(out, /--port/)
  t.match(out, /ROMM_AUTH_SECRET_KEY/)
  t.match(out, /--jwks <iss>=<url>/)
  t.match(out, /NETPLAY_JWKS_ISSUERS/)
  t.match(out, /SFU_TURN_SERVERS/)
})

t.test('an unknown flag exits 2 with the help', async (t) => {
  const child = spawn(process.execPath, [SERVER, '--bogus'], { stdio: 'ignore' })
  const [code] = await once(child, 'exit')
  t.equal(code, 2)
})

t.test('embedded defaults: anonymous upstream clients work, auth off is warned, SIGTERM exits cleanly', async (t) => {
  const server = await start([])
  const response = await fetch(`${server.url}/list`)
  t.equal(response.status, 200)
  t.same(await response.json(), {})
  t.ok(response.headers.get('x-request-id'), 'every response carries a request id')
  t.match(server.output(), /auth is disabled/)
  t.equal(await server.stop(), 0)
})

t.test('the young generation is capped at 8 MB per semi-space in the same process, unless the operator sized it', { skip: process.platform === 'linux' ? false : 'reads /proc/<pid>/cmdline (Linux)' }, async (t) => {
  const commandLine = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
  const capped = await start([])
  // Same pid as spawned: replaced in place (execve), no child to supervise.
  t.ok(commandLine(capped.pid).includes('--max-semi-space-size=8'), 'the running process has the cap on its command line')
  t.match(capped.output(), /"maxSemiSpaceSize":"8".*V8 young generation sizing/)
  t.equal(await capped.stop(), 0)

  // On the node command line: tap rewrites a child's NODE_OPTIONS (the parsing of both is unit-tested).
  const sized = await start([], {}, ['--max-semi-space-size=4'])
  t.same(commandLine(sized.pid).filter((arg) => arg.startsWith('--max-semi-space-size')), ['--max-semi-space-size=4'], 'an operator\'s own size is left alone')
  t.match(sized.output(), /"maxSemiSpaceSize":"4"/)
  await sized.stop()
})

t.test('ROMM_AUTH_SECRET_KEY turns auth on: /list needs a token', async (t) => {
  const server = await start([], { ROMM_AUTH_SECRET_KEY: 'a-romm-secret-of-at-least-32-chars!!' })
  const response = await fetch(`${server.url}/list`)
  t.equal(response.status, 401)
  t.equal((await response.json() as { error: string }).error, 'FST_NETPLAY_AUTH_MISSING_TOKEN')
  t.notMatch(server.output(), /auth is disabled/)
  await server.stop()
})

t.test('--issuer alone: the server refuses to start rather than run without auth', async (t) => {
  const child = spawn(process.execPath, [SERVER, '--port', '0', '--issuer', 'romm:sfu'], { env: { PATH: process.env.PATH ?? '', NETPLAY_SFU: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] })
  // A server that started anyway would run until killed.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  t.teardown(() => { clearTimeout(timer); if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit')
  t.equal(code, 2)
  t.match(output, /--issuer .*"romm:sfu" has no way to verify its tokens/)
  t.notMatch(output, /Server listening/)
})

t.test('--jwks: tokens of an issuer that publishes its keys are required and accepted', async (t) => {
  const key = issuerKey('ES256')
  const jwks = await startJwksServer(t, [key])
  const iss = 'https://idp.example.org'
  const server = await start(['--jwks', `${iss}=${jwks.jwksUrl}`])
  t.notMatch(server.output(), /auth is disabled/)
  const anonymous = await fetch(`${server.url}/list`)
  t.equal(anonymous.status, 401)
  t.equal((await anonymous.json() as { error: string }).error, 'FST_NETPLAY_AUTH_MISSING_TOKEN')
  const signed = await fetch(`${server.url}/list`, { headers: { authorization: `Bearer ${issuerToken(key, { iss })}` } })
  t.equal(signed.status, 200)
  const stranger = await fetch(`${server.url}/list`, { headers: { authorization: `Bearer ${issuerToken(key, { iss: 'https://elsewhere.example' })}` } })
  t.equal(stranger.status, 401, 'an issuer nobody configured')
  t.ok(jwks.fetches >= 1, 'the keys came from the JWKS URL')
  await server.stop()
})

t.test('HTTPS with HSTS when a certificate and key are given', async (t) => {
  const tls = certificate(t)
  if (tls === null) return
  const server = await start(['--cert', tls.cert, '--key', tls.key])
  t.match(server.url, /^https:/)
  const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    get(`${server.url}/list`, { rejectUnauthorized: false }, resolve).on('error', reject)
  })
  response.resume()
  t.equal(response.statusCode, 200)
  t.match(String(response.headers['strict-transport-security']), /max-age=\d+/)
  await server.stop()
})

t.test('romm-sfu-server variable names are accepted', async (t) => {
  const config = configFrom([], { PORT: '4000', LISTEN_IP: '127.0.0.1', ANNOUNCED_IP: '203.0.113.7', ROMM_AUTH_SECRET_KEY: 'x'.repeat(32), REDIS_URL: 'redis://127.0.0.1:1' })
  t.not(config, 'help')
  if (config === 'help') return
  t.equal(config.port, 4000)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.announcedIp, '203.0.113.7')
  t.same(config.netplay.auth !== false && config.netplay.auth.secrets, ['x'.repeat(32)])
  t.equal(config.netplay.redis, 'redis://127.0.0.1:1')
  t.throws(() => configFrom(['--cert', '/nonexistent'], {}), /go together/)
})

t.test('SFU settings from flags and romm-sfu-server style variables', async (t) => {
  const config = configFrom(['--sfu-workers', '3', '--stun', 'stun:stun.example.org:3478', '--turn', 'turn:turn.example.org', '--turn-secret', 'a,b'], {
    ANNOUNCED_IP: 'play.example.org', LISTEN_IP: '10.0.0.5', WEBRTC_PORT: '44000', USE_WEBRTC_SERVER: '0', RTC_MIN_PORT: '50000', RTC_MAX_PORT: '50100'
  })
  if (config === 'help') return t.fail('help')
  t.same(config.netplay.sfu, {
    required: false,
    listenIp: '10.0.0.5',
    announcedAddress: 'play.example.org',
    workers: 3,
    port: 44000,
    portRange: { min: 50000, max: 50100 },
    ice: { stun: ['stun:stun.example.org:3478'], turnRest: { urls: ['turn:turn.example.org'], secret: ['a', 'b'] } }
  }, 'auto by default: the server runs with or without mediasoup')
  const on = configFrom(['--sfu', 'on'], {})
  t.equal(on !== 'help' && on.netplay.sfu !== false && on.netplay.sfu?.required, true)
  const off = configFrom([], { NETPLAY_SFU: 'off' })
  t.equal(off !== 'help' && off.netplay.sfu, undefined)
  t.throws(() => configFrom(['--sfu', 'maybe'], {}), /auto, on or off/)
  t.throws(() => configFrom(['--rtc-min-port', '50000'], {}), /go together/)
  t.throws(() => configFrom(['--turn', 'turn:x'], {}), /--turn-secret/)
})

t.test('--sfu auto without a worker: the server runs, says why the SFU is off, and serves the demo page', async (t) => {
  await buildDemoBundle()
  const server = await start(['--sfu', 'auto', '--sfu-port', '0'], { NETPLAY_SFU: 'auto', MEDIASOUP_WORKER_BIN: '/nonexistent/mediasoup-worker' })
  t.match(server.output(), /SFU disabled: sfu-available answers false/)
  t.match(server.output(), /FST_NETPLAY_SFU_WORKER_FAILED/)
  const page = await fetch(`${server.url}/demo`)
  t.equal(page.status, 200)
  t.match(page.headers.get('content-type'), /text\/html/)
  t.match(await page.text(), /<script src="demo.js">/)
  const script = await fetch(`${server.url}/demo.js`)
  t.equal(script.status, 200)
  t.match(script.headers.get('content-type'), /javascript/)
  t.ok((await script.text()).length > 10_000, 'the bundled client')
  t.equal((await fetch(`${server.url}/demo/demo.js`)).status, 200, 'also relative to /demo/')
  const ice = await fetch(`${server.url}/ice`)
  t.equal(ice.status, 200, 'ICE for P2P clients even without the SFU')
  t.equal(await server.stop(), 0)
})

t.test('--sfu on without a worker: the server refuses to start and says how to fix it', async (t) => {
  const child = spawn(process.execPath, [SERVER, '--port', '0', '--host', '127.0.0.1', '--sfu', 'on', '--sfu-port', '0'], {
    env: { PATH: process.env.PATH ?? '', MEDIASOUP_WORKER_BIN: '/nonexistent/mediasoup-worker' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const [code] = await once(child, 'exit')
  t.not(code, 0)
  t.match(output, /FST_NETPLAY_SFU_WORKER_FAILED/)
  t.match(output, /MEDIASOUP_WORKER_BIN/)
})

t.test('HTTPS: Socket.IO long-polling responses, which bypass Fastify hooks, carry HSTS too', async (t) => {
  const tls = certificate(t)
  if (tls === null) return
  const server = await start(['--cert', tls.cert, '--key', tls.key])
  t.teardown(server.stop)
  const polling = `${server.url}/socket.io/?EIO=4&transport=polling`
  const hsts = /^max-age=\d+; includeSubDomains$/

  const handshake = await httpsRequest(polling)
  t.equal(handshake.status, 200)
  t.match(handshake.headers['strict-transport-security'], hsts, 'the handshake')
  const sid = (JSON.parse(handshake.body.slice(1)) as { sid: string }).sid
  const sent = await httpsRequest(`${polling}&sid=${sid}`, 'POST', '40')
  t.equal(sent.body, 'ok')
  t.match(sent.headers['strict-transport-security'], hsts, 'a POST of packets')
  const received = await httpsRequest(`${polling}&sid=${sid}`)
  t.match(received.body, /^40\{"sid":/, 'the namespace connect answer')
  t.match(received.headers['strict-transport-security'], hsts, 'a GET of packets')
  const refused = await httpsRequest(`${polling}&sid=no-such-session`)
  t.equal(refused.status, 400)
  t.match(refused.headers['strict-transport-security'], hsts, 'engine.io\'s own error answers')
})
