// Several netplay nodes as real child processes (the standalone server) on
// one real Redis, with real Socket.IO clients. Every client and every child
// is closed or killed at teardown, so a failing test leaves no process behind.
//
// All traffic is loopback. Each client (HTTP or Socket.IO) connects from its
// own address in 127.0.0.0/8 unless told otherwise: the built-in `http`
// limit (40 per IP, shared through Redis) would otherwise count every test
// request as coming from one user, as it would not in production.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { createSigner } from 'fast-jwt'
import { io } from 'socket.io-client'
import { asIoClient, connected, sfuExtra, type IoClient } from './netplay-clients.ts'
import { freePort } from './redis.ts'

interface Teardown { teardown (fn: () => unknown): void }

const SERVER = new URL('../../examples/standalone/server.ts', import.meta.url).pathname

/** HS256 secret the cluster tests run their nodes with (`--secret`). */
export const CLUSTER_SECRET = 'cluster-test-secret-0123456789abcdef-0123'

/** Short enough that a dead node is gone within a test, long enough for a loaded CI box. */
export const HEARTBEAT_MS = 200
export const LEASE_MS = 1000

// ---- loopback source addresses ----

let nextHost = Math.floor(Math.random() * 1000) * 50

/** A fresh 127.a.b.c (never in 127.0.0.0/24): one "user" as the rate limits see it. */
export function clientAddress (): string {
  const k = nextHost++ % 15_000_000
  return `127.${1 + Math.floor(k / 62_500) % 250}.${Math.floor(k / 250) % 250}.${1 + k % 250}`
}

// ---- nodes ----

export interface NodeOptions {
  redis: string
  nodeId: string
  /** Extra flags (`--capacity-rooms 1`, `--drain-timeout-ms 3000`, ...). */
  args?: string[]
  /** Run with auth on (`--secret`); default true. */
  auth?: boolean
  heartbeatMs?: number
  leaseMs?: number
  /** `info` (default) logs every request; `warn` keeps a benchmark quiet. */
  logLevel?: string
}

export interface NodeProcess {
  nodeId: string
  /** `http://127.0.0.1:<port>`, also its `--public-url`. */
  url: string
  child: ChildProcess
  /** The last 256 KiB the process wrote (stdout and stderr). */
  output (): string
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  readonly alive: boolean
  /** SIGKILL, and wait for the exit. */
  kill (): Promise<void>
  /** SIGTERM (graceful drain), and resolve with the exit. */
  stop (): Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

const OUTPUT_KEEP = 256 * 1024

/**
 * Spawns the standalone server on a free port with `--public-url` set to it,
 * so the cluster plugin is on. Resolves once the node answers `/readyz` 200,
 * that is, once it is registered in Redis.
 */
export async function startNode (t: Teardown, options: NodeOptions): Promise<NodeProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnNode(t, options)
    } catch (err) {
      // The free port can be taken between the probe and the child's listen.
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err
    }
  }
}

async function spawnNode (t: Teardown, options: NodeOptions): Promise<NodeProcess> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const logLevel = options.logLevel ?? 'info'
  const args = [
    SERVER, '--port', String(port), '--host', '127.0.0.1',
    '--redis', options.redis, '--public-url', url, '--node-id', options.nodeId,
    '--heartbeat-ms', String(options.heartbeatMs ?? HEARTBEAT_MS), '--lease-ms', String(options.leaseMs ?? LEASE_MS),
    '--log-level', logLevel,
    ...(options.auth === false ? [] : ['--secret', CLUSTER_SECRET]),
    ...(options.args ?? [])
  ]
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', NETPLAY_SFU: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer): void => {
    output += chunk.toString()
    if (output.length > OUTPUT_KEEP * 2) output = output.slice(-OUTPUT_KEEP)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const node: NodeProcess = {
    nodeId: options.nodeId,
    url,
    child,
    output: () => output,
    exited,
    get alive () { return child.exitCode === null && child.signalCode === null },
    async kill () {
      if (node.alive) child.kill('SIGKILL')
      await exited
    },
    async stop () {
      if (node.alive) child.kill('SIGTERM')
      return exited
    }
  }

  const deadline = Date.now() + 15_000
  for (;;) {
    if (!node.alive) throw new Error(`node ${options.nodeId} exited during start:\n${output.slice(-4000)}`)
    if (Date.now() > deadline) {
      await node.kill()
      throw new Error(`node ${options.nodeId} did not become ready:\n${output.slice(-4000)}`)
    }
    const ready = await get(url, '/readyz').catch(() => null)
    if (ready?.status === 200) return node
    await sleep(50)
  }
}

// ---- HTTP ----

export interface HttpReply { status: number, headers: Record<string, string | string[] | undefined>, body: any }

/** One HTTP request from `from` (a fresh loopback address by default); the body is parsed as JSON when it is JSON. */
export async function http (url: string, options: { method?: string, headers?: Record<string, string>, body?: unknown, from?: string, timeoutMs?: number } = {}): Promise<HttpReply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers: Record<string, string> = { ...options.headers }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload))
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      headers,
      localAddress: options.from ?? clientAddress(),
      agent: false,
      timeout: options.timeoutMs ?? 5000
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        let body: unknown = text
        try { body = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${options.method ?? 'GET'} ${url} timed out`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/** GET `path` on a node, with a read token unless `token` is null. */
export async function get (base: string, path: string, token: string | null = null, from?: string): Promise<HttpReply> {
  return http(base + path, { headers: token === null ? {} : { authorization: `Bearer ${token}` }, ...(from !== undefined ? { from } : {}) })
}

/** The room list a node serves (`query` like `?game_id=7`). */
export async function listOf (node: { url: string }, token: string | null, query = ''): Promise<Record<string, any>> {
  const reply = await get(node.url, `/list${query}`, token)
  if (reply.status !== 200) throw new Error(`GET ${node.url}/list${query}: ${reply.status} ${JSON.stringify(reply.body)}`)
  return reply.body as Record<string, any>
}

// ---- tokens (what RomM mints) ----

export interface RommSigner {
  /** A read token (no jti, checked by signature only). */
  read (sub: string): string
  /** A one-time write token; RomM also stores `sfu:auth:jti:<jti>`, which the caller does. */
  write (sub: string): { token: string, jti: string }
}

export function rommSigner (secret = CLUSTER_SECRET): RommSigner {
  const read = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 15 * 60_000 })
  const write = createSigner({ key: secret, algorithm: 'HS256', expiresIn: 30_000 })
  return {
    read: (sub) => read({ iss: 'romm:sfu', sub, type: 'sfu:read' }),
    write: (sub) => {
      const jti = randomUUID().replaceAll('-', '')
      return { jti, token: write({ iss: 'romm:sfu', sub, type: 'sfu:write', jti }) }
    }
  }
}

// ---- Socket.IO clients ----

export interface ClientOptions {
  token?: string
  from?: string
  transports?: Array<'polling' | 'websocket'>
}

/** A socket.io-client connection to `url` (websocket only by default), closed at teardown. */
export async function connectTo (t: Teardown, url: string, options: ClientOptions = {}): Promise<IoClient> {
  const from = options.from ?? clientAddress()
  const agent = new Agent({ localAddress: from } as ConstructorParameters<typeof Agent>[0])
  const socket = io(url, {
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    // Node only: engine.io-client hands these to `ws` and to its XHR.
    ...({ agent, localAddress: from } as object),
    ...(options.token !== undefined ? { auth: { token: options.token } } : {})
  })
  const client = asIoClient(socket, () => {
    socket.disconnect()
    agent.destroy()
  })
  t.teardown(() => client.close())
  await connected(client)
  return client
}

/** open-room then join-room on the host's own room, as the client does. Throws on any error ack. */
export async function hostRoom (client: IoClient, roomName: string, over: Record<string, unknown> = {}): Promise<void> {
  const extra = sfuExtra(roomName, over)
  const [err, redirect] = await client.ack('open-room', { extra, maxPlayers: 4, password: null })
  if (err !== null || redirect !== null) throw new Error(`open-room ${roomName}: ${JSON.stringify([err, redirect])}`)
  const [joinErr] = await client.ack('join-room', { extra, password: null })
  if (joinErr !== null) throw new Error(`host join-room ${roomName}: ${JSON.stringify(joinErr)}`)
}

/** join-room as a guest; resolves with the ack arguments. */
export async function joinRoom (client: IoClient, roomName: string, over: Record<string, unknown> = {}): Promise<unknown[]> {
  return client.ack('join-room', { extra: sfuExtra(roomName, { player_slot: undefined, ...over }), password: null })
}

// ---- waiting ----

/** Polls `probe` every `intervalMs` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T> (what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError !== undefined ? ` (last error: ${(lastError as Error).message})` : ''}`)
    await sleep(intervalMs)
  }
}
