// Plain WebSocket transport at `<prefix>/ws` through @fastify/websocket.
// Frames: client `{ id?, event, data }`; replies `{ id, ok: true, data }` or
// `{ id, ok: false, error: { code, message } }`; pushes `{ event, data }`.
// Authentication runs as a preHandler, before the upgrade: a bad token gets
// an HTTP 401, never a socket.
import { randomBytes } from 'node:crypto'
import { ServerResponse } from 'node:http'
import type { Writable } from 'node:stream'
import type { WebSocket } from 'ws'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Identity } from '../../lib/netplay.ts'
import { netplayRoutes } from '../../lib/http.ts'
import { noReply, type AckResult, type Connection, type EventTable } from './event-table.ts'
import { CLIENT_LEFT, type ConnectionHub } from './hub.ts'
import { textFrameOf, type OutgoingEvent } from './outgoing.ts'
import type { Held, PhaseEnd } from './phase-end.ts'
import type { SignalingOptions } from './schema.ts'

const OPEN = 1

class WebSocketConnection implements Connection, Held {
  readonly transport = 'websocket'
  readonly id = randomBytes(15).toString('base64url')
  readonly socket: WebSocket
  readonly identity: Identity | null
  readonly ip: string
  lastMessageAt = Date.now()
  /** The TCP socket under `socket` (the upgraded request's socket), corked from its first frame of an I/O phase to the phase's end. */
  readonly #tcp: Pick<Writable, 'cork' | 'uncork' | 'write'>
  readonly #phaseEnd: PhaseEnd
  #corked = false

  constructor (socket: WebSocket, identity: Identity | null, ip: string, tcp: Pick<Writable, 'cork' | 'uncork' | 'write'>, phaseEnd: PhaseEnd) {
    this.socket = socket
    this.identity = identity
    this.ip = ip
    this.#tcp = tcp
    this.#phaseEnd = phaseEnd
  }

  send (frame: unknown): void {
    this.#write(textFrameOf(JSON.stringify(frame)))
  }

  /** A push encoded once for every recipient: the same bytes as `emit`, as a text frame. */
  deliver (message: OutgoingEvent): void {
    this.#write(message.wsWire)
  }

  /**
   * Writes a whole text frame (header and payload in one buffer) to the
   * corked TCP socket: what ws's send() does for an uncompressed frame, in
   * one stream write instead of two (an uncompressed frame is valid whatever
   * extension was negotiated, and ws's server negotiates none by default).
   * ws's own writes (pong, close) go to the same stream, so order is kept.
   */
  #write (frame: Buffer): void {
    if (this.socket.readyState !== OPEN) return
    if (!this.#corked) {
      this.#corked = true
      this.#tcp.cork()
      this.#phaseEnd.hold(this)
    }
    this.#tcp.write(frame)
  }

  /** Ends this phase's cork (called by PhaseEnd). */
  uncork (): void {
    this.#corked = false
    this.#tcp.uncork()
  }

  emit (event: string, data?: unknown): void {
    this.send({ event, data })
  }

  close (reason: string): void {
    this.send({ event: 'netplay-error', data: { error: 'FST_NETPLAY_SIGNALING_CLOSED', message: reason } })
    this.socket.close(1008, reason.slice(0, 100))
  }
}

function replyFor (connection: WebSocketConnection, id: unknown): (result: AckResult) => void {
  if (typeof id !== 'string' && typeof id !== 'number') return noReply
  return (result) => {
    connection.send(result.ok
      ? { id, ok: true, data: result.data ?? null }
      : { id, ok: false, error: { code: result.error.code, message: result.error.message, ...(typeof result.error.wire === 'object' && result.error.wire !== null ? { details: result.error.wire } : {}) } })
  }
}

/**
 * What @fastify/websocket leaves attached to an open WebSocket for its whole
 * life: the ServerResponse it routed the upgrade with (never finished, held
 * by the TCP socket) and an 'error' listener closing over Fastify's request
 * and reply; through them the upgrade request, its headers and the buffer it
 * was read into, about 2 KB per idle connection. Nothing reads them once the
 * WebSocket is open (the reply is hijacked), so they are let go: the
 * response is detached and the listener replaced by one doing the same
 * (@fastify/websocket's default error handler: log, then terminate).
 */
function releaseUpgrade (socket: WebSocket, request: FastifyRequest): void {
  const tcp = request.socket
  const response = (tcp as { _httpMessage?: unknown })._httpMessage
  if (response instanceof ServerResponse && response.socket === tcp) response.detachSocket(tcp)
  const log = request.log
  socket.removeAllListeners('error')
  socket.on('error', (error) => {
    log.error(error)
    socket.terminate()
  })
}

export async function registerWebSocketRoute (app: FastifyInstance, options: SignalingOptions, table: EventTable, hub: ConnectionHub, phaseEnd: PhaseEnd): Promise<void> {
  await netplayRoutes(app, { prefix: options.prefix }, (scope) => {
    scope.get(options.websocket.path, { websocket: true, preHandler: app.netplay.auth.requireIdentity() }, (socket, request) => {
      const connection = new WebSocketConnection(socket, request.netplayIdentity, request.ip, request.socket, phaseEnd)
      releaseUpgrade(socket, request)
      const guard = table.guard()
      hub.add(connection)
      socket.on('message', (raw, isBinary) => {
        let frame: { id?: unknown, event?: unknown, data?: unknown }
        try {
          frame = isBinary ? null : JSON.parse(raw.toString())
        } catch {
          frame = { event: undefined }
        }
        const reply = replyFor(connection, frame?.id ?? null)
        if (frame !== null && typeof frame === 'object' && typeof frame.event === 'string') table.dispatch(connection, guard, frame.event, frame.data, reply)
        else table.malformed(connection, guard, reply)
      })
      socket.on('close', (code) => hub.remove(connection, code === 1000 ? CLIENT_LEFT : 'client closed'))
    })
  })
}
