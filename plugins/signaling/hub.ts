// Live connections of this node, whatever their transport, so plugins can
// reach a peer by its socket id and learn when a connection goes away.
import type { Connection } from './event-table.ts'

/**
 * The disconnect reason when the client closed on purpose (Socket.IO
 * `socket.disconnect()`, WebSocket close code 1000): no reconnect is coming.
 * Socket.IO drops events that arrive in the same batch as the disconnect, so
 * upstream EmulatorJS's `leave-room` right before `disconnect()` is lost; this
 * reason is how rooms still learn that the player left.
 */
export const CLIENT_LEFT = 'client left'

export type ConnectionListener = (connection: Connection) => void
export type DisconnectListener = (connection: Connection, reason: string) => void

export class ConnectionHub {
  readonly #connections = new Map<string, Connection>()
  readonly #onConnect: ConnectionListener[] = []
  readonly #onDisconnect: DisconnectListener[] = []
  get size (): number { return this.#connections.size }

  get (id: string): Connection | undefined { return this.#connections.get(id) }

  onConnect (listener: ConnectionListener): void { this.#onConnect.push(listener) }

  onDisconnect (listener: DisconnectListener): void { this.#onDisconnect.push(listener) }

  add (connection: Connection): void {
    this.#connections.set(connection.id, connection)
    for (const listener of this.#onConnect) listener(connection)
  }

  remove (connection: Connection, reason: string): void {
    if (this.#connections.get(connection.id) !== connection) return
    this.#connections.delete(connection.id)
    for (const listener of this.#onDisconnect) listener(connection, reason)
  }

  all (): IterableIterator<Connection> { return this.#connections.values() }
}
