// The cluster registry on Redis. Redis is the one source of truth; there is
// no consensus of our own:
//   <p>nodes            ZSET  nodeId -> lease expiry (Redis clock)
//   <p>node:<id>        JSON  node info and load, PX lease
//   <p>rooms:<id>       HASH  room key -> room summary, PX lease
//   <p>claim:<room>     nodeId, PX lease: a room name exists once across nodes
//   <p>events           pub/sub: room upserts/deletes and node departures
// Each node heartbeats every `heartbeatMs`, refreshing its lease, its room
// hash and its claims in one script. Other nodes' rooms are cached here from
// one load plus pub/sub, so /list never polls Redis. A node that stops
// heartbeating drops out of every node's view when its lease ends (checked
// against the local clock between heartbeats).
import type { FastifyBaseLogger } from 'fastify'
import type { Redis } from 'ioredis'

export interface NodeLoad {
  rooms: number
  seats: number
  connections: number
}

export interface NodeInfo extends NodeLoad {
  nodeId: string
  url: string
  draining: boolean
  capacity: { rooms: number, seats: number }
}

export type RoomSummary = Record<string, unknown>

export interface LocalNode {
  info (): NodeInfo
  /** This node's rooms as [key, summary]. */
  rooms (): Iterable<[string, RoomSummary]>
}

interface Commands {
  netplayHeartbeat (nodes: string, node: string, rooms: string, nodeId: string, leaseMs: number, info: string): Promise<Array<string | number>>
  netplayClaim (claim: string, nodeId: string, leaseMs: number): Promise<number>
  netplayRelease (claim: string, nodeId: string): Promise<number>
}

type Pipeline = ReturnType<Redis['pipeline']> & {
  netplayClaim (claim: string, nodeId: string, leaseMs: number): Pipeline
  netplayRelease (claim: string, nodeId: string): Pipeline
}

// Refreshes this node's lease and returns every live node as [now, id, expiry, info, ...].
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('SET', KEYS[2], ARGV[3], 'PX', lease)
redis.call('PEXPIRE', KEYS[3], lease)
local out = { now }
local live = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
local prefix = string.sub(KEYS[2], 1, string.len(KEYS[2]) - string.len(ARGV[1]))
for i = 1, #live, 2 do
  local info = redis.call('GET', prefix .. live[i])
  if info then
    table.insert(out, live[i])
    table.insert(out, live[i + 1])
    table.insert(out, info)
  end
end
return out
`

const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

interface RemoteNode {
  info: NodeInfo
  /** Lease end on the local clock. */
  expiresAt: number
  rooms: Map<string, RoomSummary> | null
}

type RegistryEvent =
  | { op: 'upsert', nodeId: string, key: string, summary: RoomSummary }
  | { op: 'delete', nodeId: string, key: string }
  | { op: 'node-down', nodeId: string }

export interface ClusterRegistryOptions {
  nodeId: string
  keyPrefix: string
  heartbeatMs: number
  leaseMs: number
}

export class ClusterRegistry {
  readonly nodeId: string
  readonly #redis: Redis & Commands
  readonly #subscriber: Redis
  readonly #options: ClusterRegistryOptions
  readonly #log: FastifyBaseLogger
  readonly #local: LocalNode
  readonly #nodes = new Map<string, RemoteNode>()
  #timer: NodeJS.Timeout | null = null
  #healthy = false
  #resync = true
  #stopped = false
  #lastWarnMs = 0
  /** Heartbeats that reached Redis (observability, tests). */
  heartbeats = 0
  readonly #onRoomsChanged: Array<() => void> = []

  constructor (redis: Redis, subscriber: Redis, options: ClusterRegistryOptions, local: LocalNode, log: FastifyBaseLogger) {
    for (const [name, lua, keys] of [['netplayHeartbeat', HEARTBEAT, 3], ['netplayClaim', CLAIM, 1], ['netplayRelease', RELEASE, 1]] as const) {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, { lua, numberOfKeys: keys })
    }
    this.#redis = redis as Redis & Commands
    this.#subscriber = subscriber
    this.#options = options
    this.nodeId = options.nodeId
    this.#local = local
    this.#log = log
  }

  #key (suffix: string): string { return this.#options.keyPrefix + suffix }

  #pipeline (): Pipeline { return this.#redis.pipeline() as Pipeline }

  /** True while heartbeats reach Redis. */
  get healthy (): boolean { return this.#healthy }

  async start (): Promise<void> {
    this.#subscriber.on('message', (_channel: string, message: string) => this.#onEvent(message))
    await this.#subscriber.subscribe(this.#key('events'))
    await this.heartbeat()
    this.#timer = setInterval(() => { this.heartbeat().catch(() => {}) }, this.#options.heartbeatMs)
    this.#timer.unref()
  }

  /** Leaves the cluster: other nodes stop listing this node and its rooms at once. */
  async stop (): Promise<void> {
    this.#stopped = true
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    try {
      const keys = [...this.#local.rooms()].map(([key]) => key)
      const pipeline = this.#pipeline()
      pipeline.zrem(this.#key('nodes'), this.nodeId)
      pipeline.del(this.#key(`node:${this.nodeId}`), this.#key(`rooms:${this.nodeId}`))
      for (const key of keys) pipeline.netplayRelease(this.#key(`claim:${key}`), this.nodeId)
      pipeline.publish(this.#key('events'), JSON.stringify({ op: 'node-down', nodeId: this.nodeId } satisfies RegistryEvent))
      await pipeline.exec()
    } catch (err) {
      this.#warn(err, 'cluster deregistration failed')
    }
    this.#healthy = false
  }

  async heartbeat (): Promise<void> {
    if (this.#stopped) return
    try {
      const sentAt = Date.now()
      if (this.#resync) await this.#republish()
      const reply = await this.#redis.netplayHeartbeat(
        this.#key('nodes'), this.#key(`node:${this.nodeId}`), this.#key(`rooms:${this.nodeId}`),
        this.nodeId, this.#options.leaseMs, JSON.stringify(this.#local.info()))
      const redisNow = Number(reply[0])
      const offset = (sentAt + Date.now()) / 2 - redisNow
      const seen = new Set<string>()
      for (let i = 1; i + 2 < reply.length; i += 3) {
        const id = String(reply[i])
        if (id === this.nodeId) continue
        seen.add(id)
        const info = JSON.parse(String(reply[i + 2])) as NodeInfo
        const expiresAt = Number(reply[i + 1]) + offset
        const known = this.#nodes.get(id)
        if (known === undefined || this.#resync) this.#nodes.set(id, { info, expiresAt, rooms: known?.rooms ?? null })
        else { known.info = info; known.expiresAt = expiresAt }
      }
      for (const id of this.#nodes.keys()) if (!seen.has(id)) this.#nodes.delete(id)
      await this.#refreshClaims()
      await this.#loadMissingRooms()
      this.heartbeats++
      this.#healthy = true
      this.#resync = false
    } catch (err) {
      if (this.#healthy) this.#log.warn({ err: { message: (err as Error).message } }, 'cluster heartbeat failed: this node is not ready until Redis answers')
      this.#healthy = false
      this.#resync = true
    }
  }

  /** After a Redis outage or at start: write every local room again and reload remote rooms. */
  async #republish (): Promise<void> {
    const pipeline = this.#pipeline().del(this.#key(`rooms:${this.nodeId}`))
    for (const [key, summary] of this.#local.rooms()) {
      pipeline.hset(this.#key(`rooms:${this.nodeId}`), key, JSON.stringify(summary))
    }
    pipeline.pexpire(this.#key(`rooms:${this.nodeId}`), this.#options.leaseMs)
    await pipeline.exec()
    for (const node of this.#nodes.values()) node.rooms = null
  }

  async #refreshClaims (): Promise<void> {
    const keys = [...this.#local.rooms()].map(([key]) => key)
    if (keys.length === 0) return
    const pipeline = this.#pipeline()
    for (const key of keys) pipeline.netplayClaim(this.#key(`claim:${key}`), this.nodeId, this.#options.leaseMs)
    const results = await pipeline.exec()
    results?.forEach(([err, owned], i) => {
      if (err === null && owned === 0) this.#log.warn({ room: keys[i] }, 'room name is claimed by another node (split during a Redis outage); the local game goes on')
    })
  }

  async #loadMissingRooms (): Promise<void> {
    const missing = [...this.#nodes.entries()].filter(([, node]) => node.rooms === null)
    if (missing.length === 0) return
    const pipeline = this.#pipeline()
    for (const [id] of missing) pipeline.hgetall(this.#key(`rooms:${id}`))
    const results = await pipeline.exec()
    missing.forEach(([, node], i) => {
      const [err, hash] = results?.[i] ?? [new Error('no reply'), null]
      if (err !== null) return
      node.rooms = new Map(Object.entries(hash as Record<string, string>).map(([key, json]) => [key, JSON.parse(json) as RoomSummary]))
    })
  }

  /** Runs `listener` after another node's rooms changed (a room event or a node gone). */
  onRoomsChanged (listener: () => void): void { this.#onRoomsChanged.push(listener) }

  #onEvent (message: string): void {
    let event: RegistryEvent
    try { event = JSON.parse(message) as RegistryEvent } catch { return }
    if (event.nodeId === this.nodeId) return
    const node = this.#nodes.get(event.nodeId)
    if (event.op === 'node-down') {
      this.#nodes.delete(event.nodeId)
    } else {
      if (node?.rooms == null) return // loaded on the next heartbeat
      if (event.op === 'upsert') node.rooms.set(event.key, event.summary)
      else node.rooms.delete(event.key)
    }
    for (const listener of this.#onRoomsChanged) listener()
  }

  #live (): RemoteNode[] {
    const now = Date.now()
    return [...this.#nodes.values()].filter((node) => node.expiresAt > now)
  }

  /** Other live nodes. */
  liveNodes (): NodeInfo[] {
    return this.#live().map((node) => node.info)
  }

  /** Rooms of the other live nodes, for /list. */
  * remoteRooms (): Iterable<[string, RoomSummary]> {
    for (const node of this.#live()) {
      if (node.rooms === null) continue
      yield * node.rooms.entries()
    }
  }

  /** Which live node has a room (null when none). */
  async locate (key: string): Promise<NodeInfo | null> {
    for (const node of this.#live()) if (node.rooms?.has(key) === true) return node.info
    try {
      const owner = await this.#redis.get(this.#key(`claim:${key}`))
      if (owner === null || owner === this.nodeId) return null
      return this.#live().find((node) => node.info.nodeId === owner)?.info ?? null
    } catch {
      return null
    }
  }

  /** Claims a room name for this node; false when another node holds it. Throws when Redis is unreachable. */
  async claim (key: string): Promise<boolean> {
    return (await this.#redis.netplayClaim(this.#key(`claim:${key}`), this.nodeId, this.#options.leaseMs)) === 1
  }

  publishRoom (key: string, summary: RoomSummary): void {
    const json = JSON.stringify(summary)
    this.#pipeline()
      .hset(this.#key(`rooms:${this.nodeId}`), key, json)
      .pexpire(this.#key(`rooms:${this.nodeId}`), this.#options.leaseMs)
      .publish(this.#key('events'), JSON.stringify({ op: 'upsert', nodeId: this.nodeId, key, summary } satisfies RegistryEvent))
      .exec()
      .catch((err: unknown) => { this.#resync = true; this.#warn(err, 'cluster room publish failed') })
  }

  removeRoom (key: string): void {
    const pipeline = this.#pipeline()
    pipeline.hdel(this.#key(`rooms:${this.nodeId}`), key)
    pipeline.netplayRelease(this.#key(`claim:${key}`), this.nodeId)
    pipeline.publish(this.#key('events'), JSON.stringify({ op: 'delete', nodeId: this.nodeId, key } satisfies RegistryEvent))
    pipeline.exec().catch((err: unknown) => { this.#resync = true; this.#warn(err, 'cluster room removal failed') })
  }

  /**
   * A less-loaded live node for a new room (power of two random choices),
   * or null when every other node is full or draining.
   */
  pickNode (random: () => number = Math.random): NodeInfo | null {
    const candidates = this.liveNodes().filter((n) => !n.draining && n.rooms < n.capacity.rooms && n.seats < n.capacity.seats)
    if (candidates.length === 0) return null
    const a = candidates[Math.floor(random() * candidates.length)] as NodeInfo
    const b = candidates[Math.floor(random() * candidates.length)] as NodeInfo
    return loadOf(a) <= loadOf(b) ? a : b
  }

  #warn (err: unknown, message: string): void {
    const now = Date.now()
    if (now - this.#lastWarnMs < 10_000) return
    this.#lastWarnMs = now
    this.#log.warn({ err: { message: (err as Error).message } }, message)
  }
}

export function loadOf (node: NodeLoad & { capacity: { rooms: number, seats: number } }): number {
  const rooms = node.capacity.rooms === 0 ? 1 : node.rooms / node.capacity.rooms
  const seats = node.capacity.seats === 0 ? 1 : node.seats / node.capacity.seats
  return Math.max(rooms, seats)
}
