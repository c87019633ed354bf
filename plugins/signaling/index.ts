// `signaling`: one event table served over Socket.IO (for EmulatorJS
// clients) and a plain WebSocket protocol, on the host's own server.
import { EventEmitter } from 'node:events'
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
  /** Called after each handled event with its duration in seconds and outcome (metrics). */
  onEventHandled (listener: EventHandledListener): void
  /** Runs on `app.close()` before the transports close any connection (awaited, in order): the last chance to reach clients. */
  onClosing (listener: () => Promise<void> | void): void
  /** The Socket.IO server (null when disabled), e.g. to add an adapter. */
  readonly io: SocketIoServer | null
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
  app.addHook('onReady', async () => {
    table.freeze()
  })
  // preClose hooks run in the order they were added: this one comes before
  // the transports', which close every connection.
  const closing: Array<() => Promise<void> | void> = []
  app.addHook('preClose', async () => { for (const listener of closing) await listener() })

  // Both transports upgrade on one server. Socket.IO's engine takes upgrades
  // on its own path; every other upgrade is handed to @fastify/websocket
  // through this emitter, so neither swallows the other's.
  const upgrades = new EventEmitter()
  const socketIoPath = options.socketIo.path.endsWith('/') ? options.socketIo.path : `${options.socketIo.path}/`
  const onUpgrade = (request: { url?: string }, socket: unknown, head: unknown): void => {
    if (options.socketIo.enabled && (request.url ?? '').startsWith(socketIoPath)) return
    upgrades.emit('upgrade', request, socket, head)
  }
  app.server.on('upgrade', onUpgrade)
  app.addHook('onClose', async () => { app.server.off('upgrade', onUpgrade) })

  await app.register(fastifyWebsocket, { options: { server: upgrades as never, maxPayload: options.maxMessageBytes } })
  const io = options.socketIo.enabled ? attachSocketIo(app, options, table, hub) : null
  if (options.websocket.enabled) await registerWebSocketRoute(app, options, table, hub)

  netplayNamespace(app).signaling = {
    define: (event) => table.define(event),
    connection: (id) => hub.get(id),
    connections: () => hub.all(),
    get connectionCount () { return hub.size },
    onConnect: (listener) => hub.onConnect(listener),
    onDisconnect: (listener) => hub.onDisconnect(listener),
    onEventHandled: (listener) => table.onHandled(listener),
    onClosing: (listener) => { closing.push(listener) },
    guard: (event, check) => table.addGuard(event, check),
    io
  }
}

export default fp(signaling, {
  fastify: '5.x',
  name: `${PACKAGE}/signaling`,
  dependencies: [`${PACKAGE}/rate-limit`, `${PACKAGE}/auth`]
})

export { SignalingOptions, type SignalingOptionsInput } from './schema.ts'
export { EventError, type Connection, type SignalingEvent } from './event-table.ts'
export { CLIENT_LEFT } from './hub.ts'
export * from './errors.ts'
