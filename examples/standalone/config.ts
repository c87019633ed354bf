// Standalone server configuration from flags and environment variables.
// Where romm-sfu-server has a variable for the same thing, the same name is
// accepted with its format and meaning, so a RomM admin can swap servers
// without renaming settings. A flag wins over a variable, and our variable
// over romm-sfu-server's; an empty variable counts as unset, as there
// (`VAR=` in a compose file). A value that cannot be used stops the server
// with a message naming the flag or variable it came from.
import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util'
import { parseTrustProxy, type TrustProxy } from '../../lib/client-address.ts'
import type { NetplayOptions } from '../../index.ts'
import type { SfuOptionsInput } from '../../plugins/sfu/index.ts'

export const HELP = `fastify-netplay: netplay server for EmulatorJS (rooms, signaling, auth, limits)

Usage: fastify-netplay [options]

Options (environment variables in brackets). A flag wins over a variable, and
the first variable listed over the next; an empty variable counts as unset.
Names without a flag are romm-sfu-server's, with the same format.
  --port <n>            listen port, default 3001                  [PORT]
  --host <ip>           listen address, default 0.0.0.0            [LISTEN_IP]
  --announced-ip <ip>   address clients reach (for the SFU)        [ANNOUNCED_IP]
  --prefix <path>       mount netplay under a path, e.g. /netplay  [NETPLAY_PREFIX]
  --redis <url>         shared Redis (one-time tokens, limits, room registry) [REDIS_URL]
  --cert <file>         TLS certificate (PEM); with --key serves HTTPS + HSTS [TLS_CERT]
  --key <file>          TLS private key (PEM)                       [TLS_KEY]
  --cors <origins>      comma-separated allowed origins, default *  [CORS_ORIGINS]
  --trust-proxy <v>     behind a reverse proxy (RomM's nginx): true (any hop) or
                        the proxies' addresses/CIDRs (also loopback, linklocal,
                        uniquelocal), comma-separated; clients are then rate-
                        limited and logged by their X-Forwarded-For address;
                        default off                                 [TRUST_PROXY]
  --public-url <url>    URL clients use to reach this node          [PUBLIC_URL]
  --node-id <id>        node id for /resolve and the registry       [NODE_ID]
  --log-level <level>   trace, debug, info, warn, error, fatal or silent;
                        default info                                [LOG_LEVEL]
  Auth (on as soon as one way to verify tokens is given):
  --secret <s>          HS256 secret, repeatable; flags and both variables add up
                                   [ROMM_AUTH_SECRET_KEY, NETPLAY_AUTH_SECRETS (comma-separated)]
  --issuer <iss>        iss of the HS256 and RomM tokens, default romm:sfu [SFU_AUTH_ISSUER]
  --romm-url <url>      verify tokens remotely against RomM  [ROMM_API_BASE_URL, ROMM_BASE_URL, ROMM_URL]
  --romm-secret <s>     x-romm-sfu-secret, required with --romm-url  [ROMM_SFU_INTERNAL_SECRET]
  --jwks <iss>=<url>    trust tokens whose iss is <iss>, signed (RS256, ES256, EdDSA)
                        with the keys published at <url>; repeatable
                                                   [NETPLAY_JWKS_ISSUERS (comma-separated)]
  --jwks-audience <aud> aud the --jwks issuers' tokens must carry (one of, if
                        comma-separated)           [NETPLAY_JWKS_AUDIENCE]
  SFU_AUTH_CLOCK_SKEW_SECONDS      tolerance for exp, nbf and iat, default 5
  SFU_AUTH_JTI_KEY_PREFIX          Redis key prefix of one-time write tokens,
                                   default sfu:auth:jti:
  Rooms:
  SFU_ALLOW_AUTH_TAKEOVER          0: a signed-in user's new connection cannot
                                   replace its open one ("userid in use"); default 1
  SFU_AUTH_TAKEOVER_GRACE_SECONDS  takeover only when the open connection last sent
                                   something 1 s to this long ago; default 30 (0: no window)
  ROOM_REGISTRY_TTL_SECONDS        TTL of the room summaries in Redis, default 60
  SFU (mediasoup; optional dependency):
  --sfu <mode>          auto (on when mediasoup and its worker run), on (fail
                        without them) or off; default auto            [NETPLAY_SFU]
  --sfu-workers <n>     mediasoup workers, default 1 (each needs its port)
                                                   [MEDIASOUP_WORKERS, SFU_WORKER_COUNT]
  --sfu-port <n>        WebRtcServer port for UDP and TCP (worker i: port + i),
                        default 20000                                  [WEBRTC_PORT]
  WEBRTC_UDP_PORT, WEBRTC_TCP_PORT over WEBRTC_PORT; one port serves both, so they
                                   must be equal unless ENABLE_WEBRTC_TCP=0
  ENABLE_WEBRTC_TCP                0: UDP only; default 1
  --rtc-min-port <n>    with --rtc-max-port: a port per transport from this range
  --rtc-max-port <n>    instead of WebRtcServer ports  [USE_WEBRTC_SERVER=0 with
                        RTC_MIN_PORT and RTC_MAX_PORT, default 20000 and 20200]
  --stun <urls>         STUN URLs for clients, comma or space separated, "stun:"
                        optional      [STUN_URLS, SFU_STUN_SERVERS, STUN_SERVERS]
  --turn <urls>         comma-separated TURN URLs (REST credentials)    [TURN_URLS]
  --turn-secret <s>     TURN REST shared secret(s), comma-separated     [TURN_SECRET]
  SFU_TURN_SERVERS                 TURN servers with static credentials, a JSON array:
                                   [{"urls":["turn:host:3478"],"username":"u","credential":"p"}]
  SFU_TURN_SERVER1..4              more of them: URLs, comma or space separated,
                                   "turn:" optional; each with its
  SFU_TURN_USER1..4, SFU_TURN_PASS1..4  username and password
  --no-demo             do not serve the demo page at <prefix>/demo
  Several nodes (on when --redis and --public-url are both set):
  --capacity-rooms <n>  rooms before new ones go to another node, default 1000 [NETPLAY_CAPACITY_ROOMS]
  --capacity-seats <n>  seats before new rooms go elsewhere, default 4000     [NETPLAY_CAPACITY_SEATS]
  --heartbeat-ms <n>    registry heartbeat, default 2000                      [NETPLAY_HEARTBEAT_MS]
  --lease-ms <n>        a silent node is gone after this, default 6000        [NETPLAY_LEASE_MS]
  --drain-timeout-ms <n> longest graceful shutdown, default 10000            [NETPLAY_DRAIN_TIMEOUT_MS]
  --help                show this help

Without --secret, --romm-url or --jwks (or their variables), auth is OFF
(anonymous upstream EmulatorJS clients work out of the box) and a warning is
logged. An --issuer none of them can verify stops the server instead.`

export const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'trust-proxy': { type: 'string' },
  'announced-ip': { type: 'string' },
  prefix: { type: 'string' },
  secret: { type: 'string', multiple: true },
  issuer: { type: 'string' },
  'romm-url': { type: 'string' },
  'romm-secret': { type: 'string' },
  jwks: { type: 'string', multiple: true },
  'jwks-audience': { type: 'string' },
  redis: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  cors: { type: 'string' },
  'public-url': { type: 'string' },
  'node-id': { type: 'string' },
  'log-level': { type: 'string' },
  'capacity-rooms': { type: 'string' },
  'capacity-seats': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'lease-ms': { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  sfu: { type: 'string' },
  'sfu-workers': { type: 'string' },
  'sfu-port': { type: 'string' },
  'rtc-min-port': { type: 'string' },
  'rtc-max-port': { type: 'string' },
  stun: { type: 'string' },
  turn: { type: 'string' },
  'turn-secret': { type: 'string' },
  'no-demo': { type: 'boolean' },
  help: { type: 'boolean' }
} as const satisfies ParseArgsOptionsConfig

export interface StandaloneConfig {
  port: number
  drainTimeoutMs: number
  host: string
  announcedIp: string | undefined
  logLevel: string
  /** Serve the demo page at <prefix>/demo. */
  demo: boolean
  tls: { cert: Buffer, key: Buffer } | null
  /** Fastify's trustProxy (Socket.IO's handshakes get the same). */
  trustProxy: TrustProxy
  netplay: NetplayOptions
}

/** A value and the flag or variable it came from. */
interface Setting { value: string, from: string }

type Sfu = SfuOptionsInput
type TurnServer = NonNullable<NonNullable<Sfu['ice']>['turn']>[number]
type JwksIssuer = { iss: string, jwksUrl: string, audience?: string[] }

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
/** romm-sfu-server's WebRTC ports: one WebRtcServer port, or a port per transport from this range. */
const WEBRTC_PORT = 20_000
const RTC_PORT_RANGE = { min: 20_000, max: 20_200 }

function list (value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/** romm-sfu-server's server lists: comma or space separated. */
function tokens (value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s !== '')
}

function wholeNumber (setting: Setting, min: number, max: number, what: string): number {
  const n = /^\d+$/.test(setting.value.trim()) ? Number(setting.value) : Number.NaN
  if (n >= min && n <= max) return n
  throw new Error(`invalid ${setting.from}: "${setting.value}" (${what})`)
}

function integer (setting: Setting | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (setting === undefined) return undefined
  const what = max < Number.MAX_SAFE_INTEGER ? `a whole number from ${min} to ${max}` : min > 0 ? `a whole number of at least ${min}` : 'a whole number'
  return wholeNumber(setting, min, max, what)
}

/** romm-sfu-server's `..._SECONDS` variables, as our milliseconds. */
function seconds (setting: Setting | undefined, min: number, max: number): number | undefined {
  return setting === undefined ? undefined : 1000 * wholeNumber(setting, min, max, `whole seconds from ${min} to ${max}`)
}

function boolean (setting: Setting | undefined): boolean | undefined {
  if (setting === undefined) return undefined
  const value = setting.value.trim().toLowerCase()
  if (value === '1' || value === 'true') return true
  if (value === '0' || value === 'false') return false
  throw new Error(`invalid ${setting.from}: "${setting.value}" (1 or 0)`)
}

/** An ICE server URL; a bare host[:port] gets the scheme, as romm-sfu-server does. */
function iceUrl (entry: string, scheme: 'stun' | 'turn', from: string): string {
  const url = entry.trim().replace(/^\/\//, '')
  const match = /^(stuns?|turns?):/i.exec(url)
  if (match?.[1] !== undefined) {
    const given = match[1].toLowerCase()
    if (!given.startsWith(scheme)) {
      const where = scheme === 'stun' ? 'TURN servers go in --turn, SFU_TURN_SERVERS or SFU_TURN_SERVER1..4' : 'STUN servers go in --stun'
      throw new Error(`invalid ${from}: "${entry}" is a ${given.replace(/s$/, '').toUpperCase()} URL (${where})`)
    }
    return given + url.slice(given.length)
  }
  if (url === '' || url.includes('://')) throw new Error(`invalid ${from}: "${entry}" (a ${scheme}: URL or host:port)`)
  return `${scheme}:${url}`
}

/** SFU_TURN_SERVERS: a JSON array of RTCIceServer objects with static credentials. */
function turnServersJson (setting: Setting): TurnServer[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(setting.value)
  } catch {}
  if (!Array.isArray(parsed)) throw new Error(`invalid ${setting.from}: not a JSON array of { urls, username, credential }`)
  return parsed.map((entry: unknown, i) => {
    const from = `${setting.from} (server ${i + 1})`
    const { urls, username, credential } = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>
    if (typeof username !== 'string' || username === '' || typeof credential !== 'string' || credential === '') {
      throw new Error(`invalid ${from}: needs a username and credential`)
    }
    const all: unknown[] = Array.isArray(urls) ? urls : [urls]
    if (all.length === 0 || !all.every((url): url is string => typeof url === 'string')) throw new Error(`invalid ${from}: urls must be a URL or a list of URLs`)
    return { urls: all.map((url) => iceUrl(url, 'turn', from)), username, credential }
  })
}

/** SFU_TURN_SERVER1..4 with SFU_TURN_USER1..4 and SFU_TURN_PASS1..4 (trimmed, as romm-sfu-server does). */
function turnServersNumbered (env: (name: string) => string | undefined): TurnServer[] {
  const servers: TurnServer[] = []
  for (let i = 1; i <= 4; i++) {
    const [server, username, credential] = ['SERVER', 'USER', 'PASS'].map((part) => env(`SFU_TURN_${part}${i}`)?.trim() || undefined)
    if (server === undefined) {
      if (username !== undefined || credential !== undefined) throw new Error(`SFU_TURN_USER${i} or SFU_TURN_PASS${i} is set without SFU_TURN_SERVER${i}`)
      continue
    }
    if (username === undefined || credential === undefined) throw new Error(`SFU_TURN_SERVER${i} needs SFU_TURN_USER${i} and SFU_TURN_PASS${i}`)
    servers.push({ urls: tokens(server).map((url) => iceUrl(url, 'turn', `SFU_TURN_SERVER${i}`)), username, credential })
  }
  return servers
}

/** `<issuer>=<JWKS URL>`: the issuer ends at the first "=" that starts an http(s) URL. */
function jwksIssuer (entry: string, from: string): JwksIssuer {
  const match = /^(.+?)=(https?:\/\/\S+)$/.exec(entry)
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`invalid ${from}: "${entry}" (<issuer>=<http(s):// JWKS URL>)`)
  return { iss: match[1], jwksUrl: match[2] }
}

export function configFrom (argv: string[], env: NodeJS.ProcessEnv): StandaloneConfig | 'help' {
  const { values } = parseArgs({ args: argv, strict: true, options: FLAGS })
  if (values.help === true) return 'help'

  const variable = (name: string): string | undefined => {
    const value = env[name]
    return value === '' ? undefined : value
  }
  /** The flag's value, else the first variable set. */
  const setting = (flag: keyof typeof FLAGS | null, ...names: string[]): Setting | undefined => {
    const given = flag === null ? undefined : values[flag]
    if (typeof given === 'string') return { value: given, from: `--${flag}` }
    for (const name of names) {
      const value = variable(name)
      if (value !== undefined) return { value, from: name }
    }
    return undefined
  }
  const text = (flag: keyof typeof FLAGS | null, ...names: string[]): string | undefined => setting(flag, ...names)?.value

  const port = integer(setting('port', 'PORT'), 0, 65_535) ?? 3001
  const redis = text('redis', 'REDIS_URL')
  const certFile = text('cert', 'TLS_CERT')
  const keyFile = text('key', 'TLS_KEY')
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('--cert and --key go together')
  const prefix = text('prefix', 'NETPLAY_PREFIX') ?? ''
  const publicUrl = text('public-url', 'PUBLIC_URL')
  const nodeId = text('node-id', 'NODE_ID')
  const logLevelSetting = setting('log-level', 'LOG_LEVEL')
  const logLevel = logLevelSetting?.value.trim().toLowerCase() ?? 'info'
  if (logLevelSetting !== undefined && !LOG_LEVELS.includes(logLevel)) {
    throw new Error(`invalid ${logLevelSetting.from}: "${logLevelSetting.value}" (${LOG_LEVELS.join(', ')})`)
  }
  const capacityRooms = integer(setting('capacity-rooms', 'NETPLAY_CAPACITY_ROOMS'))
  const capacitySeats = integer(setting('capacity-seats', 'NETPLAY_CAPACITY_SEATS'))
  const heartbeatMs = integer(setting('heartbeat-ms', 'NETPLAY_HEARTBEAT_MS'))
  const leaseMs = integer(setting('lease-ms', 'NETPLAY_LEASE_MS'))
  const drainTimeoutMs = integer(setting('drain-timeout-ms', 'NETPLAY_DRAIN_TIMEOUT_MS')) ?? 10_000
  const announcedIp = text('announced-ip', 'ANNOUNCED_IP')
  const listenIp = text('host', 'LISTEN_IP') ?? '0.0.0.0'
  const trustProxy = trustProxyFrom(setting('trust-proxy', 'TRUST_PROXY'))

  const auth = authFrom(setting, variable, values.secret ?? [], values.jwks ?? [], redis)
  const sfu = sfuFrom(setting, variable, { listenIp, announcedIp, publicUrl })

  const allowTakeover = boolean(setting(null, 'SFU_ALLOW_AUTH_TAKEOVER'))
  const takeoverWindowMs = seconds(setting(null, 'SFU_AUTH_TAKEOVER_GRACE_SECONDS'), 0, 86_400)
  const registryTtlMs = seconds(setting(null, 'ROOM_REGISTRY_TTL_SECONDS'), 1, 3600)

  return {
    port,
    drainTimeoutMs,
    host: listenIp,
    announcedIp,
    demo: values['no-demo'] !== true,
    logLevel,
    tls: certFile !== undefined && keyFile !== undefined ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : null,
    trustProxy,
    netplay: {
      prefix,
      auth,
      ...(redis !== undefined ? { redis } : {}),
      signaling: { socketIo: { corsOrigins: list(text('cors', 'CORS_ORIGINS') ?? '*'), trustProxy } },
      rooms: {
        ...(publicUrl !== undefined ? { publicUrl } : {}),
        ...(nodeId !== undefined ? { nodeId } : {}),
        ...(allowTakeover !== undefined ? { allowTakeover } : {}),
        ...(takeoverWindowMs !== undefined ? { takeoverWindowMs } : {}),
        ...(registryTtlMs !== undefined ? { registryTtlMs } : {})
      },
      ...(redis !== undefined && publicUrl !== undefined
        ? {
            cluster: {
              publicUrl,
              ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
              ...(leaseMs !== undefined ? { leaseMs } : {}),
              capacity: { ...(capacityRooms !== undefined ? { rooms: capacityRooms } : {}), ...(capacitySeats !== undefined ? { seats: capacitySeats } : {}) }
            }
          }
        : {}),
      ...(sfu !== undefined ? { sfu } : {}),
      ops: { drainTimeoutMs }
    }
  }
}

type SettingOf = (flag: keyof typeof FLAGS | null, ...names: string[]) => Setting | undefined

/** true/false, or proxy addresses and CIDRs (comma-separated), as Fastify's trustProxy. */
function trustProxyFrom (setting: Setting | undefined): TrustProxy {
  return setting === undefined ? false : parseTrustProxy(setting.value, setting.from)
}

/**
 * Auth is on as soon as there is a way to verify tokens: HS256 secrets,
 * RomM's verify endpoint or JWKS issuers. An issuer named without one of
 * them is a mistake, never a reason to run without auth.
 */
function authFrom (setting: SettingOf, variable: (name: string) => string | undefined, secretFlags: string[], jwksFlags: string[], redis: string | undefined): NetplayOptions['auth'] {
  const secrets = [...secretFlags, ...list(variable('ROMM_AUTH_SECRET_KEY')), ...list(variable('NETPLAY_AUTH_SECRETS'))]
  const issuerSetting = setting('issuer', 'SFU_AUTH_ISSUER')
  const issuer = issuerSetting?.value ?? 'romm:sfu'

  const rommUrl = setting('romm-url', 'ROMM_API_BASE_URL', 'ROMM_BASE_URL', 'ROMM_URL')
  const rommSecret = setting('romm-secret', 'ROMM_SFU_INTERNAL_SECRET')?.value
  if (rommUrl !== undefined && !/^https?:\/\//.test(rommUrl.value)) throw new Error(`invalid ${rommUrl.from}: "${rommUrl.value}" (an http:// or https:// URL)`)
  if (rommUrl !== undefined && rommSecret === undefined) {
    throw new Error(`${rommUrl.from} needs --romm-secret or ROMM_SFU_INTERNAL_SECRET (the x-romm-sfu-secret RomM expects)`)
  }

  const jwksFrom = jwksFlags.length > 0 ? '--jwks' : 'NETPLAY_JWKS_ISSUERS'
  const jwksEntries = jwksFlags.length > 0 ? jwksFlags.flatMap(list) : list(variable('NETPLAY_JWKS_ISSUERS'))
  const audience = setting('jwks-audience', 'NETPLAY_JWKS_AUDIENCE')
  const issuers = jwksEntries.map((entry) => ({ ...jwksIssuer(entry, jwksFrom), ...(audience !== undefined ? { audience: list(audience.value) } : {}) }))
  if (audience !== undefined && issuers.length === 0) throw new Error(`${audience.from} applies to --jwks issuers, and none is given (--jwks or NETPLAY_JWKS_ISSUERS)`)
  const seen = new Set<string>()
  for (const { iss } of issuers) {
    if (seen.has(iss)) throw new Error(`${jwksFrom}: issuer "${iss}" given twice`)
    seen.add(iss)
  }

  const hs256OrRomm = secrets.length > 0 || rommUrl !== undefined
  if (hs256OrRomm && seen.has(issuer)) {
    throw new Error(`issuer "${issuer}" is both the HS256/RomM issuer (--issuer, SFU_AUTH_ISSUER, default romm:sfu) and a ${jwksFrom} issuer: an issuer has one key source`)
  }
  if (issuerSetting !== undefined && !hs256OrRomm && !seen.has(issuer)) {
    throw new Error(`${issuerSetting.from} "${issuer}" has no way to verify its tokens: give its HS256 secret (--secret, ROMM_AUTH_SECRET_KEY or NETPLAY_AUTH_SECRETS) or RomM's URL (--romm-url, ROMM_API_BASE_URL), or, if it publishes its keys, use --jwks ${issuer}=<JWKS URL>`)
  }
  const clockSkewMs = seconds(setting(null, 'SFU_AUTH_CLOCK_SKEW_SECONDS'), 0, 300)
  const jtiKeyPrefix = setting(null, 'SFU_AUTH_JTI_KEY_PREFIX')?.value
  if (!hs256OrRomm && issuers.length === 0) return false

  return {
    secrets,
    ...(secrets.length > 0 ? { hs256Issuers: [issuer] } : {}),
    ...(rommUrl !== undefined ? { romm: { url: rommUrl.value, secret: rommSecret ?? '', issuer } } : {}),
    ...(issuers.length > 0 ? { issuers } : {}),
    ...(clockSkewMs !== undefined ? { clockSkewMs } : {}),
    ...(jtiKeyPrefix !== undefined ? { jtiKeyPrefix } : {}),
    ...(redis !== undefined ? { store: 'redis' as const } : {})
  }
}

/**
 * The SFU with romm-sfu-server's port layout: one WebRtcServer per worker
 * on port + worker index for UDP and TCP (20000 and one worker by default,
 * the ports its docker-compose publishes), or a port per transport.
 */
function sfuFrom (setting: SettingOf, variable: (name: string) => string | undefined, where: { listenIp: string, announcedIp: string | undefined, publicUrl: string | undefined }): Sfu | undefined {
  const mode = setting('sfu', 'NETPLAY_SFU')?.value ?? 'auto'
  if (!['auto', 'on', 'off'].includes(mode)) throw new Error(`invalid --sfu: ${mode} (auto, on or off)`)
  const workers = integer(setting('sfu-workers', 'MEDIASOUP_WORKERS', 'SFU_WORKER_COUNT'), 1, 256) ?? 1

  const enableTcp = boolean(setting(null, 'ENABLE_WEBRTC_TCP'))
  let port = integer(setting('sfu-port'), 0, 65_535)
  if (port === undefined) {
    const base = integer(setting(null, 'WEBRTC_PORT'), 0, 65_535) ?? WEBRTC_PORT
    const udpSetting = setting(null, 'WEBRTC_UDP_PORT')
    const tcpSetting = setting(null, 'WEBRTC_TCP_PORT')
    const udp = integer(udpSetting, 0, 65_535) ?? base
    const tcp = integer(tcpSetting, 0, 65_535) ?? base
    if (enableTcp !== false && udp !== tcp) {
      throw new Error(`${udpSetting?.from ?? 'the UDP port'} (${udp}) and ${tcpSetting?.from ?? 'the TCP port'} (${tcp}) differ: fastify-netplay serves UDP and TCP on one port per worker; set WEBRTC_PORT (or --sfu-port) alone, or ENABLE_WEBRTC_TCP=0 for UDP only`)
    }
    port = udp
  }

  // The flags choose a range themselves; romm-sfu-server's variables only with USE_WEBRTC_SERVER=0.
  const minFlag = setting('rtc-min-port')
  const maxFlag = setting('rtc-max-port')
  if ((minFlag === undefined) !== (maxFlag === undefined)) throw new Error('--rtc-min-port and --rtc-max-port go together')
  const perTransport = minFlag !== undefined || boolean(setting(null, 'USE_WEBRTC_SERVER')) === false
  const minSetting = minFlag ?? (perTransport ? setting(null, 'RTC_MIN_PORT') : undefined)
  const maxSetting = maxFlag ?? (perTransport ? setting(null, 'RTC_MAX_PORT') : undefined)
  const portRange = perTransport
    ? { min: integer(minSetting, 1, 65_535) ?? RTC_PORT_RANGE.min, max: integer(maxSetting, 1, 65_535) ?? RTC_PORT_RANGE.max }
    : undefined
  if (portRange !== undefined && portRange.min > portRange.max) {
    throw new Error(`${minSetting?.from ?? 'the lowest RTC port'} (${portRange.min}) is above ${maxSetting?.from ?? 'the highest RTC port'} (${portRange.max})`)
  }

  const stunSetting = setting('stun', 'STUN_URLS', 'SFU_STUN_SERVERS', 'STUN_SERVERS')
  const stun = stunSetting === undefined ? [] : tokens(stunSetting.value).map((url) => iceUrl(url, 'stun', stunSetting.from))
  const turnJson = setting(null, 'SFU_TURN_SERVERS')
  const turn = [...(turnJson === undefined ? [] : turnServersJson(turnJson)), ...turnServersNumbered(variable)]
  const turnUrls = list(setting('turn', 'TURN_URLS')?.value)
  const turnSecrets = list(setting('turn-secret', 'TURN_SECRET')?.value)
  if (turnUrls.length > 0 && turnSecrets.length === 0) throw new Error('--turn needs --turn-secret')

  if (mode === 'off') return undefined
  return {
    required: mode === 'on',
    listenIp: where.listenIp,
    ...(where.announcedIp !== undefined ? { announcedAddress: where.announcedIp } : {}),
    workers,
    port,
    ...(enableTcp !== undefined ? { enableTcp } : {}),
    ...(portRange !== undefined ? { portRange } : {}),
    ...(where.publicUrl !== undefined ? { publicUrl: where.publicUrl } : {}),
    ice: {
      stun,
      ...(turn.length > 0 ? { turn } : {}),
      ...(turnUrls.length > 0 ? { turnRest: { urls: turnUrls, secret: turnSecrets } } : {})
    }
  }
}
