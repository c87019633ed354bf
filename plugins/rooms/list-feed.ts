// The room list over the socket: `request-room-list` answers with a
// `rooms-updated` push and keeps the connection up to date while it stays.
// EmulatorJS-SFU generation 2 (its current builds) fills its lobby table
// this way, not from GET /list, as romm-sfu-server offers it; without it the
// table says "No rooms available" forever.
//
// romm-sfu-server broadcasts every change to every socket. Here only the
// connections that asked get it, filtered like /list by the `domain` and
// `game_id` they asked with, and changes are coalesced: at most one push
// per `listPushIntervalMs`, one encoding per distinct filter.
import { OutgoingEvent, type Connection, type SignalingApi } from '../signaling/index.ts'
import type { RoomService } from './service.ts'

export const ROOMS_UPDATED = 'rooms-updated'

interface Filter { domain: string | undefined, gameId: string | undefined }

export class RoomListFeed {
  readonly #service: RoomService
  readonly #signaling: SignalingApi
  readonly #intervalMs: number
  readonly #subscribers = new Map<string, Filter>()
  #timer: NodeJS.Timeout | null = null

  constructor (service: RoomService, signaling: SignalingApi, intervalMs: number) {
    this.#service = service
    this.#signaling = signaling
    this.#intervalMs = intervalMs
  }

  get subscribers (): number { return this.#subscribers.size }

  /** Sends the list now and keeps the connection up to date until it goes. */
  subscribe (connection: Connection, filter: Filter): void {
    this.#subscribers.set(connection.id, filter)
    connection.emit(ROOMS_UPDATED, this.#list(filter))
  }

  unsubscribe (connectionId: string): void {
    this.#subscribers.delete(connectionId)
  }

  /** A room appeared, changed or went: push soon (coalesced). */
  changed (): void {
    if (this.#subscribers.size === 0 || this.#timer !== null) return
    this.#timer = setTimeout(this.#push, this.#intervalMs)
    this.#timer.unref()
  }

  close (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#subscribers.clear()
  }

  readonly #push = (): void => {
    this.#timer = null
    const prepared = new Map<string, OutgoingEvent>()
    for (const [connectionId, filter] of this.#subscribers) {
      const connection = this.#signaling.connection(connectionId)
      if (connection === undefined) {
        this.#subscribers.delete(connectionId)
        continue
      }
      const key = `${filter.domain ?? ''}\n${filter.gameId ?? ''}`
      let message = prepared.get(key)
      if (message === undefined) {
        message = new OutgoingEvent(ROOMS_UPDATED, this.#list(filter))
        prepared.set(key, message)
      }
      if (connection.deliver !== undefined) connection.deliver(message)
      else connection.emit(message.event, message.data)
    }
  }

  /** romm-sfu-server's entries: the /list entry with the room key as `id` and its name as `name`. */
  #list (filter: Filter): Array<Record<string, unknown>> {
    return Object.entries(this.#service.list(filter.domain, filter.gameId))
      .map(([id, entry]) => ({ id, name: (entry as Record<string, unknown>).room_name, ...(entry as Record<string, unknown>) }))
  }
}
