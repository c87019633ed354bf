// Real clients for the room and signaling tests: socket.io-client (the
// polling-then-websocket default, or websocket only) and `ws` speaking the
// plain `{ id, event, data }` protocol. Every server push lands in an Inbox,
// so a test can wait for an event that may already have arrived.
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { io, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import type { NetplayServer } from './netplay-server.ts'

export interface Pushed { event: string, data: unknown }

/**
 * Everything a client was sent, in order. `take` moves a cursor per event
 * name: it matches only pushes after the last one taken of that name, so a
 * stale `users-updated` never satisfies a later wait.
 */
export class Inbox {
  readonly pushed: Pushed[] = []
  readonly #cursor = new Map<string, number>()
  readonly #waiters = new Set<() => void>()

  add (event: string, data: unknown): void {
    this.pushed.push({ event, data })
    for (const wake of this.#waiters) wake()
  }

  #find (event: string, match: (data: any) => boolean): number {
    const from = (this.#cursor.get(event) ?? -1) + 1
    for (let i = from; i < this.pushed.length; i++) {
      const pushed = this.pushed[i] as Pushed
      if (pushed.event === event && match(pushed.data)) return i
    }
    return -1
  }

  /** Waits for the first `event` after the last one taken whose data matches, and takes it. */
  async take<T = any> (event: string, match: (data: any) => boolean = () => true, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.#find(event, match)
      if (index !== -1) {
        this.#cursor.set(event, index)
        return this.pushed[index]?.data as T
      }
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for "${event}"; got ${JSON.stringify(this.pushed.map((p) => p.event))}`)
      await new Promise<void>((resolve) => {
        const wake = (): void => { clearTimeout(timer); this.#waiters.delete(wake); resolve() }
        const timer = setTimeout(wake, left)
        this.#waiters.add(wake)
      })
    }
  }

  /** Pushes of `event` received so far (taken or not). */
  all<T = any> (event: string): T[] {
    return this.pushed.filter((p) => p.event === event).map((p) => p.data as T)
  }

  /** The newest push of `event`, if any. */
  last<T = any> (event: string): T | undefined {
    return this.all<T>(event).at(-1)
  }

  count (event: string): number {
    return this.all(event).length
  }
}

export interface IoClientOptions {
  /** Socket.IO namespace (`/` by default). */
  namespace?: string
  /** Socket.IO HTTP path (`/socket.io` by default). */
  path?: string
  /** `['websocket']` skips long-polling. Default: polling, then upgrade. */
  transports?: Array<'polling' | 'websocket'>
  token?: string
  /** Extra HTTP headers on the handshake (e.g. a `cookie`), honoured by Node clients on both transports. */
  headers?: Record<string, string>
  /** Wait for `connect` (default true). */
  wait?: boolean
}

export interface IoClient {
  socket: Socket
  inbox: Inbox
  readonly id: string
  /** Emits with an ack and resolves with every ack argument. */
  ack (event: string, payload?: unknown, timeoutMs?: number): Promise<unknown[]>
  /** Emits an error-first ack event: `{ err, data }`. */
  call (event: string, payload?: unknown, timeoutMs?: number): Promise<{ err: unknown, data: any }>
  close (): void
}

/** Wraps a socket.io-client socket: an inbox of everything pushed, promisified acks, and `close`. */
export function asIoClient (socket: Socket, close: () => void): IoClient {
  const inbox = new Inbox()
  socket.onAny((event: string, data: unknown) => inbox.add(event, data))
  socket.on('connect_error', (err) => inbox.add('connect_error', err))
  socket.on('disconnect', (reason) => inbox.add('disconnect', reason))
  const client: IoClient = {
    socket,
    inbox,
    get id () { return socket.id ?? '' },
    ack (event, payload, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, ...args: unknown[]) => {
          if (err !== null) reject(new Error(`no ack for "${event}": ${err.message}`))
          else resolve(args)
        })
      })
    },
    async call (event, payload, timeoutMs) {
      const [err, data] = await client.ack(event, payload, timeoutMs)
      return { err, data }
    },
    close
  }
  return client
}

/** A socket.io-client connection with reconnection off (a test reconnects by opening a new client). */
export async function ioClient (server: NetplayServer, options: IoClientOptions = {}): Promise<IoClient> {
  const socket = io(server.url + (options.namespace ?? ''), {
    path: options.path ?? '/socket.io',
    transports: options.transports ?? ['polling', 'websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    ...(options.token !== undefined ? { auth: { token: options.token } } : {}),
    ...(options.headers !== undefined ? { extraHeaders: options.headers } : {})
  })
  const client = asIoClient(socket, () => { socket.disconnect() })
  server.track(client)
  if (options.wait ?? true) await connected(client)
  return client
}

/** Resolves on `connect`, rejects on `connect_error`. */
export async function connected (client: IoClient, timeoutMs = 5000): Promise<void> {
  if (client.socket.connected) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { done(); reject(new Error('socket.io connect timed out')) }, timeoutMs)
    const onConnect = (): void => { done(); resolve() }
    const onError = (err: Error): void => { done(); reject(err) }
    const done = (): void => {
      clearTimeout(timer)
      client.socket.off('connect', onConnect)
      client.socket.off('connect_error', onError)
    }
    client.socket.on('connect', onConnect)
    client.socket.on('connect_error', onError)
  })
}

/** Waits until the transport was upgraded to websocket (polling clients start on polling). */
export async function upgraded (client: IoClient, timeoutMs = 3000): Promise<void> {
  const engine = client.socket.io.engine
  const deadline = Date.now() + timeoutMs
  while (engine.transport.name !== 'websocket') {
    if (Date.now() > deadline) throw new Error('socket.io transport never upgraded')
    await sleep(10)
  }
}

export type WsReply = { id: string | number, ok: true, data: any } | { id: string | number, ok: false, error: { code: string, message: string, details?: unknown } }

export interface WsClient {
  socket: WebSocket
  inbox: Inbox
  /** Sends `{ id, event, data }` and resolves with the reply frame. */
  request (event: string, data?: unknown, timeoutMs?: number): Promise<WsReply>
  /** Sends a raw frame (string or buffer). */
  send (raw: string | Buffer): void
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number, reason: string }>
  close (): void
}

/** A `ws` connection to the plain WebSocket route (`/ws` unless `path` says otherwise). */
export async function wsClient (server: NetplayServer, options: { path?: string, token?: string } = {}): Promise<WsClient> {
  const headers: Record<string, string> = options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}
  const socket = new WebSocket(server.wsUrl + (options.path ?? '/ws'), { headers })
  const inbox = new Inbox()
  const replies = new Map<string | number, (frame: WsReply) => void>()
  let nextId = 1
  socket.on('message', (raw) => {
    const frame = JSON.parse(raw.toString()) as Record<string, unknown>
    if ('id' in frame && 'ok' in frame) {
      const resolve = replies.get(frame.id as string | number)
      replies.delete(frame.id as string | number)
      resolve?.(frame as unknown as WsReply)
      inbox.add('reply', frame)
    } else {
      inbox.add(frame.event as string, frame.data)
    }
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))
  })
  socket.on('error', () => {}) // refused upgrades are asserted through `wsRefusal`
  const client: WsClient = {
    socket,
    inbox,
    closed,
    request (event, data, timeoutMs = 5000) {
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { replies.delete(id); reject(new Error(`no reply for "${event}"`)) }, timeoutMs)
        replies.set(id, (frame) => { clearTimeout(timer); resolve(frame) })
        socket.send(JSON.stringify({ id, event, data }))
      })
    },
    send (raw) { socket.send(raw) },
    close () { socket.terminate() }
  }
  server.track(client)
  await once(socket, 'open')
  return client
}

/** Attempts a WebSocket upgrade and resolves with the HTTP status of the refusal (or 101). */
export async function wsUpgradeStatus (server: NetplayServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> {
  const socket = new WebSocket(server.wsUrl + path, { headers })
  socket.on('error', () => {})
  return new Promise((resolve) => {
    socket.on('open', () => { socket.terminate(); resolve({ status: 101, body: '' }) })
    socket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() })
        socket.terminate()
      })
    })
  })
}

/** Lets in-flight frames land (pushes that should NOT arrive are checked after this). */
export async function settle (ms = 50): Promise<void> {
  await sleep(ms)
}

/** What the EmulatorJS-SFU generation-1 client puts in `extra` (family C: emulator.js netplayOpenRoom / netplayJoinRoom). */
export function gen1Extra (roomName: string, userid: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    domain: 'retro.example',
    game_id: 12,
    room_name: roomName,
    player_name: `Player ${userid}`,
    player_slot: 0,
    userid,
    sessionid: `session-of-${userid}`,
    input_mode: 'unorderedRelay',
    ...over
  }
}

/** What the EmulatorJS-SFU generation-2 client puts in `extra` (family B, live stream). */
export function sfuExtra (roomName: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    room_name: roomName,
    domain: 'romm.example',
    game_id: 7,
    netplay_mode: 0,
    room_phase: 'running',
    player_slot: 0,
    input_mode: 'unorderedRelay',
    sync_config: { frameDelay: 2 },
    spectator_mode: 0,
    ...over
  }
}
