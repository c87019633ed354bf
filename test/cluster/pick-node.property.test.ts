// Property: placement (power of two random choices) never sends a room to a
// node that is draining, full or whose lease has ended, and of the two nodes
// it draws it takes the less loaded. The nodes are real registry entries in
// a real Redis, read back by a real heartbeat; only `random` is injected.
import t from 'tap'
import fc from 'fast-check'
import type { FastifyBaseLogger } from 'fastify'
import { ClusterRegistry, loadOf, type NodeInfo } from '../../plugins/cluster/registry.ts'
import { startRedis } from '../helpers/redis.ts'

const quiet = { warn () {}, info () {}, error () {}, debug () {} } as unknown as FastifyBaseLogger

interface Drawn { info: NodeInfo, expired: boolean }

const drawnNode = (nodeId: string): fc.Arbitrary<Drawn> => fc.record({
  capacityRooms: fc.integer({ min: 0, max: 6 }),
  capacitySeats: fc.integer({ min: 0, max: 20 }),
  rooms: fc.integer({ min: 0, max: 7 }),
  seats: fc.integer({ min: 0, max: 22 }),
  draining: fc.boolean(),
  expired: fc.integer({ min: 0, max: 5 }).map((n) => n === 0)
}).map(({ capacityRooms, capacitySeats, rooms, seats, draining, expired }) => ({
  expired,
  info: { nodeId, url: `http://${nodeId}.invalid`, draining, capacity: { rooms: capacityRooms, seats: capacitySeats }, rooms, seats, connections: seats }
}))

const cluster = fc.integer({ min: 0, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => drawnNode(`n${i}`))))

const eligible = (n: NodeInfo): boolean => !n.draining && n.rooms < n.capacity.rooms && n.seats < n.capacity.seats

t.test('pickNode: never a draining, full or expired node; the less loaded of the two drawn', async (t) => {
  const redis = await startRedis(t)
  const client = redis.client()
  let run = 0

  /** A registry for node "self" that has seen `nodes` through one heartbeat. */
  async function registryWith (nodes: Drawn[]): Promise<ClusterRegistry> {
    const keyPrefix = `pick:${run++}:`
    const [seconds, micros] = await client.time()
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const pipeline = client.pipeline()
    for (const { info, expired } of nodes) {
      pipeline.zadd(`${keyPrefix}nodes`, expired ? now - 1000 : now + 60_000, info.nodeId)
      pipeline.set(`${keyPrefix}node:${info.nodeId}`, JSON.stringify(info), 'PX', 60_000)
    }
    await pipeline.exec()
    const self: NodeInfo = { nodeId: 'self', url: 'http://self.invalid', draining: false, capacity: { rooms: 1, seats: 1 }, rooms: 1, seats: 1, connections: 0 }
    const registry = new ClusterRegistry(client, client, { nodeId: 'self', keyPrefix, heartbeatMs: 1000, leaseMs: 60_000 }, { info: () => self, rooms: () => [] }, quiet)
    await registry.heartbeat()
    if (!registry.healthy) throw new Error('the heartbeat did not reach Redis')
    return registry
  }

  await fc.assert(fc.asyncProperty(cluster, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (nodes, r1, r2) => {
    const registry = await registryWith(nodes)
    const draws = [r1, r2]
    const picked = registry.pickNode(() => draws.shift() ?? 0)
    const candidates = registry.liveNodes().filter(eligible)
    const live = new Set(nodes.filter((n) => !n.expired).map((n) => n.info.nodeId))
    if (!registry.liveNodes().every((n) => live.has(n.nodeId))) return false // expired nodes are never live
    if (picked === null) return candidates.length === 0
    if (!eligible(picked) || !live.has(picked.nodeId)) return false
    // The two draws, as the caller's random chose them; the pick is the less loaded.
    const a = candidates[Math.floor(r1 * candidates.length)] as NodeInfo
    const b = candidates[Math.floor(r2 * candidates.length)] as NodeInfo
    return (picked.nodeId === a.nodeId || picked.nodeId === b.nodeId) && loadOf(picked) === Math.min(loadOf(a), loadOf(b))
  }), { numRuns: 150 })

  // Two live nodes, one busier: over every pair of draws, the idle one wins 3 times in 4.
  const busy: Drawn = { expired: false, info: { nodeId: 'busy', url: 'http://busy.invalid', draining: false, capacity: { rooms: 10, seats: 40 }, rooms: 8, seats: 30, connections: 30 } }
  const idle: Drawn = { expired: false, info: { nodeId: 'idle', url: 'http://idle.invalid', draining: false, capacity: { rooms: 10, seats: 40 }, rooms: 1, seats: 2, connections: 2 } }
  const registry = await registryWith([busy, idle])
  const wins = { busy: 0, idle: 0 }
  for (const r1 of [0.1, 0.9]) {
    for (const r2 of [0.1, 0.9]) {
      const draws = [r1, r2]
      const picked = registry.pickNode(() => draws.shift() ?? 0)
      wins[picked?.nodeId as 'busy' | 'idle']++
    }
  }
  t.strictSame(wins, { busy: 1, idle: 3 }, 'the less loaded node is preferred')
})
