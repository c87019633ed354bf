// One way for every plugin to get a Redis connection. A URL or options object
// makes a client that this plugin owns and closes in onClose; a client the
// host passes is borrowed and never closed (the @fastify/redis rule).
// Registration waits for PING so a wrong URL fails at boot. ioredis is
// loaded on the first connection: a node on memory stores (the default)
// never loads it.
import type { Redis, RedisOptions } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import { defineError, OptionsInvalidError } from './errors.ts'

export type RedisOption = string | RedisOptions | Redis

export const RedisUnavailableError = defineError<[string]>(
  'FST_NETPLAY_REDIS_UNAVAILABLE',
  'Redis is unavailable: %s',
  503
)

/** Commands fail fast instead of queueing while Redis is down, so callers can fail open or closed. */
const OWNED_DEFAULTS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2000,
  connectTimeout: 3000,
  lazyConnect: true,
  retryStrategy: (times) => Math.min(times * 200, 2000)
}

/** A client the host passes (ioredis, or anything with its command API: a Cluster, a wrapper). */
export function isRedisClient (value: unknown): value is Redis {
  return value !== null && typeof value === 'object' && typeof (value as Redis).defineCommand === 'function' && typeof (value as Redis).evalsha === 'function'
}

export async function connectRedis (app: FastifyInstance, option: RedisOption, owner: string): Promise<Redis> {
  if (isRedisClient(option)) return option
  const { Redis } = await import('ioredis')
  const client = typeof option === 'string'
    ? new Redis(option, { ...OWNED_DEFAULTS, connectionName: owner })
    : new Redis({ ...OWNED_DEFAULTS, connectionName: owner, ...option })
  // Errors surface through command failures; an unhandled 'error' event would crash the host.
  let lastLogged = 0
  client.on('error', (err: Error) => {
    const now = Date.now()
    if (now - lastLogged > 10_000) {
      lastLogged = now
      app.log.warn({ owner, err: { message: err.message } }, 'redis connection error')
    }
  })
  app.addHook('onClose', async () => {
    // disconnect() only starts closing the socket: wait for 'end' so app.close()
    // leaves no handle open. Between reconnects there is no socket to wait for.
    const ended = client.status === 'reconnecting' || client.status === 'end'
      ? undefined
      : new Promise((resolve) => client.once('end', resolve))
    client.disconnect(false)
    await ended
  })
  try {
    await client.connect()
    await client.ping()
  } catch (err) {
    client.disconnect(false)
    throw new RedisUnavailableError(`${owner}: ${(err as Error).message}`)
  }
  return client
}

/** Resolves the store option shared by every plugin: memory, or Redis (which then needs `redis`). */
export async function redisForStore (
  app: FastifyInstance,
  scope: string,
  store: 'memory' | 'redis',
  option: RedisOption | undefined
): Promise<Redis | null> {
  if (store === 'memory') return null
  if (option === undefined) throw new OptionsInvalidError(`${scope}.redis`, 'required when store is "redis"')
  return connectRedis(app, option, `netplay-${scope}`)
}
