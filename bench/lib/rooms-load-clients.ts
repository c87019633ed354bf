// Client side of bench/rooms-load.bench.ts: family A (upstream EmulatorJS)
// players over Socket.IO (websocket transport only) or over our plain
// WebSocket protocol, grouped 4 to a room (1 host + 3 guests).
//
// Two client implementations (`ClientKind`):
//   wire     (default) every player is a bare `ws` socket speaking the wire
//            protocol itself: Engine.IO v4 / Socket.IO v5 packets for the
//            Socket.IO servers, { id, event, data } frames for /ws. Relayed
//            data-messages are recognised by their first bytes and counted
//            without being parsed (the bench never reads them). Same ws
//            options, same work per message for every server.
//   library  socket.io-client for Socket.IO, and every /ws frame parsed
//            (the client of the first figures; about twice the client CPU
//            per message, which made it the bottleneck of the relay).
import { performance } from 'node:perf_hooks'
import { io as connectSocketIo, type Socket } from 'socket.io-client'
import { WebSocket } from 'ws'

export type Transport = 'socket.io' | 'websocket'
export type ClientKind = 'wire' | 'library'

export interface AckOutcome { err: unknown, data: unknown, ms: number }

/** One player connection, whatever its transport. */
export interface Peer {
  /** Sends an event that expects an ack; resolves with the ack (or a timeout error). */
  request (event: string, data: unknown, timeoutMs: number): Promise<AckOutcome>
  /** Sends an event without an ack (how EmulatorJS sends `data-message`). */
  emit (event: string, data: unknown): void
  /** Server pushes of one event. */
  on (event: string, listener: (data: unknown) => void): void
  close (): void
}

class SocketIoPeer implements Peer {
  readonly socket: Socket
  constructor (socket: Socket) { this.socket = socket }

  request (event: string, data: unknown, timeoutMs: number): Promise<AckOutcome> {
    const start = performance.now()
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ err: 'ack timeout', data: undefined, ms: performance.now() - start }), timeoutMs)
      this.socket.emit(event, data, (err: unknown, value: unknown) => {
        clearTimeout(timer)
        resolve({ err, data: value, ms: performance.now() - start })
      })
    })
  }

  emit (event: string, data: unknown): void { this.socket.emit(event, data) }
  on (event: string, listener: (data: unknown) => void): void { this.socket.on(event, listener) }
  close (): void { this.socket.disconnect() }
}

class WebSocketPeer implements Peer {
  readonly ws: WebSocket
  #nextId = 1
  readonly #pending = new Map<number, (frame: { ok?: boolean, data?: unknown, error?: unknown }) => void>()
  readonly #listeners = new Map<string, (data: unknown) => void>()

  constructor (ws: WebSocket, countPushesUnparsed = false) {
    this.ws = ws
    ws.on('message', (raw: Buffer) => {
      const counted = countPushesUnparsed ? countedPush(raw, WS_COUNTED) : undefined
      if (counted !== undefined) {
        this.#listeners.get(counted)?.(undefined)
        return
      }
      const frame = JSON.parse(raw.toString()) as { id?: number, event?: string, ok?: boolean, data?: unknown, error?: unknown }
      if (frame.id !== undefined) {
        const settle = this.#pending.get(frame.id)
        this.#pending.delete(frame.id)
        settle?.(frame)
      } else if (frame.event !== undefined) {
        this.#listeners.get(frame.event)?.(frame.data)
      }
    })
  }

  request (event: string, data: unknown, timeoutMs: number): Promise<AckOutcome> {
    const start = performance.now()
    const id = this.#nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve({ err: 'ack timeout', data: undefined, ms: performance.now() - start })
      }, timeoutMs)
      this.#pending.set(id, (frame) => {
        clearTimeout(timer)
        resolve({ err: frame.ok === true ? null : frame.error, data: frame.data, ms: performance.now() - start })
      })
      this.ws.send(JSON.stringify({ id, event, data }))
    })
  }

  emit (event: string, data: unknown): void { this.ws.send(JSON.stringify({ event, data })) }
  on (event: string, listener: (data: unknown) => void): void { this.#listeners.set(event, listener) }
  close (): void { this.ws.terminate() }
}

const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true } as const
/**
 * Pushes the bench only counts, told apart by their first bytes and never
 * parsed: relayed data-messages and users-updated (most of what a join
 * burst sends). Socket.IO: engine.io message + EVENT to "/"; /ws: `{ event, data }`.
 */
const COUNTED_EVENTS = ['data-message', 'users-updated'] as const
type CountedEvent = typeof COUNTED_EVENTS[number]
const SIO_COUNTED = COUNTED_EVENTS.map((event) => [Buffer.from(`42["${event}",`), event] as const)
const WS_COUNTED = COUNTED_EVENTS.map((event) => [Buffer.from(`{"event":"${event}",`), event] as const)

function countedPush (raw: Buffer, prefixes: ReadonlyArray<readonly [Buffer, CountedEvent]>): CountedEvent | undefined {
  for (const [prefix, event] of prefixes) {
    if (raw.length > prefix.length && raw.compare(prefix, 0, prefix.length, 0, prefix.length) === 0) return event
  }
  return undefined
}

/** Socket.IO over a bare ws: Engine.IO v4 packets (one per frame on websocket), Socket.IO v5 packets inside. */
class SocketIoWirePeer implements Peer {
  readonly ws: WebSocket
  #nextAck = 0
  readonly #pending = new Map<number, (args: unknown[]) => void>()
  readonly #listeners = new Map<string, (data: unknown) => void>()

  constructor (ws: WebSocket) {
    this.ws = ws
    ws.on('message', (raw: Buffer) => this.#onFrame(raw))
  }

  #onFrame (raw: Buffer): void {
    if (raw[0] === 0x32) { // engine.io ping: answer pong
      this.ws.send('3')
      return
    }
    if (raw[0] !== 0x34) return // engine.io message
    if (raw[1] === 0x32) { // EVENT
      const counted = countedPush(raw, SIO_COUNTED)
      if (counted !== undefined) {
        this.#listeners.get(counted)?.(undefined)
        return
      }
      const [event, data] = JSON.parse(raw.toString('utf8', 2)) as [string, unknown]
      this.#listeners.get(event)?.(data)
    } else if (raw[1] === 0x33) { // ACK: 43<id>[args]
      const text = raw.toString('utf8', 2)
      const bracket = text.indexOf('[')
      const id = Number(text.slice(0, bracket))
      const settle = this.#pending.get(id)
      this.#pending.delete(id)
      settle?.(JSON.parse(text.slice(bracket)) as unknown[])
    }
  }

  request (event: string, data: unknown, timeoutMs: number): Promise<AckOutcome> {
    const start = performance.now()
    const id = this.#nextAck++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve({ err: 'ack timeout', data: undefined, ms: performance.now() - start })
      }, timeoutMs)
      this.#pending.set(id, (args) => {
        clearTimeout(timer)
        resolve({ err: args[0], data: args[1], ms: performance.now() - start })
      })
      this.ws.send(`42${id}${JSON.stringify([event, data])}`)
    })
  }

  emit (event: string, data: unknown): void { this.ws.send(`42${JSON.stringify([event, data])}`) }
  on (event: string, listener: (data: unknown) => void): void { this.#listeners.set(event, listener) }
  /** What socket.io-client's disconnect() sends: a namespace DISCONNECT, then the transport closes. */
  close (): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send('41')
    this.ws.close()
  }
}

function connectSocketIoWire (port: number, token: string | undefined, resolve: (peer: Peer) => void, reject: (err: Error) => void, timer: NodeJS.Timeout): void {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, WS_OPTIONS)
  const fail = (err: Error): void => { clearTimeout(timer); ws.terminate(); reject(err) }
  const handshake = (raw: Buffer): void => {
    const text = raw.toString()
    if (text.startsWith('0')) { // engine.io open: connect to the "/" namespace, with the token as auth
      ws.send(token === undefined ? '40' : `40${JSON.stringify({ token })}`)
    } else if (text.startsWith('40')) {
      ws.off('message', handshake)
      clearTimeout(timer)
      resolve(new SocketIoWirePeer(ws))
    } else if (text.startsWith('44')) {
      fail(new Error((JSON.parse(text.slice(2)) as { message?: string }).message ?? 'connect_error'))
    }
  }
  ws.on('message', handshake)
  ws.once('error', fail)
  ws.once('unexpected-response', (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)))
}

export function connectPeer (transport: Transport, port: number, token: string | undefined, timeoutMs: number, client: ClientKind = 'wire'): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connect timeout after ${timeoutMs} ms`)), timeoutMs)
    if (transport === 'socket.io' && client === 'wire') {
      connectSocketIoWire(port, token, resolve, reject, timer)
    } else if (transport === 'socket.io') {
      const socket = connectSocketIo(`http://127.0.0.1:${port}`, {
        transports: ['websocket'],
        forceNew: true, // one engine connection per player, never multiplexed
        reconnection: false,
        ...(token !== undefined ? { auth: { token } } : {})
      })
      socket.once('connect', () => { clearTimeout(timer); resolve(new SocketIoPeer(socket)) })
      socket.once('connect_error', (err) => { clearTimeout(timer); socket.disconnect(); reject(err) })
    } else {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
        ...(client === 'wire' ? WS_OPTIONS : { perMessageDeflate: false }),
        ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {})
      })
      ws.once('open', () => { clearTimeout(timer); resolve(new WebSocketPeer(ws, client === 'wire')) })
      ws.once('error', (err) => { clearTimeout(timer); ws.terminate(); reject(err) })
      ws.once('unexpected-response', (_req, res) => { clearTimeout(timer); ws.terminate(); reject(new Error(`HTTP ${res.statusCode}`)) })
    }
  })
}

// ---------- rooms of 4 ----------

export interface BenchRoom {
  index: number
  sessionid: string
  host: Peer
  guests: Peer[]
  /** data-message bookkeeping (relay phase). */
  sent: number
  /** Deliveries seen by the last guest (the flow-control window follows it). */
  acked: number
  tokens: number
  lastRefill: number
}

export interface GroupOptions {
  transport: Transport
  port: number
  rooms: number
  /** Per-player tokens (auth on), indexed like the players; undefined when auth is off. */
  tokens?: string[]
  /** Distinguishes session ids of different groups on one server. */
  tag: string
  /** Handshakes in flight at once while connecting. */
  connectConcurrency: number
  /** Client implementation (default `wire`). */
  client?: ClientKind
  timeoutMs: number
}

export interface ConnectResult { ms: number, failed: number, firstError?: string }
export interface JoinResult {
  /** open-room ack latencies (ms), one per room. */
  open: number[]
  /** join-room ack latencies (ms), one per guest. */
  join: number[]
  /** From a room's open-room sent to its last join-room ack (ms). */
  roomReady: number[]
  errors: number
  firstError?: string
  /** First open-room sent to last join-room ack (ms). */
  wallMs: number
  usersUpdated: number
}
export interface RelayOptions {
  warmupMs: number
  windowMs: number
  /** Client-side pacing per host: messages per second and burst. */
  ratePerHost: number
  burst: number
  /** Messages a room may have in flight (sent, not yet seen by its last guest). */
  inflight: number
}
export interface RelayResult {
  /** Deliveries counted at guests inside the window, per second. */
  deliveriesPerSec: number
  /** Host sends inside the window, per second. */
  sentPerSec: number
  totalSent: number
  /** Messages the last guest of each room received, summed (should equal totalSent). */
  lastGuestReceived: number
  /** Rooms whose window never drained (a message was lost). */
  stalledRooms: number
  /** Deliveries at all guests during the whole phase (warm-up, window, drain). */
  phaseDelivered: number
}

const GUESTS = 3

function guid (tag: string, n: number): string {
  return `${tag}-${n.toString(16).padStart(8, '0')}-4000-8000-000000000000`
}

function extraOf (tag: string, room: number, player: number): Record<string, unknown> {
  return {
    domain: '127.0.0.1',
    game_id: 1,
    room_name: `bench room ${tag} ${room}`,
    player_name: `P${player}`,
    userid: guid(`${tag}u`, player),
    sessionid: guid(`${tag}s`, room)
  }
}

/** A family A `sync-control` data-message, ~60 bytes of JSON. */
function dataMessage (frame: number): unknown {
  return { 'sync-control': [{ frame, connected_input: [0, 4, 1] }] }
}

async function mapBounded<T> (count: number, concurrency: number, run: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const results = new Array<PromiseSettledResult<T>>(count)
  let next = 0
  async function lane (): Promise<void> {
    while (next < count) {
      const i = next++
      try {
        results[i] = { status: 'fulfilled', value: await run(i) }
      } catch (reason) {
        results[i] = { status: 'rejected', reason }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return results
}

export class RoomGroup {
  readonly options: GroupOptions
  readonly peers: Peer[] = []
  readonly rooms: BenchRoom[] = []
  delivered = 0
  /** Every data-message any guest received, window or not. */
  allDelivered = 0
  counting = false
  usersUpdated = 0
  closed = false

  constructor (options: GroupOptions) { this.options = options }

  get players (): number { return this.options.rooms * (GUESTS + 1) }

  /** Connects every player, at most `connectConcurrency` handshakes at once. */
  async connect (): Promise<ConnectResult> {
    const { transport, port, tokens, connectConcurrency, timeoutMs, client } = this.options
    const start = performance.now()
    const results = await mapBounded(this.players, connectConcurrency, (i) => connectPeer(transport, port, tokens?.[i], timeoutMs, client))
    let failed = 0
    let firstError: string | undefined
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') {
        this.peers[i] = r.value
      } else {
        failed++
        firstError ??= String((r.reason as Error)?.message ?? r.reason)
      }
    }
    const ms = performance.now() - start
    if (failed > 0) return { ms, failed, ...(firstError !== undefined ? { firstError } : {}) }
    for (let r = 0; r < this.options.rooms; r++) {
      const base = r * (GUESTS + 1)
      const room: BenchRoom = {
        index: r,
        sessionid: guid(`${this.options.tag}s`, r),
        host: this.peers[base] as Peer,
        guests: this.peers.slice(base + 1, base + 1 + GUESTS),
        sent: 0,
        acked: 0,
        tokens: 0,
        lastRefill: 0
      }
      room.host.on('users-updated', () => { this.usersUpdated++ })
      room.guests.forEach((guest, g) => {
        guest.on('users-updated', () => { this.usersUpdated++ })
        guest.on('data-message', () => {
          this.allDelivered++
          if (this.counting) this.delivered++
          if (g === GUESTS - 1) room.acked++
        })
      })
      this.rooms.push(room)
    }
    return { ms, failed: 0 }
  }

  /** Every room at once: the host opens; on its ack, the 3 guests join. */
  async join (): Promise<JoinResult> {
    const { tag, timeoutMs } = this.options
    const open: number[] = []
    const join: number[] = []
    const roomReady: number[] = []
    let errors = 0
    let firstError: string | undefined
    const note = (outcome: AckOutcome, into: number[]): boolean => {
      if (outcome.err !== null && outcome.err !== undefined) {
        errors++
        firstError ??= typeof outcome.err === 'string' ? outcome.err : JSON.stringify(outcome.err)
        return false
      }
      into.push(outcome.ms)
      return true
    }
    const start = performance.now()
    let lastAck = start
    await Promise.all(this.rooms.map(async (room) => {
      const base = room.index * (GUESTS + 1)
      const roomStart = performance.now()
      const opened = await room.host.request('open-room', { extra: extraOf(tag, room.index, base), maxPlayers: 4, password: '' }, timeoutMs)
      if (!note(opened, open)) return
      const joins = await Promise.all(room.guests.map((guest, g) =>
        guest.request('join-room', { extra: extraOf(tag, room.index, base + 1 + g), password: '' }, timeoutMs)))
      let ok = true
      for (const outcome of joins) ok = note(outcome, join) && ok
      const now = performance.now()
      if (now > lastAck) lastAck = now
      if (ok) roomReady.push(now - roomStart)
    }))
    return { open, join, roomReady, errors, ...(firstError !== undefined ? { firstError } : {}), wallMs: lastAck - start, usersUpdated: this.usersUpdated }
  }

  /** Hosts send paced data-messages; deliveries at guests are counted over the window. */
  async relay (options: RelayOptions): Promise<RelayResult> {
    const now0 = performance.now()
    for (const room of this.rooms) {
      room.tokens = options.burst
      room.lastRefill = now0
    }
    let windowSent = 0
    let sentTotal = 0
    const deliveredBefore = this.allDelivered
    const tick = setInterval(() => {
      const now = performance.now()
      for (const room of this.rooms) {
        room.tokens = Math.min(options.burst, room.tokens + (now - room.lastRefill) * options.ratePerHost / 1000)
        room.lastRefill = now
        let allowed = Math.min(Math.floor(room.tokens), options.inflight - (room.sent - room.acked))
        while (allowed-- > 0) {
          room.host.emit('data-message', dataMessage(room.sent))
          room.sent++
          room.tokens--
          sentTotal++
          if (this.counting) windowSent++
        }
      }
    }, 5)
    await sleep(options.warmupMs)
    this.delivered = 0
    this.counting = true
    const windowStart = performance.now()
    await sleep(options.windowMs)
    this.counting = false
    const elapsed = performance.now() - windowStart
    const deliveredInWindow = this.delivered
    clearInterval(tick)
    // Let what is in flight land (not counted), then check for lost messages.
    const drainUntil = performance.now() + 3000
    while (performance.now() < drainUntil && this.rooms.some((room) => room.acked < room.sent)) await sleep(50)
    return {
      deliveriesPerSec: deliveredInWindow / (elapsed / 1000),
      sentPerSec: windowSent / (elapsed / 1000),
      totalSent: sentTotal,
      lastGuestReceived: this.rooms.reduce((sum, room) => sum + room.acked, 0),
      stalledRooms: this.rooms.filter((room) => room.acked < room.sent).length,
      phaseDelivered: this.allDelivered - deliveredBefore
    }
  }

  /** EmulatorJS sends leave-room and then disconnects. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const peer of this.peers) {
      if (peer === undefined) continue
      try {
        peer.emit('leave-room', null)
      } catch {}
    }
    await sleep(100)
    for (const peer of this.peers) peer?.close()
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
