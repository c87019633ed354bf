// `signaling`: one event table served over Socket.IO (for EmulatorJS
// clients) and a plain WebSocket protocol, on the host's own server.
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import fp from 'fastify-plugin'
import fastifyWebsocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import type { Server as SocketIoServer } from 'socket.io'
import type { TSchema } from 'typebox'
import { PACKAGE, netplayNamespace } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { EventTable, type Connection, type EventGuard, type EventHandledListener, type SignalingEvent } from './event-table.ts'
import { WebsocketAlreadyRegisteredError } from './errors.ts'
import { ConnectionHub, type ConnectionListener, type DisconnectListener } from './hub.ts'
import { PhaseEnd } from './phase-end.ts'
import { SignalingOptions, type SignalingOptionsInput } from './schema.ts'
import { attachSocketIo } from './socket-io.ts'
import { registerWebSocketRoute } from './websocket.ts'

export interface SignalingApi {
  /** Adds an event to the table (during registration only). */
  define<S extends TSchema> (event: SignalingEvent<S>): void
  /** A live connection of this node by its socket id. */
  connection (id: string): Connection | undefined
  connections (): IterableIterator<Connection>
  readonly connectionCount: number
  onConnect (listener: ConnectionListener): void
  onDisconnect (listener: DisconnectListener): void
  /** Adds a check to a defined event, run before its handler (during registration). */
  guard (event: string, check: EventGuard): void
  /** Called after each handled `event` (by its name, not an alias) with its duration in seconds and outcome (metrics); other events are not timed. */
  onEventHandled (event: string, listener: EventHandledListener): void
  /**
   * Runs `task` once the event loop's current I/O phase ends, before the
   * replies held for the phase are written: pushes coalesced there (a
   * room's users-updated after a burst of joins) leave with them.
   */
  atPhaseEnd (task: () => void): void
  /** Runs on `app.close()` before the transports close any connection (awaited, in order): the last chance to reach clients. */
  onClosing (listener: () => Promise<void> | void): void
  /** The Socket.IO server (null when disabled), e.g. to add an adapter. */
  readonly io: SocketIoServer | null
  /** Allowed browser origins for netplay's Socket.IO and HTTP routes (`socketIo.corsOrigins`; `*` = any, without credentials). */
  readonly corsOrigins: readonly string[]
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    signaling: SignalingApi
  }
}

const parseOptions = optionsParser('signaling', SignalingOptions)

async function signaling (app: FastifyInstance, input: SignalingOptionsInput): Promise<void> {
  const options = parseOptions(input)
  if (app.hasDecorator('websocketServer')) throw new WebsocketAlreadyRegisteredError()
  const table = new EventTable(app.netplay.rateLimit, app.log, options.maxInvalidMessages)
  const hub = new ConnectionHub()
  const phaseEnd = new PhaseEnd(app.log)
  app.addHook('onReady', async () => {
    table.freeze()
  })
  // preClose hooks run in the order they were added: this one comes before
  // the transports', which close every connection.
  const closing: Array<() => Promise<void> | void> = []
  app.addHook('preClose', async () => { for (const listener of closing) await listener() })

  // Both transports upgrade on one server. Socket.IO's engine takes upgrades
  // on its own path; the plain WebSocket route's upgrades are handed to
  // @fastify/websocket through this emitter, so neither swallows the
  // other's. Any other upgrade is the host's if it listens for upgrades
  // itself (its own WebSocket server beside netplay); otherwise it is
  // answered 404 and closed here.
  const upgrades = new EventEmitter()
  const socketIoPath = options.socketIo.path.endsWith('/') ? options.socketIo.path : `${options.socketIo.path}/`
  const websocketPath = options.prefix + options.websocket.path
  const onUpgrade = (request: { url?: string }, socket: Duplex, head: unknown): void => {
    const url = request.url ?? ''
    if (options.socketIo.enabled && url.startsWith(socketIoPath)) return
    const path = url.split('?', 1)[0]
    if (options.websocket.enabled && (path === websocketPath || path === `${websocketPath}/`)) {
      upgrades.emit('upgrade', request, socket, head)
      return
    }
    if (app.server.listeners('upgrade').some((listener) => !ownListeners.has(listener))) return
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  }
  app.server.on('upgrade', onUpgrade)
  /** Upgrade listeners of netplay's own: this one and Socket.IO's engine (added below). */
  const ownListeners = new Set<unknown>([onUpgrade])
  app.addHook('onClose', async () => {
    app.server.off('upgrade', onUpgrade)
    // The transports closed every connection in preClose, but a socket's own
    // close event may still be on its way (a loaded machine, a client slow to
    // answer the close handshake): once the app is closed none is live.
    for (const connection of [...hub.all()]) hub.remove(connection, 'server closed')
  })

  const listenersBefore = new Set(app.server.listeners('upgrade'))
  const io = options.socketIo.enabled ? attachSocketIo(app, options, table, hub) : null
  for (const listener of app.server.listeners('upgrade')) if (!listenersBefore.has(listener)) ownListeners.add(listener)
  if (options.websocket.enabled) {
    // @fastify/websocket hooks every request and wraps every route handler
    // of the context it is registered in; kept in a context of its own, it
    // touches the /ws route only, not the host's routes.
    await app.register(async (scope) => {
      await scope.register(fastifyWebsocket, { options: { server: upgrades as never, maxPayload: options.maxMessageBytes } })
      await registerWebSocketRoute(scope, options, table, hub, phaseEnd)
    })
  }

  netplayNamespace(app).signaling = {
    define: (event) => table.define(event),
    connection: (id) => hub.get(id),
    connections: () => hub.all(),
    get connectionCount () { return hub.size },
    onConnect: (listener) => hub.onConnect(listener),
    onDisconnect: (listener) => hub.onDisconnect(listener),
    onEventHandled: (event, listener) => table.onHandled(event, listener),
    onClosing: (listener) => { closing.push(listener) },
    atPhaseEnd: (task) => { phaseEnd.defer(task) },
    guard: (event, check) => table.addGuard(event, check),
    io,
    corsOrigins: options.socketIo.corsOrigins
  }
}

export default fp(signaling, {
  fastify: '5.x',
  name: `${PACKAGE}/signaling`,
  dependencies: [`${PACKAGE}/rate-limit`, `${PACKAGE}/auth`]
})

export { SignalingOptions, type SignalingOptionsInput } from './schema.ts'
export { EventError, type Connection, type EventGuard, type QuietRefusal, type SignalingEvent } from './event-table.ts'
export { OutgoingEvent } from './outgoing.ts'
export { CLIENT_LEFT } from './hub.ts'
export * from './errors.ts'
