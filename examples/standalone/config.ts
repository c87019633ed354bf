// Standalone server configuration from flags and environment variables.
// Where romm-sfu-server has a variable for the same thing, the same name is
// accepted, so a RomM admin can swap servers without renaming settings.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { NetplayOptions } from '../../index.ts'

export const HELP = `fastify-netplay: netplay server for EmulatorJS (rooms, signaling, auth, limits)

Usage: fastify-netplay [options]

Options (environment variable in brackets):
  --port <n>            listen port, default 3001                  [PORT]
  --host <ip>           listen address, default 0.0.0.0            [LISTEN_IP]
  --announced-ip <ip>   address clients reach (for the SFU)        [ANNOUNCED_IP]
  --prefix <path>       mount netplay under a path, e.g. /netplay  [NETPLAY_PREFIX]
  --secret <s>          HS256 secret; turns auth on                [ROMM_AUTH_SECRET_KEY, NETPLAY_AUTH_SECRETS (comma-separated)]
  --issuer <iss>        accepted iss of HS256 tokens, default romm:sfu [SFU_AUTH_ISSUER]
  --romm-url <url>      verify tokens remotely against RomM        [ROMM_API_BASE_URL]
  --romm-secret <s>     x-romm-sfu-secret for --romm-url            [ROMM_SFU_INTERNAL_SECRET]
  --redis <url>         shared Redis (one-time tokens, limits, room registry) [REDIS_URL]
  --cert <file>         TLS certificate (PEM); with --key serves HTTPS + HSTS [TLS_CERT]
  --key <file>          TLS private key (PEM)                       [TLS_KEY]
  --cors <origins>      comma-separated allowed origins, default *  [CORS_ORIGINS]
  --public-url <url>    URL clients use to reach this node          [PUBLIC_URL]
  --node-id <id>        node id for /resolve and the registry       [NODE_ID]
  --log-level <level>   info, warn, debug...                        [LOG_LEVEL]
  SFU (mediasoup; optional dependency):
  --sfu <mode>          auto (on when mediasoup and its worker run), on (fail
                        without them) or off; default auto            [NETPLAY_SFU]
  --sfu-workers <n>     mediasoup workers, default one per core        [MEDIASOUP_WORKERS]
  --sfu-port <n>        first WebRtcServer port (worker i: port + i), default 40000 [WEBRTC_PORT]
  --rtc-min-port <n>    with --rtc-max-port: a port per transport instead [RTC_MIN_PORT]
  --rtc-max-port <n>                                                   [RTC_MAX_PORT]
  --stun <urls>         comma-separated STUN URLs for clients           [STUN_URLS]
  --turn <urls>         comma-separated TURN URLs (REST credentials)    [TURN_URLS]
  --turn-secret <s>     TURN REST shared secret(s), comma-separated     [TURN_SECRET]
  --no-demo             do not serve the demo page at <prefix>/demo
  Several nodes (on when --redis and --public-url are both set):
  --capacity-rooms <n>  rooms before new ones go to another node, default 1000 [NETPLAY_CAPACITY_ROOMS]
  --capacity-seats <n>  seats before new rooms go elsewhere, default 4000     [NETPLAY_CAPACITY_SEATS]
  --heartbeat-ms <n>    registry heartbeat, default 2000                      [NETPLAY_HEARTBEAT_MS]
  --lease-ms <n>        a silent node is gone after this, default 6000        [NETPLAY_LEASE_MS]
  --drain-timeout-ms <n> longest graceful shutdown, default 10000            [NETPLAY_DRAIN_TIMEOUT_MS]
  --help                show this help

Without a secret, issuer or RomM URL, auth is OFF (anonymous upstream
EmulatorJS clients work out of the box) and a warning is logged.`

export interface StandaloneConfig {
  port: number
  drainTimeoutMs: number
  host: string
  announcedIp: string | undefined
  logLevel: string
  /** Serve the demo page at <prefix>/demo. */
  demo: boolean
  tls: { cert: Buffer, key: Buffer } | null
  netplay: NetplayOptions
}

function list (value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
}

export function configFrom (argv: string[], env: NodeJS.ProcessEnv): StandaloneConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'announced-ip': { type: 'string' },
      prefix: { type: 'string' },
      secret: { type: 'string', multiple: true },
      issuer: { type: 'string' },
      'romm-url': { type: 'string' },
      'romm-secret': { type: 'string' },
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
    }
  })
  if (values.help === true) return 'help'

  const port = Number.parseInt(values.port ?? env.PORT ?? '3001', 10)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${values.port ?? env.PORT}`)
  const secrets = [...(values.secret ?? []), ...list(env.ROMM_AUTH_SECRET_KEY), ...list(env.NETPLAY_AUTH_SECRETS)]
  const issuer = values.issuer ?? env.SFU_AUTH_ISSUER ?? 'romm:sfu'
  const rommUrl = values['romm-url'] ?? env.ROMM_API_BASE_URL
  const rommSecret = values['romm-secret'] ?? env.ROMM_SFU_INTERNAL_SECRET
  const redis = values.redis ?? env.REDIS_URL
  const certFile = values.cert ?? env.TLS_CERT
  const keyFile = values.key ?? env.TLS_KEY
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error('--cert and --key go together')
  const prefix = values.prefix ?? env.NETPLAY_PREFIX ?? ''
  const publicUrl = values['public-url'] ?? env.PUBLIC_URL
  const nodeId = values['node-id'] ?? env.NODE_ID
  const int = (flag: string | undefined, variable: string | undefined): number | undefined => {
    const raw = flag ?? variable
    if (raw === undefined) return undefined
    const n = Number.parseInt(raw, 10)
    if (!Number.isInteger(n) || n < 0) throw new Error(`invalid number: ${raw}`)
    return n
  }
  const capacityRooms = int(values['capacity-rooms'], env.NETPLAY_CAPACITY_ROOMS)
  const capacitySeats = int(values['capacity-seats'], env.NETPLAY_CAPACITY_SEATS)
  const heartbeatMs = int(values['heartbeat-ms'], env.NETPLAY_HEARTBEAT_MS)
  const leaseMs = int(values['lease-ms'], env.NETPLAY_LEASE_MS)
  const drainTimeoutMs = int(values['drain-timeout-ms'], env.NETPLAY_DRAIN_TIMEOUT_MS) ?? 10_000
  const sfuMode = values.sfu ?? env.NETPLAY_SFU ?? 'auto'
  if (!['auto', 'on', 'off'].includes(sfuMode)) throw new Error(`invalid --sfu: ${sfuMode} (auto, on or off)`)
  const sfuWorkers = int(values['sfu-workers'], env.MEDIASOUP_WORKERS)
  const sfuPort = int(values['sfu-port'], env.WEBRTC_PORT)
  const rtcMin = int(values['rtc-min-port'], env.RTC_MIN_PORT)
  const rtcMax = int(values['rtc-max-port'], env.RTC_MAX_PORT)
  if ((rtcMin === undefined) !== (rtcMax === undefined)) throw new Error('--rtc-min-port and --rtc-max-port go together')
  const announcedIp = values['announced-ip'] ?? env.ANNOUNCED_IP
  const listenIp = values.host ?? env.LISTEN_IP ?? '0.0.0.0'
  const turnUrls = list(values.turn ?? env.TURN_URLS)
  const turnSecrets = list(values['turn-secret'] ?? env.TURN_SECRET)
  if (turnUrls.length > 0 && turnSecrets.length === 0) throw new Error('--turn needs --turn-secret')
  const sfu: NetplayOptions['sfu'] = sfuMode === 'off'
    ? undefined
    : {
        required: sfuMode === 'on',
        listenIp,
        ...(announcedIp !== undefined ? { announcedAddress: announcedIp } : {}),
        ...(sfuWorkers !== undefined ? { workers: sfuWorkers } : {}),
        ...(sfuPort !== undefined ? { port: sfuPort } : {}),
        ...(rtcMin !== undefined && rtcMax !== undefined ? { portRange: { min: rtcMin, max: rtcMax } } : {}),
        ...(publicUrl !== undefined ? { publicUrl } : {}),
        ice: {
          stun: list(values.stun ?? env.STUN_URLS),
          ...(turnUrls.length > 0 ? { turnRest: { urls: turnUrls, secret: turnSecrets } } : {})
        }
      }
  const auth: NetplayOptions['auth'] = secrets.length === 0 && rommUrl === undefined
    ? false
    : {
        secrets,
        hs256Issuers: [issuer],
        ...(rommUrl !== undefined ? { romm: { url: rommUrl, secret: rommSecret ?? '', issuer } } : {}),
        ...(redis !== undefined ? { store: 'redis' as const } : {})
      }

  return {
    port,
    drainTimeoutMs,
    host: listenIp,
    announcedIp,
    demo: values['no-demo'] !== true,
    logLevel: values['log-level'] ?? env.LOG_LEVEL ?? 'info',
    tls: certFile !== undefined && keyFile !== undefined ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : null,
    netplay: {
      prefix,
      auth,
      ...(redis !== undefined ? { redis } : {}),
      signaling: { socketIo: { corsOrigins: list(values.cors ?? env.CORS_ORIGINS ?? '*') } },
      rooms: { ...(publicUrl !== undefined ? { publicUrl } : {}), ...(nodeId !== undefined ? { nodeId } : {}) },
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
