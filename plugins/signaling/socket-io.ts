// Socket.IO v4 transport for EmulatorJS clients (polling, then websocket).
// Authentication runs in the handshake middleware, so an unauthenticated
// client never gets a socket; its `connect_error` says "unauthorized", which
// makes EmulatorJS-SFU clients refresh their token.
import { ServerResponse, type IncomingMessage } from 'node:http'
import { Server, type Socket } from 'socket.io'
import type { FastifyInstance } from 'fastify'
import { clientAddress } from '../../lib/client-address.ts'
import { errorBody } from '../../lib/errors.ts'
import type { Identity } from '../../lib/netplay.ts'
import { noReply, type AckResult, type Connection, type EventTable } from './event-table.ts'
import { CLIENT_LEFT, type ConnectionHub } from './hub.ts'
import type { OutgoingEvent } from './outgoing.ts'
import type { SignalingOptions } from './schema.ts'

class SocketIoConnection implements Connection {
  readonly transport = 'socket.io'
  readonly socket: Socket
  readonly identity: Identity | null
  readonly ip: string
  lastMessageAt = Date.now()

  constructor (socket: Socket, identity: Identity | null, ip: string) {
    this.socket = socket
    this.identity = identity
    this.ip = ip
  }

  get id (): string { return this.socket.id }

  emit (event: string, data?: unknown): void {
    this.socket.emit(event, data)
  }

  deliver (message: OutgoingEvent): void {
    const socket = this.socket
    const nsp = socket.nsp
    const encoded = message.socketIo(nsp.name, nsp.server.encoder)
    // What socket.emit does, minus encoding: the namespace's broadcasts
    // (socket.io-adapter) write pre-encoded packets the same way.
    const notify = (socket as unknown as { notifyOutgoingListeners?: (packet: unknown) => void }).notifyOutgoingListeners
    if (typeof notify === 'function') notify.call(socket, { type: 2, data: [message.event, message.data], nsp: nsp.name })
    socket.client._packet(encoded.packets as never, encoded.opts as never)
  }

  close (reason: string): void {
    this.socket.emit('netplay-error', { error: 'FST_NETPLAY_SIGNALING_CLOSED', message: reason })
    cutOff(this.socket)
  }
}

interface EngineSocket { transport: { name: string, socket?: { _socket?: { cork: () => void, uncork: () => void } } } }
function tcpOf (socket: EngineSocket): { cork: () => void, uncork: () => void } | undefined {
  const transport = socket.transport
  return transport.name === 'websocket' ? transport.socket?._socket : undefined
}

/**
 * Disconnects a client without engine.io's orderly long-polling close, which
 * keeps a 30 s timer (its closeTimeout) waiting for one more poll; a client
 * that was just told to go often never sends it, and the timer would hold the
 * process open after app.close(). Packets already queued are still delivered.
 */
function cutOff (socket: Socket): void {
  socket.conn.transport.discard()
  socket.disconnect(true)
}

/**
 * engine.io hands its middlewares a stand-in response for each WebSocket
 * upgrade, and a 'close' listener it puts on the TCP socket keeps that
 * response, and through it the upgrade request, alive for the connection's
 * whole life. Once the WebSocket is open nothing reads the request (the
 * stand-in's header methods only serve middlewares, which have all run), so
 * it is let go when engine.io reports the connection or the upgrade.
 */
function releaseUpgradeRequests (io: Server): void {
  const upgrading = new WeakMap<object, { req: IncomingMessage | null }>()
  io.engine.use((req: IncomingMessage, res: unknown, next: () => void) => {
    if (!(res instanceof ServerResponse)) upgrading.set(req.socket, res as { req: IncomingMessage | null })
    next()
  })
  const release = (socket: EngineSocket): void => {
    const tcp = tcpOf(socket)
    const response = tcp === undefined ? undefined : upgrading.get(tcp)
    if (response === undefined) return
    response.req = null
  }
  io.engine.on('connection', (socket: EngineSocket & { once: (event: 'upgrade', listener: () => void) => void }) => {
    if (socket.transport.name === 'websocket') release(socket)
    else socket.once('upgrade', () => { release(socket) })
  })
}

function replyFor (ack: ((...args: unknown[]) => void) | undefined, style: 'error-first' | 'value'): (result: AckResult) => void {
  if (ack === undefined) return noReply
  if (style === 'value') {
    return (result) => { result.ok ? ack(result.data) : ack({ error: result.error.wire }) }
  }
  return (result) => { result.ok ? ack(null, result.data) : ack(result.error.wire) }
}

export function attachSocketIo (app: FastifyInstance, options: SignalingOptions, table: EventTable, hub: ConnectionHub): Server {
  const { socketIo } = options
  const io = new Server(app.server, {
    path: socketIo.path,
    serveClient: false,
    transports: ['polling', 'websocket'],
    maxHttpBufferSize: options.maxMessageBytes,
    pingInterval: socketIo.pingIntervalMs,
    pingTimeout: socketIo.pingTimeoutMs,
    // Upgrades on other paths belong to the plain WebSocket route; never cut them.
    destroyUpgrade: false,
    cors: { origin: socketIo.corsOrigins.includes('*') ? '*' : socketIo.corsOrigins }
  })

  // engine.io writes the packets it has buffered for a client (everything
  // emitted while the previous write was in flight: relayed messages, an
  // ack and its users-updated) one frame per syscall; corking the TCP socket
  // from its "flush" to its "drain" (both emitted synchronously around the
  // transport's send) makes that one write.
  io.engine.on('flush', (socket: EngineSocket) => { tcpOf(socket)?.cork() })
  io.engine.on('drain', (socket: EngineSocket) => { tcpOf(socket)?.uncork() })
  releaseUpgradeRequests(io)

  // Authentication is per connection: a client joining a second namespace on
  // the same connection keeps the identity it proved on the first (its
  // handshake request is let go once the first namespace is joined).
  const proven = new WeakMap<object, Identity | null>()
  const addressOf = clientAddress(socketIo.trustProxy)

  const namespaces = options.prefix === '' ? [io.of('/')] : [io.of('/'), io.of(options.prefix)]
  for (const namespace of namespaces) {
    namespace.use((socket, next) => {
      const identity = proven.get(socket.conn)
      if (identity !== undefined) {
        socket.data.identity = identity
        socket.data.ip = addressOf(socket.handshake.address, socket.handshake.headers)
        next()
        return
      }
      const ip = addressOf(socket.handshake.address, socket.handshake.headers)
      socket.data.ip = ip
      app.netplay.rateLimit.take('http', ip)
        .then(async (taken) => {
          if (!taken.allowed) throw Object.assign(new Error('rate limited'), { code: 'FST_NETPLAY_RATE_LIMITED', statusCode: 429, wireCode: 'rate_limited' })
          return app.netplay.auth.authenticate({ headers: socket.handshake.headers, query: socket.handshake.query, handshakeAuth: socket.handshake.auth }, { ip })
        })
        .then((identity) => {
          proven.set(socket.conn, identity)
          socket.data.identity = identity
          next()
        }, (err: unknown) => {
          const body = errorBody(err)
          next(Object.assign(new Error(body.message), { data: body }))
        })
    })

    namespace.on('connection', (socket) => {
      const connection = new SocketIoConnection(socket, socket.data.identity as Identity | null, socket.data.ip as string)
      // Socket.IO's own advice for memory: engine.io keeps the connection's
      // first HTTP request (headers, parser state, the socket it came on)
      // for as long as the client stays. `socket.handshake` has what was
      // read from it; nothing reads the request itself after this.
      ;(socket.conn as unknown as { request: IncomingMessage | null }).request = null
      const guard = table.guard()
      hub.add(connection)
      // One listener for every event (known or not) instead of one per event
      // per socket: less memory per connection. A client waiting on an ack
      // for an unknown event is answered ("unknown event") instead of left
      // to time out.
      socket.onAny((name: string, ...args: unknown[]) => {
        const ack = typeof args.at(-1) === 'function' ? args.pop() as (...a: unknown[]) => void : undefined
        table.dispatch(connection, guard, name, args[0], ack === undefined ? noReply : replyFor(ack, table.ackStyle(name)))
      })
      socket.on('disconnect', (reason) => hub.remove(connection, reason === 'client namespace disconnect' ? CLIENT_LEFT : reason))
    })
  }

  app.addHook('preClose', (done) => {
    for (const namespace of namespaces) {
      for (const socket of namespace.sockets.values()) cutOff(socket)
    }
    io.engine.close()
    done()
  })
  return io
}
