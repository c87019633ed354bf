// The standalone server's flags and variables, as configFrom turns them into
// plugin options: romm-sfu-server's names with their formats and meanings,
// our own names winning over them, and every mistake a startup error that
// names the flag or variable to fix.
import t from 'tap'
import { configFrom, FLAGS, HELP, type StandaloneConfig } from '../../examples/standalone/config.ts'
import type { AuthOptionsInput } from '../../plugins/auth/schema.ts'
import type { RoomsOptionsInput } from '../../plugins/rooms/schema.ts'
import type { SfuOptionsInput } from '../../plugins/sfu/schema.ts'

const SECRET = 'a-romm-secret-of-at-least-32-chars!!'

function config (argv: string[], env: NodeJS.ProcessEnv = {}): StandaloneConfig {
  const result = configFrom(argv, env)
  if (result === 'help') throw new Error('unexpected help')
  return result
}

function auth (argv: string[], env: NodeJS.ProcessEnv = {}): AuthOptionsInput | false {
  return config(argv, env).netplay.auth
}

function rooms (env: NodeJS.ProcessEnv): RoomsOptionsInput {
  const { rooms } = config([], env).netplay
  if (rooms === undefined || rooms === false) throw new Error('rooms off')
  return rooms
}

function sfu (argv: string[], env: NodeJS.ProcessEnv = {}): SfuOptionsInput {
  const { sfu } = config(argv, env).netplay
  if (sfu === undefined || sfu === false) throw new Error('sfu off')
  return sfu
}

t.test('auth: every way to verify tokens turns it on, and nothing else does', async (t) => {
  t.equal(auth([]), false, 'no secret, RomM URL or JWKS issuer: anonymous')
  t.match(auth([], { ROMM_AUTH_SECRET_KEY: SECRET }), { secrets: [SECRET], hs256Issuers: ['romm:sfu'] })
  t.match(auth([], { ROMM_API_BASE_URL: 'http://romm:8080', ROMM_SFU_INTERNAL_SECRET: 'internal' }), {
    romm: { url: 'http://romm:8080', secret: 'internal', issuer: 'romm:sfu' }
  })
  t.match(auth([], { ROMM_URL: 'http://romm:8080', ROMM_SFU_INTERNAL_SECRET: 'internal' }), { romm: { url: 'http://romm:8080' } }, 'romm-sfu-server alias ROMM_URL')
  t.match(auth([], { ROMM_BASE_URL: 'http://romm:8080', ROMM_SFU_INTERNAL_SECRET: 'internal' }), { romm: { url: 'http://romm:8080' } }, 'romm-sfu-server alias ROMM_BASE_URL')
  t.match(auth(['--romm-url', 'http://flag:1'], { ROMM_API_BASE_URL: 'http://env:2', ROMM_SFU_INTERNAL_SECRET: 'internal' }), { romm: { url: 'http://flag:1' } }, 'the flag wins')
})

t.test('auth: --jwks trusts issuers that publish their keys, and turns auth on', async (t) => {
  const byFlag = auth(['--jwks', 'https://idp.example.org=https://idp.example.org/jwks.json', '--jwks', 'other=http://127.0.0.1:9/keys?v=1'])
  t.same(byFlag !== false && byFlag.issuers, [
    { iss: 'https://idp.example.org', jwksUrl: 'https://idp.example.org/jwks.json' },
    { iss: 'other', jwksUrl: 'http://127.0.0.1:9/keys?v=1' }
  ], 'the issuer ends at the first "=" before http(s)://, so URLs may carry queries')
  t.same(byFlag !== false && byFlag.secrets, [], 'no HS256 secret comes with it')
  const byEnv = auth([], { NETPLAY_JWKS_ISSUERS: 'a=https://a.example/jwks.json, b=https://b.example/jwks.json', NETPLAY_JWKS_AUDIENCE: 'netplay,emulatorjs' })
  t.same(byEnv !== false && byEnv.issuers, [
    { iss: 'a', jwksUrl: 'https://a.example/jwks.json', audience: ['netplay', 'emulatorjs'] },
    { iss: 'b', jwksUrl: 'https://b.example/jwks.json', audience: ['netplay', 'emulatorjs'] }
  ], 'comma-separated; the audience binds the JWKS issuers only')
  t.equal(byEnv !== false && byEnv.audience, undefined, 'RomM tokens carry no aud: no global audience')
  const both = auth(['--jwks', 'a=https://flag.example/jwks.json', '--secret', SECRET], { NETPLAY_JWKS_ISSUERS: 'z=https://env.example/jwks.json' })
  t.same(both !== false && both.issuers, [{ iss: 'a', jwksUrl: 'https://flag.example/jwks.json' }], 'the flag wins over the variable')
  t.same(both !== false && both.secrets, [SECRET], 'with an HS256 secret beside it')
})

t.test('auth: an issuer nobody can verify, or a half-given verifier, stops the server', async (t) => {
  t.throws(() => configFrom(['--issuer', 'romm:sfu'], {}), /--issuer.*"romm:sfu".*no way to verify.*--secret.*--romm-url.*--jwks/s,
    '--issuer alone never leaves auth off')
  t.throws(() => configFrom([], { SFU_AUTH_ISSUER: 'romm:sfu' }), /SFU_AUTH_ISSUER.*no way to verify/s)
  t.match(auth(['--issuer', 'idp', '--jwks', 'idp=https://idp.example/jwks.json']), { issuers: [{ iss: 'idp' }] }, 'an --issuer a --jwks entry verifies is fine')
  t.match(auth(['--issuer', 'custom', '--secret', SECRET]), { hs256Issuers: ['custom'] })
  t.throws(() => configFrom(['--jwks', 'no-url'], {}), /invalid --jwks: "no-url" \(<issuer>=<http\(s\):\/\/ JWKS URL>\)/)
  t.throws(() => configFrom([], { NETPLAY_JWKS_ISSUERS: 'a=ftp://x' }), /invalid NETPLAY_JWKS_ISSUERS: "a=ftp:\/\/x"/)
  t.throws(() => configFrom(['--jwks', 'a=https://x/1', '--jwks', 'a=https://x/2'], {}), /--jwks.*"a".*twice/)
  t.throws(() => configFrom(['--secret', SECRET, '--jwks', 'romm:sfu=https://x/jwks.json'], {}), /"romm:sfu".*both.*one key source/s,
    'one issuer, one key source: never HS256 and JWKS at once')
  t.throws(() => configFrom(['--jwks-audience', 'x'], {}), /--jwks-audience.*--jwks/)
  t.throws(() => configFrom([], { ROMM_API_BASE_URL: 'http://romm:8080' }), /ROMM_API_BASE_URL.*needs.*ROMM_SFU_INTERNAL_SECRET/)
  t.throws(() => configFrom([], { ROMM_URL: 'romm:8080', ROMM_SFU_INTERNAL_SECRET: 's' }), /invalid ROMM_URL: "romm:8080"/)
})

t.test('auth: romm-sfu-server variables for clock skew and one-time token keys', async (t) => {
  t.match(auth([], { ROMM_AUTH_SECRET_KEY: SECRET, SFU_AUTH_CLOCK_SKEW_SECONDS: '30', SFU_AUTH_JTI_KEY_PREFIX: 'romm:jti:' }), {
    clockSkewMs: 30_000, jtiKeyPrefix: 'romm:jti:'
  })
  t.match(auth([], { ROMM_AUTH_SECRET_KEY: SECRET, SFU_AUTH_CLOCK_SKEW_SECONDS: '0' }), { clockSkewMs: 0 })
  t.throws(() => configFrom([], { SFU_AUTH_CLOCK_SKEW_SECONDS: '5s' }), /invalid SFU_AUTH_CLOCK_SKEW_SECONDS: "5s" \(whole seconds from 0 to 300\)/)
  t.throws(() => configFrom([], { SFU_AUTH_CLOCK_SKEW_SECONDS: '301' }), /SFU_AUTH_CLOCK_SKEW_SECONDS/)
})

t.test('rooms: takeover and registry TTL from romm-sfu-server variables', async (t) => {
  t.match(rooms({ SFU_ALLOW_AUTH_TAKEOVER: '0', SFU_AUTH_TAKEOVER_GRACE_SECONDS: '45', ROOM_REGISTRY_TTL_SECONDS: '120' }), {
    allowTakeover: false, takeoverWindowMs: 45_000, registryTtlMs: 120_000
  })
  t.match(rooms({ SFU_ALLOW_AUTH_TAKEOVER: '1', SFU_AUTH_TAKEOVER_GRACE_SECONDS: '0' }), { allowTakeover: true, takeoverWindowMs: 0 }, '0: no window')
  t.match(rooms({ SFU_ALLOW_AUTH_TAKEOVER: 'false' }), { allowTakeover: false })
  const defaults = rooms({})
  t.notOk('allowTakeover' in defaults || 'takeoverWindowMs' in defaults || 'registryTtlMs' in defaults, 'unset: the plugin defaults (the same as romm-sfu-server)')
  t.throws(() => configFrom([], { SFU_ALLOW_AUTH_TAKEOVER: 'maybe' }), /invalid SFU_ALLOW_AUTH_TAKEOVER: "maybe" \(1 or 0\)/)
  t.throws(() => configFrom([], { SFU_AUTH_TAKEOVER_GRACE_SECONDS: '-1' }), /invalid SFU_AUTH_TAKEOVER_GRACE_SECONDS: "-1"/)
  t.throws(() => configFrom([], { ROOM_REGISTRY_TTL_SECONDS: '0' }), /invalid ROOM_REGISTRY_TTL_SECONDS: "0" \(whole seconds from 1 to 3600\)/)
})

t.test('ICE: romm-sfu-server STUN and TURN variables in their formats', async (t) => {
  t.same(sfu([], { SFU_STUN_SERVERS: 'stun:a.example:3478 b.example:19302,stuns:c.example' }).ice?.stun,
    ['stun:a.example:3478', 'stun:b.example:19302', 'stuns:c.example'], 'space or comma separated; "stun:" optional')
  t.same(sfu([], { STUN_SERVERS: 'fallback.example' }).ice?.stun, ['stun:fallback.example'], 'STUN_SERVERS when SFU_STUN_SERVERS is unset')
  t.same(sfu([], { SFU_STUN_SERVERS: 'sfu.example', STUN_SERVERS: 'other.example' }).ice?.stun, ['stun:sfu.example'])
  t.same(sfu([], { STUN_URLS: 'stun:ours.example', SFU_STUN_SERVERS: 'theirs.example' }).ice?.stun, ['stun:ours.example'], 'our name wins')
  t.same(sfu(['--stun', 'stun:flag.example'], { STUN_URLS: 'stun:ours.example' }).ice?.stun, ['stun:flag.example'])
  t.throws(() => configFrom([], { SFU_STUN_SERVERS: 'turn:t.example' }), /invalid SFU_STUN_SERVERS: "turn:t.example".*SFU_TURN_SERVERS/s)
  t.throws(() => configFrom([], { STUN_URLS: 'https://x.example' }), /invalid STUN_URLS: "https:\/\/x.example"/)

  const turn = sfu([], {
    SFU_TURN_SERVERS: '[{"urls":["turn:t.example:3478?transport=udp","turns:t.example:5349"],"username":"u","credential":"p","credentialType":"password"},{"urls":"t2.example","username":"u2","credential":"p2"}]',
    SFU_TURN_SERVER1: 'turn:n1.example:3478?transport=udp n1.example:3478?transport=tcp',
    SFU_TURN_USER1: 'nu1',
    SFU_TURN_PASS1: 'np1',
    SFU_TURN_SERVER3: 'turns:n3.example',
    SFU_TURN_USER3: 'nu3',
    SFU_TURN_PASS3: 'np3'
  }).ice?.turn
  t.same(turn, [
    { urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'], username: 'u', credential: 'p' },
    { urls: ['turn:t2.example'], username: 'u2', credential: 'p2' },
    { urls: ['turn:n1.example:3478?transport=udp', 'turn:n1.example:3478?transport=tcp'], username: 'nu1', credential: 'np1' },
    { urls: ['turns:n3.example'], username: 'nu3', credential: 'np3' }
  ], 'JSON first, then the numbered ones, as romm-sfu-server orders them')
  t.notOk('turn' in (sfu([], {}).ice ?? {}), 'none by default')
  t.throws(() => configFrom([], { SFU_TURN_SERVERS: '{"urls":"turn:x"}' }), /invalid SFU_TURN_SERVERS: .*JSON array/)
  t.throws(() => configFrom([], { SFU_TURN_SERVERS: '[{"urls":"turn:x"' }), /invalid SFU_TURN_SERVERS: .*JSON array/)
  t.throws(() => configFrom([], { SFU_TURN_SERVERS: '[{"urls":"turn:x","username":"u"}]' }), /invalid SFU_TURN_SERVERS \(server 1\): needs a username and credential/)
  t.throws(() => configFrom([], { SFU_TURN_SERVERS: '[{"urls":["stun:x"],"username":"u","credential":"p"}]' }), /invalid SFU_TURN_SERVERS \(server 1\): "stun:x" is a STUN URL/)
  t.throws(() => configFrom([], { SFU_TURN_SERVER2: 'turn:x', SFU_TURN_USER2: 'u' }), /SFU_TURN_SERVER2 needs SFU_TURN_USER2 and SFU_TURN_PASS2/)
  t.throws(() => configFrom([], { SFU_TURN_USER4: 'u', SFU_TURN_PASS4: 'p' }), /SFU_TURN_USER4.*without SFU_TURN_SERVER4/)
  t.throws(() => configFrom([], { SFU_TURN_SERVER1: 'http://x', SFU_TURN_USER1: 'u', SFU_TURN_PASS1: 'p' }), /invalid SFU_TURN_SERVER1: "http:\/\/x"/)
})

t.test('SFU: romm-sfu-server worker count, ports and transports', async (t) => {
  t.match(sfu([], { SFU_WORKER_COUNT: '4' }), { workers: 4 })
  t.match(sfu([], { SFU_WORKER_COUNT: '4', MEDIASOUP_WORKERS: '2' }), { workers: 2 }, 'our name wins')
  t.match(sfu(['--sfu-workers', '3'], { SFU_WORKER_COUNT: '4' }), { workers: 3 })
  t.match(sfu([]), { workers: 1, port: 20000 }, 'one worker on port 20000, like romm-sfu-server and the ports its docker-compose publishes')
  t.throws(() => configFrom([], { SFU_WORKER_COUNT: '0' }), /invalid SFU_WORKER_COUNT: "0" \(a whole number from 1 to 256\)/)

  t.match(sfu([], { WEBRTC_PORT: '21000' }), { port: 21000 })
  t.match(sfu([], { WEBRTC_UDP_PORT: '22000', WEBRTC_TCP_PORT: '22000' }), { port: 22000 })
  t.match(sfu([], { WEBRTC_PORT: '21000', WEBRTC_UDP_PORT: '22000', ENABLE_WEBRTC_TCP: '0' }), { port: 22000, enableTcp: false }, 'UDP only: the UDP port')
  t.match(sfu(['--sfu-port', '0'], { WEBRTC_UDP_PORT: '22000' }), { port: 0 }, 'the flag wins')
  t.throws(() => configFrom([], { WEBRTC_UDP_PORT: '22000' }), /WEBRTC_UDP_PORT \(22000\) and the TCP port \(20000\) differ.*one port/s)
  t.throws(() => configFrom([], { WEBRTC_PORT: '21000', WEBRTC_TCP_PORT: '21001' }), /the UDP port \(21000\) and WEBRTC_TCP_PORT \(21001\) differ/)
  t.throws(() => configFrom([], { WEBRTC_PORT: 'x' }), /invalid WEBRTC_PORT: "x"/)
  t.throws(() => configFrom([], { ENABLE_WEBRTC_TCP: 'no way' }), /invalid ENABLE_WEBRTC_TCP/)

  t.notOk('portRange' in sfu([], { RTC_MIN_PORT: '30000', RTC_MAX_PORT: '30100' }), 'RTC_MIN/MAX_PORT alone: WebRtcServer ports, as in romm-sfu-server')
  t.match(sfu([], { USE_WEBRTC_SERVER: '0' }), { portRange: { min: 20000, max: 20200 } }, 'a port per transport, romm-sfu-server\'s range by default')
  t.match(sfu([], { USE_WEBRTC_SERVER: '0', RTC_MIN_PORT: '30000', RTC_MAX_PORT: '30100' }), { portRange: { min: 30000, max: 30100 } })
  t.match(sfu(['--rtc-min-port', '31000', '--rtc-max-port', '31010']), { portRange: { min: 31000, max: 31010 } }, 'the flags choose the range themselves')
  t.throws(() => configFrom([], { USE_WEBRTC_SERVER: '0', RTC_MIN_PORT: '30100', RTC_MAX_PORT: '30000' }), /RTC_MIN_PORT \(30100\) is above RTC_MAX_PORT \(30000\)/)
  t.throws(() => configFrom([], { USE_WEBRTC_SERVER: 'off' }), /invalid USE_WEBRTC_SERVER: "off" \(1 or 0\)/)
})

t.test('empty variables count as unset, as in romm-sfu-server (VAR= in a compose file)', async (t) => {
  const result = config([], { PORT: '', ANNOUNCED_IP: '', WEBRTC_PORT: '', LOG_LEVEL: '', ROMM_AUTH_SECRET_KEY: '', SFU_AUTH_ISSUER: '' })
  t.equal(result.port, 3001)
  t.equal(result.announcedIp, undefined)
  t.equal(result.netplay.auth, false)
  t.equal(result.logLevel, 'info')
  t.notOk(result.netplay.sfu !== undefined && result.netplay.sfu !== false && 'announcedAddress' in result.netplay.sfu)
  t.equal(config([], { LOG_LEVEL: 'WARN' }).logLevel, 'warn', 'romm-sfu-server lower-cases LOG_LEVEL')
  t.equal(config([], { LOG_LEVEL: 'silent' }).logLevel, 'silent')
  t.throws(() => configFrom([], { LOG_LEVEL: 'verbose' }), /invalid LOG_LEVEL: "verbose"/)
  t.throws(() => configFrom(['--port', '3001x'], {}), /invalid --port: "3001x"/)
  t.throws(() => configFrom([], { NETPLAY_LEASE_MS: '-5' }), /invalid NETPLAY_LEASE_MS: "-5"/)
})

t.test('--help names every flag and every variable configFrom reads', async (t) => {
  for (const flag of Object.keys(FLAGS)) t.match(HELP, `--${flag}`, `--${flag}`)
  const read = new Set<string>()
  const recording = (values: NodeJS.ProcessEnv): NodeJS.ProcessEnv => new Proxy(values, {
    get (target, name) {
      if (typeof name === 'string') read.add(name)
      return Reflect.get(target, name)
    }
  })
  // Enough settings that every branch reading a variable runs.
  const turn = Object.fromEntries([1, 2, 3, 4].flatMap((i) => [[`SFU_TURN_SERVER${i}`, 'turn:x'], [`SFU_TURN_USER${i}`, 'u'], [`SFU_TURN_PASS${i}`, 'p']]))
  configFrom([], recording({}))
  configFrom([], recording({ ...turn, ROMM_API_BASE_URL: 'http://romm', ROMM_SFU_INTERNAL_SECRET: 's', USE_WEBRTC_SERVER: '0', REDIS_URL: 'redis://x', PUBLIC_URL: 'http://x' }))
  configFrom([], recording({ NETPLAY_JWKS_ISSUERS: 'a=https://a/jwks.json', NETPLAY_JWKS_AUDIENCE: 'x' }))
  t.ok(read.has('ROMM_AUTH_SECRET_KEY') && read.has('NETPLAY_JWKS_ISSUERS'), 'the recording sees what configFrom reads')
  for (const name of read) t.match(HELP, name.replace(/([A-Z])[1-4]$/, '$11..4'), name)
})

t.test('the plugins accept every option these variables map to: the server boots with all of them', async (t) => {
  const { buildServer } = await import('../../examples/standalone/app.ts')
  const result = config([], {
    LOG_LEVEL: 'silent',
    NETPLAY_SFU: 'auto',
    ROMM_AUTH_SECRET_KEY: SECRET,
    ROMM_URL: 'http://127.0.0.1:9',
    ROMM_SFU_INTERNAL_SECRET: 'internal',
    NETPLAY_JWKS_ISSUERS: 'https://idp.example=https://idp.example/jwks.json',
    NETPLAY_JWKS_AUDIENCE: 'netplay',
    SFU_AUTH_CLOCK_SKEW_SECONDS: '10',
    SFU_AUTH_JTI_KEY_PREFIX: 'x:jti:',
    SFU_ALLOW_AUTH_TAKEOVER: '0',
    SFU_AUTH_TAKEOVER_GRACE_SECONDS: '0',
    ROOM_REGISTRY_TTL_SECONDS: '90',
    SFU_WORKER_COUNT: '2',
    WEBRTC_UDP_PORT: '0',
    ENABLE_WEBRTC_TCP: '0',
    USE_WEBRTC_SERVER: '0',
    RTC_MIN_PORT: '41000',
    RTC_MAX_PORT: '41010',
    SFU_STUN_SERVERS: 'stun.example:3478',
    SFU_TURN_SERVERS: '[{"urls":"turn.example:3478","username":"u","credential":"p"}]',
    SFU_TURN_SERVER1: 'turns:t1.example:5349',
    SFU_TURN_USER1: 'u1',
    SFU_TURN_PASS1: 'p1'
  })
  // Registered but never started: this test is about the options, not mediasoup.
  if (result.netplay.sfu !== undefined && result.netplay.sfu !== false) result.netplay.sfu.workerBin = '/nonexistent/mediasoup-worker'
  const app = await buildServer(result)
  t.teardown(() => app.close())
  await app.ready()
  t.equal((await app.inject('/list')).statusCode, 401, 'auth on')
  t.same(app.netplay.sfu.ice(null).iceServers, [
    { urls: ['stun:stun.example:3478'] },
    { urls: ['turn:turn.example:3478'], username: 'u', credential: 'p' },
    { urls: ['turns:t1.example:5349'], username: 'u1', credential: 'p1' }
  ])
})
