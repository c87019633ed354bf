// The standalone server's flags and variables, as configFrom turns them into
// plugin options: romm-sfu-server's names with their formats and meanings,
// our own names winning over them, and every mistake a startup error that
// names the flag or variable to fix.
import t from 'tap'
import { configFrom, FLAGS, HELP, type StandaloneConfig } from '../../examples/standalone/config.ts'
import type { AuthOptionsInput } from '../../plugins/auth/schema.ts'

const SECRET = 'a-romm-secret-of-at-least-32-chars!!'

function config (argv: string[], env: NodeJS.ProcessEnv = {}): StandaloneConfig {
  const result = configFrom(argv, env)
  if (result === 'help') throw new Error('unexpected help')
  return result
}

function auth (argv: string[], env: NodeJS.ProcessEnv = {}): AuthOptionsInput | false {
  return config(argv, env).netplay.auth
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

t.test('empty variables count as unset, as in romm-sfu-server (VAR= in a compose file)', async (t) => {
  const result = config([], { PORT: '', ANNOUNCED_IP: '', WEBRTC_PORT: '', LOG_LEVEL: '', ROMM_AUTH_SECRET_KEY: '', SFU_AUTH_ISSUER: '' })
  t.equal(result.port, 3001)
  t.equal(result.announcedIp, undefined)
  t.equal(result.netplay.auth, false)
  t.equal(result.logLevel, 'info')
  t.notOk(result.netplay.sfu !== undefined && 'announcedAddress' in result.netplay.sfu)
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
  configFrom([], recording({}))
  configFrom([], recording({ ROMM_API_BASE_URL: 'http://romm', ROMM_SFU_INTERNAL_SECRET: 's', REDIS_URL: 'redis://x', PUBLIC_URL: 'http://x' }))
  configFrom([], recording({ NETPLAY_JWKS_ISSUERS: 'a=https://a/jwks.json', NETPLAY_JWKS_AUDIENCE: 'x' }))
  t.ok(read.has('ROMM_AUTH_SECRET_KEY') && read.has('NETPLAY_JWKS_ISSUERS'), 'the recording sees what configFrom reads')
  for (const name of read) t.match(HELP, name.replace(/([A-Z])[1-4]$/, '$11..4'), name)
})
