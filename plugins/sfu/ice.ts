// What clients need to reach the SFU (and each other, in P2P rooms): STUN
// servers, TURN servers with static credentials, and TURN REST credentials
// minted per identity. Served by GET /ice and the `sfu-get-ice-servers`
// event; never logged.
import { randomUUID } from 'node:crypto'
import type { Identity } from '../../lib/netplay.ts'
import type { SfuOptions } from './schema.ts'
import { turnCredentials } from './turn.ts'

export interface IceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

export interface IceInfo {
  iceServers: IceServer[]
  nodeId: string
  url: string | null
  announcedIp: string | null
}

export function iceServersFor (ice: SfuOptions['ice'], identity: Identity | null, now = Date.now()): IceServer[] {
  const servers: IceServer[] = []
  if (ice.stun.length > 0) servers.push({ urls: [...ice.stun] })
  for (const turn of ice.turn) servers.push({ urls: turn.urls, username: turn.username, credential: turn.credential })
  if (ice.turnRest !== undefined) {
    // Without auth there is no identity to bind: a random one still gives
    // the TURN server an expiring, per-client credential.
    const userid = identity?.userid ?? `anonymous-${randomUUID()}`
    const { username, credential } = turnCredentials({ secret: ice.turnRest.secret, userid, ttlMs: ice.turnRest.ttlMs, now })
    servers.push({ urls: [...ice.turnRest.urls], username, credential })
  }
  return servers
}
