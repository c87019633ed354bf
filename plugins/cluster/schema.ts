import Type, { type Static } from 'typebox'
import type { RedisOption } from '../../lib/redis.ts'

export const ClusterOptions = Type.Object({
  redis: Type.Unsafe<RedisOption>(Type.Any({ description: 'Redis shared by every node (required).' })),
  nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Defaults to the rooms plugin node id.' })),
  publicUrl: Type.String({ pattern: '^https?://', description: 'URL clients use to reach this node (sent in redirects).' }),
  keyPrefix: Type.String({ default: 'netplay:cluster:' }),
  heartbeatMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000 }),
  leaseMs: Type.Integer({ minimum: 300, maximum: 300_000, default: 6000, description: 'A node that misses heartbeats for this long is gone, with its rooms.' }),
  capacity: Type.Object({
    rooms: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000 }),
    seats: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 4000 })
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false })

export type ClusterOptions = Static<typeof ClusterOptions>
export type ClusterOptionsInput = Partial<Omit<ClusterOptions, 'capacity'>> & Pick<ClusterOptions, 'redis' | 'publicUrl'> & {
  capacity?: Partial<ClusterOptions['capacity']>
}
