// The configuration for running fastify-netplay next to RomM:
// - RomM's HS256 tokens (ROMM_AUTH_SECRET_KEY, iss "romm:sfu");
// - RomM's Redis for one-time write tokens (RomM writes sfu:auth:jti:<jti>)
//   and the room registry RomM reads (sfu:room:<name>);
// - the cookies RomM sets (romm_sfu_token), and `?token=` on /list;
// - userids compatible with romm-sfu-server (sha256 of sub);
// - the SFU EmulatorJS-SFU clients stream through (on when mediasoup and its
//   worker are installed; NETPLAY_SFU=off leaves it out), with TURN REST
//   credentials when TURN_URLS and TURN_SECRET are set;
// - behind RomM's nginx, TRUST_PROXY (true, or the proxy's addresses/CIDRs)
//   so players are rate-limited and logged by their own address.
import { parseTrustProxy, type TrustProxy } from '../../lib/client-address.ts'
import type { NetplayOptions } from '../../index.ts'

/** Fastify's trustProxy for the sidecar, from TRUST_PROXY (off when unset). */
export function rommSidecarTrustProxy (env: NodeJS.ProcessEnv = process.env): TrustProxy {
  const value = env.TRUST_PROXY
  return value === undefined || value === '' ? false : parseTrustProxy(value, 'TRUST_PROXY')
}

export function rommSidecarOptions (env: NodeJS.ProcessEnv = process.env): NetplayOptions {
  const secret = env.ROMM_AUTH_SECRET_KEY
  if (secret === undefined || secret === '') throw new Error('ROMM_AUTH_SECRET_KEY is required (the same value RomM uses)')
  const redis = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const list = (value: string | undefined): string[] => (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
  const turnUrls = list(env.TURN_URLS)
  const turnSecrets = list(env.TURN_SECRET)
  const sfu: NetplayOptions['sfu'] = env.NETPLAY_SFU === 'off'
    ? undefined
    : {
        required: env.NETPLAY_SFU === 'on',
        ...(env.ANNOUNCED_IP !== undefined ? { announcedAddress: env.ANNOUNCED_IP } : {}),
        ...(env.WEBRTC_PORT !== undefined ? { port: Number(env.WEBRTC_PORT) } : {}),
        ice: {
          stun: list(env.STUN_URLS),
          ...(turnUrls.length > 0 && turnSecrets.length > 0 ? { turnRest: { urls: turnUrls, secret: turnSecrets } } : {})
        }
      }
  return {
    prefix: env.NETPLAY_PREFIX ?? '/netplay',
    redis,
    auth: {
      secrets: [secret],
      hs256Issuers: ['romm:sfu'],
      store: 'redis',
      jtiKeyPrefix: 'sfu:auth:jti:',
      tokenSources: { cookies: ['romm_sfu_token', 'sfu_token'], query: true },
      userid: 'romm-sfu'
    },
    signaling: { socketIo: { path: env.NETPLAY_SOCKET_PATH ?? '/netplay/socket.io', trustProxy: rommSidecarTrustProxy(env) } },
    rooms: { store: 'redis', registryKeyPrefix: 'sfu:room:', ...(env.PUBLIC_URL !== undefined ? { publicUrl: env.PUBLIC_URL } : {}) },
    ...(sfu !== undefined ? { sfu } : {})
  }
}
