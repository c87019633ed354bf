// Room summaries in Redis, for RomM and (later) other nodes: one key per
// room (`sfu:room:<name>` by default, the key RomM reads) with a TTL that
// this node refreshes while the room lives. A room whose node dies simply
// expires. Redis trouble is logged, never shown to players.
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'
import type { Room } from './room.ts'

export interface RoomRegistry {
  publish (room: Room): void
  remove (room: Room): void
  close (): void
}

export const noRegistry: RoomRegistry = { publish () {}, remove () {}, close () {} }

/** Another node, as a client is told to reach it. */
export interface NodeRef { nodeId: string, url: string }

/**
 * Where rooms of other nodes are: the cluster plugin provides one; a single
 * node has `singleNode` (every name is free, nothing is elsewhere).
 */
export interface RoomDirectory extends RoomRegistry {
  /** Claims a room key across nodes before it is created here; false when another node has it. */
  claim (key: string): Promise<boolean>
  /** The node that has a room this node does not. */
  locate (key: string): Promise<NodeRef | null>
  /** Where a new room should go when this node is over capacity: a node, `'full'` (nowhere), or null (here). */
  placeElsewhere (): NodeRef | 'full' | null
  /** Summaries (`Room.summary()`) of the rooms of other live nodes. */
  remoteRooms (): Iterable<[string, Record<string, unknown>]>
  /** Runs `listener` whenever another node's rooms change. */
  onRemoteChange (listener: () => void): void
}

export const singleNode: RoomDirectory = {
  ...noRegistry,
  claim: async () => true,
  locate: async () => null,
  placeElsewhere: () => null,
  remoteRooms: () => [],
  onRemoteChange: () => {}
}

export class RedisRoomRegistry implements RoomRegistry {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #ttlMs: number
  readonly #log: FastifyBaseLogger
  readonly #node: { nodeId: string, url: string | undefined }
  readonly #live = new Map<string, Room>()
  readonly #timer: NodeJS.Timeout
  #lastWarnMs = 0

  constructor (redis: Redis, options: { prefix: string, ttlMs: number, nodeId: string, url: string | undefined }, log: FastifyBaseLogger) {
    this.#redis = redis
    this.#prefix = options.prefix
    this.#ttlMs = options.ttlMs
    this.#node = { nodeId: options.nodeId, url: options.url }
    this.#log = log
    this.#timer = setInterval(() => { for (const room of this.#live.values()) this.#write(room) }, Math.max(500, Math.floor(options.ttlMs / 3)))
    this.#timer.unref()
  }

  publish (room: Room): void {
    this.#live.set(room.key, room)
    this.#write(room)
  }

  remove (room: Room): void {
    this.#live.delete(room.key)
    this.#redis.del(this.#prefix + room.key).catch((err: unknown) => this.#warn(err))
  }

  close (): void {
    clearInterval(this.#timer)
    const keys = [...this.#live.keys()].map((key) => this.#prefix + key)
    this.#live.clear()
    if (keys.length > 0) this.#redis.del(...keys).catch((err: unknown) => this.#warn(err))
  }

  #write (room: Room): void {
    const summary = { ...room.listEntry(), ...this.#node, updatedAt: Date.now() }
    this.#redis.set(this.#prefix + room.key, JSON.stringify(summary), 'PX', this.#ttlMs).catch((err: unknown) => this.#warn(err))
  }

  #warn (err: unknown): void {
    const now = Date.now()
    if (now - this.#lastWarnMs < 10_000) return
    this.#lastWarnMs = now
    this.#log.warn({ err: { message: (err as Error).message } }, 'room registry write failed')
  }
}
