// Starts a real redis-server on a free loopback port for one test file and
// stops it at teardown. No mocks: the Redis stores are tested against Redis.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { Redis } from 'ioredis'

export interface RedisServer {
  port: number
  url: string
  /** Kills the server (simulates Redis going away mid-test). */
  stop (): Promise<void>
  /** Starts it again on the same port. */
  start (): Promise<void>
  /** A client for assertions; closed at teardown. */
  client (): Redis
}

interface Teardown { teardown (fn: () => unknown): void }

function redisBinary (): string {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('redis-server not found on PATH: install it (Debian: apt-get install -y redis-server); .ci/run does this')
  }
}

export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** Spawns redis-server on `port` and resolves once it answers PING (10 s at most; killed if it never does). */
export async function spawnRedis (port: number, binary = redisBinary()): Promise<ChildProcess> {
  const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const deadline = Date.now() + 10_000
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return child
    } catch {
      probe.disconnect()
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL')
        throw new Error(`redis-server did not start on port ${port}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

export async function startRedis (t: Teardown): Promise<RedisServer> {
  const binary = redisBinary()
  const port = await freePort()
  let child: ChildProcess | null = null
  const clients: Redis[] = []

  async function start (): Promise<void> {
    child = await spawnRedis(port, binary)
  }

  async function stop (): Promise<void> {
    const running = child
    child = null
    if (running === null || running.exitCode !== null) return
    running.kill('SIGKILL')
    await once(running, 'exit')
  }

  await start()
  t.teardown(async () => {
    for (const c of clients) c.disconnect()
    await stop()
  })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    client () {
      const c = new Redis({ port, host: '127.0.0.1' })
      c.on('error', () => {})
      clients.push(c)
      return c
    }
  }
}
