// A real netplay server for the room and signaling tests: a Fastify app with
// the aggregate plugin listening on 127.0.0.1 port 0, plus the real clients
// opened against it. One teardown closes the clients first, then the app, so
// a client never sits reconnecting to a server that is gone.
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import netplay, { type NetplayOptions } from '../../index.ts'

interface Teardown { teardown (fn: () => unknown): void }

/** HS256 secret for the auth-on tests (32+ chars, as the auth plugin demands). */
export const NETPLAY_SECRET = 'rooms-signaling-test-secret-0123456789abcdef'

/** Auth options that trust and mint RomM-style HS256 tokens. */
export const TOKEN_AUTH = { secrets: [NETPLAY_SECRET], mint: { issuer: 'romm:sfu' } }

export interface Closable { close (): unknown }

export interface NetplayServer {
  app: FastifyInstance
  /** `http://127.0.0.1:<port>` */
  url: string
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string
  /** Registers a client so teardown closes it before the app. */
  track<C extends Closable> (client: C): C
  /** A read token for `sub` (auth on only). */
  token (sub: string, name?: string): Promise<string>
  /** GET `path` (relative to the server) and parse the JSON body. */
  get (path: string, headers?: Record<string, string>): Promise<{ status: number, body: unknown }>
}

export type NetplayServerOptions = Partial<NetplayOptions> & {
  /** Runs after the plugins are registered, before the server listens (e.g. to add the demo routes). */
  beforeListen?: (app: FastifyInstance) => Promise<void>
  /** The server's log, every level, written here without redaction (to check what a log line may never hold). */
  logStream?: { write (line: string): void }
}

/**
 * Starts the aggregate plugin with `auth: false` unless the options say
 * otherwise. The HTTP limit is generous unless `rateLimit.limits.http` says
 * otherwise, so a test polling /list never trips it; signaling limits stay
 * at their defaults unless a test overrides them.
 */
export async function startNetplay (t: Teardown, options: NetplayServerOptions = {}): Promise<NetplayServer> {
  // NETPLAY_TEST_LOG=warn (or any level) shows the server's log while debugging a test.
  const app = Fastify({
    logger: options.logStream !== undefined
      ? { level: 'trace', stream: options.logStream }
      : process.env.NETPLAY_TEST_LOG !== undefined ? { level: process.env.NETPLAY_TEST_LOG } : false
  })
  const clients = new Set<Closable>()
  t.teardown(async () => {
    for (const client of clients) client.close()
    clients.clear()
    await app.close()
  })
  const { beforeListen, logStream: _logStream, ...netplayOptions } = options
  await app.register(netplay, {
    auth: false,
    ...netplayOptions,
    rateLimit: {
      ...options.rateLimit,
      limits: { http: { capacity: 10_000, refillPerSecond: 10_000 }, ...options.rateLimit?.limits }
    }
  })
  if (beforeListen !== undefined) await beforeListen(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address')
  const url = `http://127.0.0.1:${address.port}`

  return {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${address.port}`,
    track (client) {
      clients.add(client)
      return client
    },
    async token (sub, name) {
      const minted = await app.netplay.auth.mint({ sub, kind: 'read', ...(name !== undefined ? { name } : {}) })
      return minted.token
    },
    async get (path, headers = {}) {
      const response = await fetch(url + path, { headers })
      const text = await response.text()
      let body: unknown = text
      try { body = JSON.parse(text) } catch {}
      return { status: response.status, body }
    }
  }
}

/** Everything observable about the rooms of a server, for before/after comparisons. */
export async function roomsSnapshot (server: NetplayServer, listHeaders: Record<string, string> = {}): Promise<{ rooms: unknown[], list: unknown }> {
  const rooms = [...server.app.netplay.rooms.all()].map((room) => ({
    key: room.key,
    owner: room.ownerUserid,
    phase: room.roomPhase,
    metadata: { ...room.metadata },
    chat: room.chat.length,
    members: [...room.members.values()].map((m) => ({ userid: m.userid, connectionId: m.connectionId, slot: m.slot, ready: m.ready, extra: { ...m.extra } }))
  }))
  const list = await server.get('/list', listHeaders)
  return { rooms, list: list.body }
}

/** Handles by kind (`TCPSocketWrap`, `Timeout`, ...). */
export function activeHandles (): Map<string, number> {
  const counts = new Map<string, number>()
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1)
  return counts
}

/** Handles that appeared since `before`, waiting a little for sockets the peers are still closing. */
export async function handlesOpenedSince (before: Map<string, number>, waitMs = 1000): Promise<Record<string, number>> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const extra: Record<string, number> = {}
    for (const [name, count] of activeHandles()) if (count > (before.get(name) ?? 0)) extra[name] = count - (before.get(name) ?? 0)
    if (Object.keys(extra).length === 0 || Date.now() > deadline) return extra
    await sleep(20)
  }
}
