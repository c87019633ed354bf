// Server child of bench/rooms-load.bench.ts. Runs ONE server per process so
// its RSS and CPU are measured alone, and answers the parent over IPC.
//
//   node bench/lib/rooms-load-server.ts <baseline|netplay> [--auth]
//        [--relay-capacity N --relay-refill N]
//
// baseline: a minimal Socket.IO relay (node:http + socket.io, family A
//   events open-room / join-room / data-message, a Map of rooms, no auth,
//   no validation, no limits), shaped like the official EmulatorJS-Netplay
//   server.
// netplay: Fastify + this package (Socket.IO and plain WebSocket transports,
//   auth on or off, the rate-limit plugin with its default per-connection
//   `signaling` and `relay` limits unless overridden).
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { createServer, type Server as HttpServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'
import type { AddressInfo } from 'node:net'
import { Server, type Socket } from 'socket.io'
import { WebSocket, WebSocketServer } from 'ws'
import type { FastifyInstance } from 'fastify'

export const BENCH_SECRET = 'rooms-load-bench-secret-0123456789abcdef'

export type ServerKind = 'baseline' | 'bare-ws' | 'sio-floor' | 'netplay'

/** Parent -> child request. */
export interface ServerRequest { id: number, op: ServerOp, count?: number, name?: string }
/** rss: two full GCs, then process.memoryUsage(); rss-raw: the same reading without the GCs (for watching RSS settle). */
export type ServerOp = 'rss' | 'rss-raw' | 'mint' | 'stats' | 'mark' | 'heap' | 'exit'
/** Child -> parent: `{ ready, port, limits }` once, then one reply per request. */
export interface ServerReply { id: number, ok: boolean, data?: unknown, error?: string }

export interface RssSample {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
  /** V8 young generation committed size: grows under allocation bursts, not per connection. */
  newSpace: number
  /** Resident (physical) size of the V8 heap, all spaces, and of its young generation alone. */
  heapResident: number
  newSpaceResident: number
}
export interface ServerStats {
  /** process.cpuUsage() (µs) and a monotonic timestamp (ms), for deltas. */
  cpu: { user: number, system: number }
  at: number
  elu: { idle: number, active: number }
  connections: number
  rooms: number
  drops: Record<string, number>
  strikes: Record<string, number>
}

interface Ctx {
  rooms: () => number
  connections: () => number
  drops: () => { drops: Record<string, number>, strikes: Record<string, number> }
  mint?: (count: number) => Promise<string[]>
  close: () => Promise<void>
}

// ---------- baseline: minimal Socket.IO relay ----------

interface BaselineRoom { owner: string, maxPlayers: number, players: Record<string, Record<string, unknown>> }

function startBaseline (): Promise<{ port: number, ctx: Ctx }> {
  const http = createServer()
  const io = new Server(http, { serveClient: false, transports: ['polling', 'websocket'], cors: { origin: '*' } })
  const rooms = new Map<string, BaselineRoom>()

  io.on('connection', (socket: Socket) => {
    let sessionId: string | null = null
    let userid: string | null = null
    socket.on('open-room', (data: { extra: Record<string, unknown>, maxPlayers?: number }, ack?: (err: unknown) => void) => {
      const extra = data.extra
      sessionId = String(extra.sessionid)
      userid = String(extra.userid)
      rooms.set(sessionId, { owner: socket.id, maxPlayers: Number(data.maxPlayers ?? 4), players: { [userid]: { ...extra, socketId: socket.id } } })
      socket.join(sessionId)
      io.to(sessionId).emit('users-updated', rooms.get(sessionId)?.players)
      ack?.(null)
    })
    socket.on('join-room', (data: { extra: Record<string, unknown> }, ack?: (err: unknown, users?: unknown) => void) => {
      const extra = data.extra
      const room = rooms.get(String(extra.sessionid))
      if (room === undefined) { ack?.('Room not found'); return }
      if (Object.keys(room.players).length >= room.maxPlayers) { ack?.('Room full'); return }
      sessionId = String(extra.sessionid)
      userid = String(extra.userid)
      room.players[userid] = { ...extra, socketId: socket.id }
      socket.join(sessionId)
      io.to(sessionId).emit('users-updated', room.players)
      ack?.(null, room.players)
    })
    socket.on('data-message', (data: unknown) => {
      if (sessionId !== null) socket.to(sessionId).emit('data-message', data)
    })
    socket.on('disconnect', () => {
      if (sessionId === null || userid === null) return
      const room = rooms.get(sessionId)
      if (room === undefined) return
      delete room.players[userid]
      if (Object.keys(room.players).length === 0) rooms.delete(sessionId)
      else io.to(sessionId).emit('users-updated', room.players)
    })
  })

  return listenOnLoopback(http, {
    rooms: () => rooms.size,
    connections: () => io.engine.clientsCount,
    close: async () => { io.disconnectSockets(true); await io.close() }
  })
}

/** Listens on a free loopback port: the port and the controls of a server without limits. */
function listenOnLoopback (http: HttpServer, ctx: Omit<Ctx, 'drops'>): Promise<{ port: number, ctx: Ctx }> {
  return new Promise((resolve) => {
    http.listen(0, '127.0.0.1', () => {
      resolve({ port: (http.address() as AddressInfo).port, ctx: { ...ctx, drops: () => ({ drops: {}, strikes: {} }) } })
    })
  })
}

// ---------- sio-floor: the Socket.IO server alone (a reference, not a target) ----------

// The real `socket.io` server with default options and no event handlers:
// connections can be opened (and stay open, answering pings) but nothing
// else. What an idle Socket.IO connection costs before any application code
// (bench/heap-per-connection.ts sio-floor), i.e. the floor of every
// Socket.IO server's figure, ours and the baseline's alike.
function startSocketIoFloor (): Promise<{ port: number, ctx: Ctx }> {
  const http = createServer()
  const io = new Server(http, { serveClient: false })
  return listenOnLoopback(http, {
    rooms: () => 0,
    connections: () => io.engine.clientsCount,
    close: async () => { io.disconnectSockets(true); await io.close() }
  })
}

// ---------- bare-ws: minimal plain WebSocket relay (a reference, not a target) ----------

// Our /ws protocol ({ id, event, data } in, { id, ok, data } and
// { event, data } out) on a bare `ws` server, written as naively as the
// baseline: no auth, validation, limits or write coalescing. It shows what
// the transport itself costs on this machine, i.e. how close to that floor
// our /ws path runs.
interface BareRoom { maxPlayers: number, players: Record<string, Record<string, unknown>>, sockets: Set<WebSocket> }

function startBareWs (): Promise<{ port: number, ctx: Ctx }> {
  const http = createServer()
  const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false })
  const rooms = new Map<string, BareRoom>()
  let nextId = 0
  const broadcast = (room: BareRoom, frame: string, except?: WebSocket): void => {
    for (const peer of room.sockets) if (peer !== except && peer.readyState === WebSocket.OPEN) peer.send(frame)
  }
  wss.on('connection', (socket: WebSocket) => {
    const socketId = `s${nextId++}`
    let room: BareRoom | undefined
    let sessionId: string | null = null
    let userid: string | null = null
    const reply = (id: unknown, data: unknown): void => { socket.send(JSON.stringify({ id, ok: true, data })) }
    const fail = (id: unknown, message: string): void => { socket.send(JSON.stringify({ id, ok: false, error: { code: 'ERR', message } })) }
    socket.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString()) as { id?: unknown, event: string, data: { extra: Record<string, unknown>, maxPlayers?: number } }
      if (frame.event === 'data-message') {
        if (room !== undefined) broadcast(room, JSON.stringify({ event: 'data-message', data: frame.data }), socket)
        return
      }
      if (frame.event !== 'open-room' && frame.event !== 'join-room') {
        if (frame.id !== undefined) reply(frame.id, null)
        return
      }
      const extra = frame.data.extra
      if (frame.event === 'open-room') {
        sessionId = String(extra.sessionid)
        userid = String(extra.userid)
        room = { maxPlayers: Number(frame.data.maxPlayers ?? 4), players: { [userid]: { ...extra, socketId } }, sockets: new Set([socket]) }
        rooms.set(sessionId, room)
        broadcast(room, JSON.stringify({ event: 'users-updated', data: room.players }))
        reply(frame.id, null)
      } else if (frame.event === 'join-room') {
        const target = rooms.get(String(extra.sessionid))
        if (target === undefined) { fail(frame.id, 'Room not found'); return }
        if (Object.keys(target.players).length >= target.maxPlayers) { fail(frame.id, 'Room full'); return }
        sessionId = String(extra.sessionid)
        userid = String(extra.userid)
        room = target
        room.players[userid] = { ...extra, socketId }
        room.sockets.add(socket)
        broadcast(room, JSON.stringify({ event: 'users-updated', data: room.players }))
        reply(frame.id, room.players)
      }
    })
    socket.on('close', () => {
      if (room === undefined || sessionId === null || userid === null) return
      delete room.players[userid]
      room.sockets.delete(socket)
      if (room.sockets.size === 0) rooms.delete(sessionId)
      else broadcast(room, JSON.stringify({ event: 'users-updated', data: room.players }))
    })
  })
  return listenOnLoopback(http, {
    rooms: () => rooms.size,
    connections: () => wss.clients.size,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  })
}

// ---------- ours ----------

async function startNetplay (auth: boolean, relay: { capacity: number, refillPerSecond: number }): Promise<{ port: number, ctx: Ctx, limits: Record<string, unknown> }> {
  // Loaded here, so the baseline process never loads Fastify or our code.
  const { default: Fastify } = await import('fastify')
  const { default: netplay } = await import('../../index.ts')
  const app: FastifyInstance = Fastify({ logger: { level: 'warn', stream: process.stderr } })
  await app.register(netplay, {
    auth: auth ? { secrets: [BENCH_SECRET], mint: { algorithm: 'HS256', readTtlMs: 3_600_000 } } : false,
    rateLimit: {
      limits: {
        // Every bench client comes from 127.0.0.1, so the per-IP `http`
        // limit (40 burst, 20/s), which also gates Socket.IO handshakes and
        // WebSocket upgrades, would refuse all but the first few dozen. Real
        // clients have their own IPs: lift it for the bench only.
        http: { capacity: 1_000_000, refillPerSecond: 1_000_000 },
        // data-message is charged to `data` (one token per started KiB).
        data: relay
      }
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const rl = app.netplay.rateLimit
  const limits: Record<string, unknown> = {}
  for (const name of ['http', 'signaling', 'data']) limits[name] = { capacity: rl.limit(name).capacity, refillPerSecond: rl.limit(name).refillPerSecond }
  limits.maxDrops = 'default'
  return {
    port: (app.server.address() as AddressInfo).port,
    limits,
    ctx: {
      rooms: () => [...app.netplay.rooms.all()].length,
      connections: () => app.netplay.signaling.connectionCount,
      drops: () => { const s = rl.stats(); return { drops: s.drops, strikes: s.strikes } },
      mint: async (count) => {
        const tokens: string[] = []
        for (let i = 0; i < count; i++) tokens.push((await app.netplay.auth.mint({ sub: `bench-user-${i}`, kind: 'read', name: `P${i}` })).token)
        return tokens
      },
      close: () => app.close()
    }
  }
}

// ---------- IPC ----------

function argValue (name: string, fallback: number): number {
  const at = process.argv.indexOf(name)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

/** Phase marks on the clock of V8 CPU profiles (monotonic, µs), written next to the profile on exit. */
const marks: Record<string, number> = {}
function writeMarks (): void {
  const at = process.argv.indexOf('--marks-file')
  const file = at === -1 ? undefined : process.argv[at + 1]
  if (file !== undefined) writeFileSync(file, JSON.stringify(marks))
}

/**
 * --alloc-profile <prefix>: V8's sampling heap profiler runs from each
 * `<phase>-start` mark to its `<phase>-end` mark and writes
 * `<prefix>-<phase>.heapprofile`. Objects already collected are kept in the
 * samples, so the profile shows where a phase allocates (what the young
 * generation collects), not only what it retains.
 */
class AllocationSampler {
  readonly #prefix: string
  #session: Session | undefined
  constructor (prefix: string) { this.#prefix = prefix }

  async mark (name: string): Promise<void> {
    if (name.endsWith('-start')) {
      this.#session ??= new Session()
      this.#session.connect()
      await this.#session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    } else if (name.endsWith('-end') && this.#session !== undefined) {
      const { profile } = await this.#session.post('HeapProfiler.stopSampling')
      this.#session.disconnect()
      writeFileSync(`${this.#prefix}-${name.slice(0, -'-end'.length)}.heapprofile`, JSON.stringify(profile))
    }
  }
}

async function main (): Promise<void> {
  const kind = process.argv[2] as ServerKind
  const auth = process.argv.includes('--auth')
  const relay = { capacity: argValue('--relay-capacity', 4000), refillPerSecond: argValue('--relay-refill', 2000) }
  const references: Partial<Record<ServerKind, () => Promise<{ port: number, ctx: Ctx }>>> = { baseline: startBaseline, 'bare-ws': startBareWs, 'sio-floor': startSocketIoFloor }
  const reference = references[kind]
  const started = reference !== undefined ? { ...(await reference()), limits: { none: true } } : await startNetplay(auth, relay)
  const { ctx } = started
  const send = (message: unknown): void => { process.send?.(message) }
  const gc = (globalThis as { gc?: () => void }).gc
  const allocPrefixAt = process.argv.indexOf('--alloc-profile')
  const sampler = allocPrefixAt === -1 ? undefined : new AllocationSampler(process.argv[allocPrefixAt + 1] ?? 'alloc')

  process.on('message', (message: ServerRequest) => {
    const reply = (data: unknown): void => send({ id: message.id, ok: true, data } satisfies ServerReply)
    const fail = (err: unknown): void => send({ id: message.id, ok: false, error: String(err) } satisfies ServerReply)
    switch (message.op) {
      case 'rss':
      case 'rss-raw': {
        // rss: two full GCs first, then read. RSS is what the OS charges us.
        // rss-raw: no GC, so that polling it leaves V8's own memory reducer
        // (which shrinks the young generation once the process is idle) alone.
        if (message.op === 'rss') {
          gc?.()
          gc?.()
        }
        const m = process.memoryUsage()
        const spaces = getHeapSpaceStatistics()
        const young = spaces.find((space) => space.space_name === 'new_space')
        const heapResident = spaces.reduce((sum, space) => sum + space.physical_space_size, 0)
        reply({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, newSpace: young?.space_size ?? 0, heapResident, newSpaceResident: young?.physical_space_size ?? 0 } satisfies RssSample)
        break
      }
      case 'mint':
        if (ctx.mint === undefined) { fail('no minting on this server'); break }
        ctx.mint(message.count ?? 0).then(reply, fail)
        break
      case 'stats': {
        const cpu = process.cpuUsage()
        const elu = performance.eventLoopUtilization()
        reply({ cpu, at: performance.now(), elu: { idle: elu.idle, active: elu.active }, connections: ctx.connections(), rooms: ctx.rooms(), ...ctx.drops() } satisfies ServerStats)
        break
      }
      case 'heap':
        // A heap snapshot (bench/heap-per-connection.ts): GC first, as for rss.
        gc?.()
        gc?.()
        reply(writeHeapSnapshot(message.name))
        break
      case 'mark':
        marks[message.name ?? '?'] = Number(process.hrtime.bigint() / 1000n)
        if (sampler === undefined) reply(null)
        else sampler.mark(message.name ?? '?').then(() => reply(null), fail)
        break
      case 'exit':
        writeMarks()
        ctx.close().finally(() => {
          reply(null)
          process.exit(0)
        })
        break
    }
  })
  // The parent going away (crash, timeout, Ctrl-C) takes this server with it.
  process.on('disconnect', () => process.exit(0))
  send({ ready: true, port: started.port, limits: started.limits })
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
