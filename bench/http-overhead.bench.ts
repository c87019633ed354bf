// What a netplay route costs over a bare Fastify route: requests per second
// with autocannon on loopback. Prints figures; asserts nothing.
//
//   npx node bench/http-overhead.bench.ts                  (or: npm run bench)
//   npx node bench/http-overhead.bench.ts --seconds 10 --rounds 3
//   npx node bench/http-overhead.bench.ts --profile        (adds --cpu-prof to the server children)
//
// Cases, each served by a fresh child process (so the server has a core of
// its own and autocannon, in this process, has the other):
//   bare     Fastify, GET /ping -> { ok: true }
//   limit    the same route through `netplayRoutes` with the rate-limit plugin
//            only (memory store, no auth): what the limit, request id and
//            error scope cost on their own
//   memory   the same route through `netplayRoutes`, with the netplay aggregate
//            reduced to auth + rate-limit (memory store) and
//            `app.netplay.auth.requireIdentity()` as preHandler; every request
//            carries a valid HS256 read token in Authorization
//   redis    the same with the rate-limit store on a redis-server started here
//   defaults the memory case with the aggregate's other defaults left on
//            (signaling, rooms, datachannel-guard, ops): what the HTTP route
//            pays for plugins it does not use
// The `http` limit is lifted to 1e9/1e9 so the figures measure overhead, not
// refusals (the 2xx count shows it). The server's event-loop utilisation over
// the window is printed: near 100% means the server, not autocannon, is the
// bottleneck.
import { fork, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import netplay from '../index.ts'
import { netplayRoutes } from '../lib/http.ts'
import rateLimit from '../plugins/rate-limit/index.ts'
import { freePort, spawnRedis } from '../test/helpers/redis.ts'

type CaseId = 'bare' | 'limit' | 'memory' | 'redis' | 'defaults'
const CASES: Array<{ id: CaseId, label: string }> = [
  { id: 'bare', label: '(a) bare Fastify' },
  { id: 'limit', label: '(a+) netplayRoutes, limit only' },
  { id: 'memory', label: '(b) netplay, memory store' },
  { id: 'redis', label: '(c) netplay, Redis store' },
  { id: 'defaults', label: '(d) netplay defaults, memory' }
]
const SECRET = 'bench-secret-0123456789abcdef0123456789'
const OVERHEAD_TARGET = 0.10
const LIFTED = { limits: { http: { capacity: 1e9, refillPerSecond: 1e9 } } }

// ---------- server (child process) ----------

type ToServer = { op: 'elu-start' } | { op: 'elu-stop' } | { op: 'exit' }
type FromServer = { op: 'ready', port: number, token: string } | { op: 'elu', utilization: number, cpuMicros: number }

async function serverFor (id: CaseId, redisUrl: string | undefined): Promise<FastifyInstance> {
  const app = Fastify()
  if (id === 'bare') {
    app.get('/ping', async () => ({ ok: true }))
    return app
  }
  if (id === 'limit') {
    await app.register(rateLimit, LIFTED)
    await netplayRoutes(app, {}, (scope) => {
      scope.get('/ping', async () => ({ ok: true }))
    })
    return app
  }
  await app.register(netplay, {
    auth: { secrets: [SECRET] },
    ...(id === 'redis' ? { redis: redisUrl as string } : {}),
    rateLimit: LIFTED,
    // (b) and (c) measure auth + rate-limit; (d) keeps the aggregate's defaults.
    ...(id === 'defaults' ? {} : { signaling: false, ops: false })
  })
  await netplayRoutes(app, {}, (scope) => {
    scope.get('/ping', { preHandler: app.netplay.auth.requireIdentity() }, async () => ({ ok: true }))
  })
  return app
}

async function serve (id: CaseId, redisUrl: string | undefined): Promise<void> {
  const app = await serverFor(id, redisUrl)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const sign = createSigner({ algorithm: 'HS256', key: SECRET, iss: 'romm:sfu', noTimestamp: true }) as (payload: Record<string, unknown>) => string
  const token = sign({ sub: 'bench-player', type: 'sfu:read', exp: Math.floor(Date.now() / 1000) + 3600 })
  let elu: EventLoopUtilization | undefined
  let cpu: NodeJS.CpuUsage | undefined
  const send = (message: FromServer): void => { process.send?.(message) }
  process.on('message', (message: ToServer) => {
    if (message.op === 'elu-start') {
      elu = performance.eventLoopUtilization()
      cpu = process.cpuUsage()
    }
    if (message.op === 'elu-stop') {
      const used = process.cpuUsage(cpu)
      send({ op: 'elu', utilization: performance.eventLoopUtilization(elu).utilization, cpuMicros: used.user + used.system })
    }
    if (message.op === 'exit') app.close().finally(() => process.exit(0))
  })
  process.on('disconnect', () => process.exit(0))
  send({ op: 'ready', port, token })
}

// ---------- autocannon (this process) ----------

interface AutocannonResult {
  requests: { average: number, total: number }
  latency: { p50: number, p99: number }
  '2xx': number
  non2xx: number
  errors: number
  timeouts: number
  duration: number
}
type Autocannon = (options: {
  url: string
  connections: number
  pipelining: number
  duration: number
  headers?: Record<string, string>
}) => Promise<AutocannonResult>
// autocannon ships no types; this is the part of its programmatic API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

function flag (name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

const SECONDS = flag('seconds', 5)
const WARMUP_SECONDS = flag('warmup', 1)
const ROUNDS = flag('rounds', 1)
const CONNECTIONS = flag('connections', 50)
const PROFILE = process.argv.includes('--profile')
const PROFILE_DIR = join(tmpdir(), 'fastify-netplay-http-overhead-profiles')

const children = new Set<ChildProcess>()
function killChildren (): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
}
process.on('exit', killChildren)
process.on('SIGINT', () => { killChildren(); process.exit(130) })

async function startRedis (): Promise<{ url: string, child: ChildProcess }> {
  const port = await freePort()
  const child = await spawnRedis(port)
  children.add(child)
  return { url: `redis://127.0.0.1:${port}`, child }
}

class ServerChild {
  readonly child: ChildProcess
  readonly ready: Promise<{ port: number, token: string }>
  readonly #replies: Array<(message: FromServer) => void> = []

  constructor (id: CaseId, redisUrl: string | undefined) {
    const execArgv = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=http-overhead-${id}-${Date.now()}.cpuprofile`] : []
    this.child = fork(fileURLToPath(import.meta.url), ['--serve', id, redisUrl ?? ''], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.add(this.child)
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`server ${id} exited with code ${code}`)))
      this.child.on('message', (message: FromServer) => {
        if (message.op === 'ready') resolve(message)
        else this.#replies.shift()?.(message)
      })
    })
  }

  async eluStart (): Promise<void> { this.child.send({ op: 'elu-start' } satisfies ToServer) }

  /** Event-loop utilisation and CPU time of the server since eluStart(). */
  async eluStop (): Promise<{ utilization: number, cpuMicros: number }> {
    const reply = new Promise<FromServer>((resolve) => this.#replies.push(resolve))
    this.child.send({ op: 'elu-stop' } satisfies ToServer)
    const message = await reply
    return message.op === 'elu' ? message : { utilization: NaN, cpuMicros: NaN }
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.send({ op: 'exit' } satisfies ToServer)
    await Promise.race([exited, sleep(5000)])
    if (this.child.exitCode === null) this.child.kill('SIGKILL')
    children.delete(this.child)
  }
}

interface CaseResult { id: CaseId, rps: number, p50: number, p99: number, ok: number, non2xx: number, errors: number, elu: number, cpuPerRequest: number }

async function runCase (id: CaseId, redisUrl: string | undefined): Promise<CaseResult> {
  const server = new ServerChild(id, redisUrl)
  try {
    const { port, token } = await server.ready
    const options = { url: `http://127.0.0.1:${port}/ping`, connections: CONNECTIONS, pipelining: 1, headers: { authorization: `Bearer ${token}` } }
    await autocannon({ ...options, duration: WARMUP_SECONDS })
    await server.eluStart()
    const result = await autocannon({ ...options, duration: SECONDS })
    const { utilization, cpuMicros } = await server.eluStop()
    return {
      id,
      rps: result.requests.total / result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
      ok: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      elu: utilization,
      cpuPerRequest: cpuMicros / Math.max(1, result.requests.total)
    }
  } finally {
    await server.stop()
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

async function main (): Promise<void> {
  if (PROFILE) mkdirSync(PROFILE_DIR, { recursive: true })
  const loadAtStart = loadavg()[0] as number
  const redis = await startRedis()
  const results = new Map<CaseId, CaseResult[]>()
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const { id } of CASES) {
        const result = await runCase(id, id === 'redis' ? redis.url : undefined)
        results.set(id, [...(results.get(id) ?? []), result])
      }
    }
  } finally {
    redis.child.kill('SIGKILL')
    await once(redis.child, 'exit').catch(() => {})
  }

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
  console.log(`http-overhead: autocannon ${CONNECTIONS} connections, pipelining 1, ${SECONDS} s per case after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} round(s) (median shown), 127.0.0.1, server in a child process, Node ${process.version}`)
  console.log(`machine: ${availableParallelism()} cores, load average ${loadAtStart.toFixed(2)} at start (other processes competing for the cores make every figure noisy; CPU µs/req is the steadier one)`)
  console.log('')
  const header = ['case', 'req/s', 'p50 ms', 'p99 ms', '2xx', 'non-2xx', 'errors', 'server ELU', 'server CPU µs/req']
  const rows = CASES.map(({ id, label }) => {
    const runs = results.get(id) ?? []
    const pick = (f: (r: CaseResult) => number): number => median(runs.map(f))
    return [label, fmt(pick((r) => r.rps)), String(pick((r) => r.p50)), String(pick((r) => r.p99)),
      fmt(runs.reduce((s, r) => s + r.ok, 0)), fmt(runs.reduce((s, r) => s + r.non2xx, 0)), fmt(runs.reduce((s, r) => s + r.errors, 0)),
      `${(pick((r) => r.elu) * 100).toFixed(0)}%`, pick((r) => r.cpuPerRequest).toFixed(1)]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ')
  console.log(line(header))
  for (const row of rows) console.log(line(row))

  const rps = (id: CaseId): number => median((results.get(id) ?? []).map((r) => r.rps))
  const cpu = (id: CaseId): number => median((results.get(id) ?? []).map((r) => r.cpuPerRequest))
  const limitOnly = rps('limit') / rps('bare')
  const memory = rps('memory') / rps('bare')
  const redisRatio = rps('redis') / rps('bare')
  console.log('')
  console.log(`(a+)/(a) = ${limitOnly.toFixed(3)}  overhead ${((1 - limitOnly) * 100).toFixed(1)}%  (rate limit + request id + error scope, no auth)`)
  console.log(`(b)/(a) = ${memory.toFixed(3)}  overhead ${((1 - memory) * 100).toFixed(1)}%  target <= ${OVERHEAD_TARGET * 100}%: ${1 - memory <= OVERHEAD_TARGET ? 'meets' : 'MISSES'}`)
  console.log(`(c)/(a) = ${redisRatio.toFixed(3)}  overhead ${((1 - redisRatio) * 100).toFixed(1)}%  (one Redis round trip per request; no target)`)
  console.log(`(d)/(a) = ${(rps('defaults') / rps('bare')).toFixed(3)}  (the aggregate's defaults: signaling, rooms, guard and ops registered too)`)
  console.log(`server CPU per request over (a): (a+) +${(cpu('limit') - cpu('bare')).toFixed(1)} µs, (b) +${(cpu('memory') - cpu('bare')).toFixed(1)} µs (${(cpu('memory') / cpu('bare')).toFixed(2)}x), (c) +${(cpu('redis') - cpu('bare')).toFixed(1)} µs (${(cpu('redis') / cpu('bare')).toFixed(2)}x), (d) +${(cpu('defaults') - cpu('bare')).toFixed(1)} µs`)
  if (PROFILE) console.log(`CPU profiles: ${PROFILE_DIR}`)
  console.log(`reproduce: npx node bench/http-overhead.bench.ts --seconds ${SECONDS} --warmup ${WARMUP_SECONDS} --rounds ${ROUNDS} --connections ${CONNECTIONS}`)
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as CaseId, process.argv[4] === '' ? undefined : process.argv[4])
} else {
  await main()
}
