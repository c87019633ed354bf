// `cluster`: several netplay nodes behind one hostname, sharing one Redis.
// Registers this node with a lease, publishes its rooms and load, makes a
// room name exist once across nodes, redirects joins that reach the wrong
// node, and sends new rooms elsewhere when this node is over capacity.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { PACKAGE, netplayNamespace } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { connectRedis } from '../../lib/redis.ts'
import { ClusterRegistry, type NodeInfo } from './registry.ts'
import { ClusterOptions, type ClusterOptionsInput } from './schema.ts'

export interface ClusterApi {
  readonly nodeId: string
  /** True while this node's heartbeats reach Redis. */
  readonly healthy: boolean
  /** The other live nodes with their load. */
  liveNodes (): NodeInfo[]
  /** Leaves the cluster now (draining); idempotent. */
  leave (): Promise<void>
  /** Stops sending this node new rooms (shutdown in progress). */
  drain (): void
  readonly draining: boolean
  /** Runs one heartbeat now (tests, and right after a Redis restart). */
  heartbeat (): Promise<void>
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    cluster: ClusterApi
  }
}

const parseOptions = optionsParser('cluster', ClusterOptions)

async function cluster (app: FastifyInstance, input: ClusterOptionsInput): Promise<void> {
  const options = parseOptions(input)
  const rooms = app.netplay.rooms
  const nodeId = options.nodeId ?? rooms.nodeId
  const redis = await connectRedis(app, options.redis, 'netplay-cluster')
  // Pub/sub needs a connection of its own; this plugin made it, so it closes it.
  const subscriber = await connectRedis(app, { ...redis.options, lazyConnect: true, enableOfflineQueue: true }, 'netplay-cluster-events')
  let draining = false
  const load = (): { rooms: number, seats: number } => {
    let count = 0
    let seats = 0
    for (const room of rooms.all()) { count++; seats += room.current }
    return { rooms: count, seats }
  }

  const registry = new ClusterRegistry(redis, subscriber, { nodeId, keyPrefix: options.keyPrefix, heartbeatMs: options.heartbeatMs, leaseMs: options.leaseMs }, {
    info: () => ({ nodeId, url: options.publicUrl, draining, capacity: options.capacity, ...load(), connections: app.netplay.signaling.connectionCount }),
    rooms: function * () { for (const room of rooms.all()) yield [room.key, room.summary()] }
  }, app.log)

  rooms.setDirectory({
    claim: async (key) => registry.claim(key),
    locate: async (key) => {
      const node = await registry.locate(key)
      return node === null ? null : { nodeId: node.nodeId, url: node.url }
    },
    placeElsewhere: () => {
      const { rooms: count, seats } = load()
      // A draining node takes no new room, even one it would open itself
      // for want of a client able to follow a redirect: it is going away.
      if (draining) return 'full'
      if (count < options.capacity.rooms && seats < options.capacity.seats) return null
      const node = registry.pickNode()
      return node === null ? 'full' : { nodeId: node.nodeId, url: node.url }
    },
    remoteRooms: () => registry.remoteRooms(),
    onRemoteChange: (listener) => registry.onRoomsChanged(listener),
    publish: (room) => registry.publishRoom(room.key, room.summary()),
    remove: (room) => registry.removeRoom(room.key),
    close: () => {}
  })

  let left = false
  const leave = async (): Promise<void> => {
    draining = true
    if (left) return
    left = true
    await registry.stop()
  }
  app.addHook('onReady', async () => { await registry.start() })
  app.addHook('preClose', async () => { await leave() })

  netplayNamespace(app).cluster = {
    nodeId,
    get healthy () { return registry.healthy },
    get draining () { return draining },
    liveNodes: () => registry.liveNodes(),
    leave,
    drain: () => { draining = true },
    heartbeat: () => registry.heartbeat()
  }
}

export default fp(cluster, {
  fastify: '5.x',
  name: `${PACKAGE}/cluster`,
  dependencies: [`${PACKAGE}/rooms`]
})

export { ClusterOptions, type ClusterOptionsInput } from './schema.ts'
export type { NodeInfo } from './registry.ts'
