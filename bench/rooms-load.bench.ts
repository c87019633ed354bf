// Rooms load benchmark: 250 rooms x 4 players (1,000 connections) on
// loopback, family A (upstream EmulatorJS) payloads, all rooms opening and
// joining at once, then a data-message relay window. Prints figures; asserts
// nothing.
//
//   npx node bench/rooms-load.bench.ts            (or: npm run bench [-- rooms-load])
//   npx node bench/rooms-load.bench.ts --rounds 1 --cases baseline,sio,ws
//   npx node bench/rooms-load.bench.ts --profile  (CPU profiles of the server children;
//                                                  summarise with bench/lib/cpuprofile-top.ts)
//   npx node bench/rooms-load.bench.ts --alloc-profile  (allocation profiles of the server children, one per
//                                                  join burst and relay window, collected objects included;
//                                                  summarise with bench/lib/heapprofile-top.ts)
//   npx node bench/rooms-load.bench.ts --client library   (socket.io-client and fully parsed /ws frames:
//                                                  the client of the first figures, which was the bottleneck)
//   npx node bench/rooms-load.bench.ts --rate 190 --relay-refill 200 --relay-capacity 400
//                                                 (a low limit on relayed data-messages, hosts paced just under
//                                                  it: every case relays at the offered ceiling, so the relay
//                                                  ratio shows the pacing, not the servers)
//   --join-bursts 5: join bursts per case (medians over them; one burst lasts ~0.1 s, and a
//                    major GC falling in one can slow it by a third)
//   npx node bench/rooms-load.bench.ts --server-flags=   (every server on V8's default heap sizing instead of
//                                                  the standalone's young-generation cap, SEMI_SPACE_MB)
//   other flags: --rooms 250 --concurrency 64 --window 5000 --rate 380 --inflight 32
//                --relay-capacity 4000 --relay-refill 2000 --settle-max 20000 --case-timeout 180000
//
// Relay load: by default each host offers 380 msg/s, more than the baseline
// can relay for 250 rooms, so the relay ratio measures capacity. Our servers
// keep the rate-limit plugin ON and enforcing, with the product's default
// per-connection limit on data-messages (the `data` limit: 2000/s, burst
// 4000, above the offered rate), the same for every one of our cases; the
// baseline has no limits at all (as the issue defines it).
//
// Cases, each against a fresh server in its own child process (so its RSS
// and CPU are its own, and clients never share its event loop):
//   baseline  minimal Socket.IO relay written in bench/lib/rooms-load-server.ts
//   sio       ours, Socket.IO (websocket transport), auth off
//   sio-auth  ours, Socket.IO, auth on (HS256 tokens minted before the timed part)
//   ws        ours, plain WebSocket /ws, auth off
//   ws-auth   ours, plain WebSocket /ws, auth on
//   bare-ws  reference, no target: our /ws protocol on a bare `ws` server
//             written as naively as the baseline (bench/lib/rooms-load-server.ts),
//             i.e. what the transport alone costs here
// Each round runs every case once; the table shows the median over rounds
// (3 by default) and the ratios are medians of per-round ratios.
//
// Clients all run in this one process: on a 2-core machine that is one core
// for the server and one for the clients; a second client process would only
// take CPU from the server. Event-loop use of both sides and the CPU used by
// every other process on the machine are printed, so a client-bound or
// contended figure shows as such; "per server CPU-second" figures are the
// ones that hold up when the machine is shared.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { performance, type EventLoopUtilization } from 'node:perf_hooks'
import { RoomGroup, sleep, type ClientKind, type JoinResult, type RelayOptions, type RelayResult, type Transport } from './lib/rooms-load-clients.ts'
import type { RssSample, ServerKind, ServerOp, ServerReply, ServerStats } from './lib/rooms-load-server.ts'
import { SEMI_SPACE_MB } from '../examples/standalone/young-generation.ts'

const SERVER_SCRIPT = fileURLToPath(new URL('./lib/rooms-load-server.ts', import.meta.url))
const PROFILE_DIR = join(tmpdir(), 'fastify-netplay-rooms-load-profiles')

// ---------- options ----------

function flag (name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}
const num = (name: string, fallback: number): number => {
  const value = flag(name)
  return value === undefined ? fallback : Number(value)
}

const ROOMS = num('rooms', 250)
const CONNECT_CONCURRENCY = num('concurrency', 64)
const CASE_TIMEOUT_MS = num('case-timeout', 180_000)
const IDLE_SETTLE_MS = 2000
// The settled RSS reading: RSS sampled without forcing GC (so V8's memory
// reducer, which starts a few seconds after a full GC in an idle process and
// can shrink the young generation, is left to act) until it has not fallen for
// SETTLE_QUIET_STEPS samples in a row, at most SETTLE_MAX_MS. Same rule for the
// "before" and "after" readings of every case.
const SETTLE_STEP_MS = 1000
const SETTLE_QUIET_STEPS = 10
const SETTLE_FALL_KB = 256
const SETTLE_MAX_MS = num('settle-max', 20_000)
const MARGINAL_ROOMS = Math.max(1, Math.round(ROOMS / 2))
const RELAY: RelayOptions = {
  warmupMs: 1000,
  windowMs: num('window', 5000),
  ratePerHost: num('rate', 380),
  burst: 50,
  inflight: num('inflight', 32)
}
/** Our servers' per-connection limit on data-messages, the `data` limit (enforced; the product default is 4000 burst / 2000 per second). */
const RELAY_LIMIT = { capacity: num('relay-capacity', 4000), refillPerSecond: num('relay-refill', 2000) }
const PRODUCT_RELAY_LIMIT = { capacity: 4000, refillPerSecond: 2000 }
const PROFILE = process.argv.includes('--profile')
const ALLOC_PROFILE = process.argv.includes('--alloc-profile')
const CLIENT: ClientKind = flag('client') === 'library' ? 'library' : 'wire'
const ROUNDS = num('rounds', 3)
const WARM_ROOMS = num('warm-rooms', 2)
/**
 * Join bursts per case: the first on the fresh server (its RSS is the idle
 * figure), the others after it, each with 1,000 new connections and nothing
 * else connected. One burst lasts ~0.2 s, so a single one is at the mercy of
 * the machine's noise: the join rows are medians (latencies: pooled) over all.
 */
const JOIN_BURSTS = Math.max(1, num('join-bursts', 5))
/**
 * Node/V8 flags for every server child, baseline included. By default the
 * young-generation cap the standalone server runs with
 * (examples/standalone/young-generation.ts), so our figures are the shipped
 * server's and the baseline runs under the same heap sizing;
 * `--server-flags=` (empty) gives V8's default sizing, as an embedding host
 * that sets nothing gets.
 */
const SERVER_NODE_FLAGS = (process.argv.find((a) => a.startsWith('--server-flags='))?.slice('--server-flags='.length) ?? `--max-semi-space-size=${SEMI_SPACE_MB}`).split(' ').filter((f) => f !== '')

interface CaseSpec { id: string, label: string, server: ServerKind, transport: Transport, auth: boolean, /** Shown for reference, judged against no target. */ reference?: true }
const ALL_CASES: CaseSpec[] = [
  { id: 'baseline', label: 'baseline sio', server: 'baseline', transport: 'socket.io', auth: false },
  { id: 'sio', label: 'ours sio', server: 'netplay', transport: 'socket.io', auth: false },
  { id: 'sio-auth', label: 'ours sio+auth', server: 'netplay', transport: 'socket.io', auth: true },
  { id: 'ws', label: 'ours ws', server: 'netplay', transport: 'websocket', auth: false },
  { id: 'ws-auth', label: 'ours ws+auth', server: 'netplay', transport: 'websocket', auth: true },
  { id: 'bare-ws', label: 'bare ws (reference)', server: 'bare-ws', transport: 'websocket', auth: false, reference: true }
]
const wanted = flag('cases')?.split(',')
const CASES = wanted === undefined ? ALL_CASES : ALL_CASES.filter((c) => wanted.includes(c.id))

// ---------- server child ----------

class ServerChild {
  readonly child: ChildProcess
  readonly ready: Promise<{ port: number, limits: unknown }>
  readonly #pending = new Map<number, (reply: ServerReply) => void>()
  #nextId = 1
  #exited = false

  constructor (spec: CaseSpec) {
    const execArgv = ['--expose-gc', ...SERVER_NODE_FLAGS]
    const scriptArgs: string[] = []
    if (PROFILE) {
      mkdirSync(PROFILE_DIR, { recursive: true })
      const name = `${spec.id}-${Date.now()}.cpuprofile`
      execArgv.push('--cpu-prof', '--cpu-prof-interval=250', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}`)
      scriptArgs.push('--marks-file', join(PROFILE_DIR, `${name}.marks.json`))
    }
    if (ALLOC_PROFILE) {
      mkdirSync(PROFILE_DIR, { recursive: true })
      scriptArgs.push('--alloc-profile', join(PROFILE_DIR, `${spec.id}-${Date.now()}`))
    }
    const args = [...execArgv, SERVER_SCRIPT, spec.server, ...(spec.auth ? ['--auth'] : []),
      '--relay-capacity', String(RELAY_LIMIT.capacity), '--relay-refill', String(RELAY_LIMIT.refillPerSecond), ...scriptArgs]
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] })
    this.child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        // Expected in the auth-off cases; anything else the server logs (warn and up) is shown.
        if (line.trim() === '' || line.includes('netplay auth is disabled')) continue
        process.stderr.write(`[server ${spec.id}] ${line.slice(0, 400)}\n`)
      }
    })
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => {
        this.#exited = true
        reject(new Error(`server exited with code ${code}`))
        for (const settle of this.#pending.values()) settle({ id: 0, ok: false, error: 'server exited' })
      })
      this.child.on('message', (message: ServerReply & { ready?: boolean, port?: number, limits?: unknown }) => {
        if (message.ready === true) {
          resolve({ port: message.port as number, limits: message.limits })
          return
        }
        const settle = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        settle?.(message)
      })
    })
    this.ready.catch(() => {})
  }

  async request<T> (op: ServerOp, count?: number, name?: string): Promise<T> {
    if (this.#exited) throw new Error('server exited')
    const id = this.#nextId++
    const reply = await new Promise<ServerReply>((resolve) => {
      this.#pending.set(id, resolve)
      this.child.send({ id, op, ...(count !== undefined ? { count } : {}), ...(name !== undefined ? { name } : {}) })
    })
    if (!reply.ok) throw new Error(reply.error)
    return reply.data as T
  }

  /** Asks the server to close (so --cpu-prof writes its profile), then makes sure it is gone. */
  async stop (): Promise<void> {
    if (this.#exited) return
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.request('exit').catch(() => {})
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
    await gone
    clearTimeout(timer)
  }

  kill (): void {
    if (!this.#exited) this.child.kill('SIGKILL')
  }
}

const live = new Set<ServerChild>()
function killAll (): void { for (const server of live) server.kill() }
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

// ---------- one case ----------

/** CPU seconds of the whole machine (all processes), from /proc/stat; undefined off Linux. */
function machineBusySeconds (): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? []
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
    return (user + nice + system + irq + softirq + steal) / 100
  } catch {
    return undefined
  }
}

interface PhaseMark { server: ServerStats, clientCpu: NodeJS.CpuUsage, clientElu: EventLoopUtilization, machine: number | undefined, at: number }
interface PhaseLoad {
  wallSec: number
  serverCpuSec: number
  /** Of serverCpuSec, the kernel's share (system time: syscalls, loopback TCP). */
  serverSystemSec: number
  serverElu: number
  clientCpuSec: number
  clientElu: number
  /** Cores used by every other process on the machine during the phase (other benches, tests, builds). */
  otherCores: number | undefined
}

async function mark (server: ServerChild, name: string): Promise<PhaseMark> {
  if (PROFILE || ALLOC_PROFILE) await server.request('mark', undefined, name)
  return { server: await server.request<ServerStats>('stats'), clientCpu: process.cpuUsage(), clientElu: performance.eventLoopUtilization(), machine: machineBusySeconds(), at: performance.now() }
}

async function loadSince (server: ServerChild, a: PhaseMark, name: string): Promise<PhaseLoad> {
  const b = await mark(server, name)
  const wallSec = (b.at - a.at) / 1000
  const serverSystemSec = (b.server.cpu.system - a.server.cpu.system) / 1e6
  const serverCpuSec = (b.server.cpu.user - a.server.cpu.user) / 1e6 + serverSystemSec
  const active = b.server.elu.active - a.server.elu.active
  const idle = b.server.elu.idle - a.server.elu.idle
  const clientCpuSec = ((b.clientCpu.user - a.clientCpu.user) + (b.clientCpu.system - a.clientCpu.system)) / 1e6
  const machine = a.machine === undefined || b.machine === undefined ? undefined : b.machine - a.machine
  return {
    wallSec,
    serverCpuSec,
    serverSystemSec,
    serverElu: active / (active + idle),
    clientCpuSec,
    clientElu: performance.eventLoopUtilization(b.clientElu, a.clientElu).utilization,
    otherCores: machine === undefined ? undefined : Math.max(0, (machine - serverCpuSec - clientCpuSec) / wallSec)
  }
}

interface CaseResult {
  spec: CaseSpec
  limits?: unknown
  connectMs?: number
  /** The first join burst (fresh server). */
  join?: JoinResult
  joinLoad?: PhaseLoad
  /** The other join bursts (JOIN_BURSTS). */
  moreJoins?: Array<{ join: JoinResult, load: PhaseLoad }>
  rssBefore?: RssSample
  rssAfter?: RssSample
  /** The same two readings once RSS has settled (see SETTLE_*). */
  rssBeforeSettled?: Settled
  rssAfterSettled?: Settled
  /** After MARGINAL_ROOMS more rooms joined and idle (allocator and V8 already grown). */
  rssMarginal?: RssSample
  /** The server with every connection idle, while RSS settles. */
  idleLoad?: PhaseLoad
  relay?: RelayResult
  relayLoad?: PhaseLoad
  drops?: Record<string, number>
  error?: string
}

interface Settled { sample: RssSample, ms: number }

/** Samples RSS without forcing GC until it stops falling (SETTLE_* above); the last sample is the settled one. */
async function settledRss (server: ServerChild): Promise<Settled> {
  const start = performance.now()
  let sample = await server.request<RssSample>('rss-raw')
  let low = sample.rss
  let quiet = 0
  while (quiet < SETTLE_QUIET_STEPS && performance.now() - start + SETTLE_STEP_MS <= SETTLE_MAX_MS) {
    await sleep(SETTLE_STEP_MS)
    sample = await server.request<RssSample>('rss-raw')
    if (sample.rss <= low - SETTLE_FALL_KB * KB) quiet = 0
    else quiet++
    low = Math.min(low, sample.rss)
  }
  return { sample, ms: performance.now() - start }
}

async function runCase (spec: CaseSpec, result: CaseResult, groups: RoomGroup[], server: ServerChild): Promise<void> {
  const { port, limits } = await server.ready
  result.limits = limits
  const players = ROOMS * 4
  const warmRooms = WARM_ROOMS
  let tokens: string[] | undefined
  let warmTokens: string[] | undefined
  let marginalTokens: string[] | undefined
  let burstTokens: string[] | undefined
  if (spec.auth) {
    // Minted before anything is timed; each player gets its own identity.
    const minted = await server.request<string[]>('mint', players * JOIN_BURSTS + warmRooms * 4 + MARGINAL_ROOMS * 4)
    tokens = minted.slice(0, players)
    warmTokens = minted.slice(players, players + warmRooms * 4)
    marginalTokens = minted.slice(players + warmRooms * 4, players + warmRooms * 4 + MARGINAL_ROOMS * 4)
    burstTokens = minted.slice(players + warmRooms * 4 + MARGINAL_ROOMS * 4)
  }

  // Warm-up: a couple of rooms go through the whole flow first, so the
  // "before" RSS already includes code that is loaded on first use.
  const warm = new RoomGroup({ transport: spec.transport, port, rooms: warmRooms, tag: 'w', client: CLIENT, connectConcurrency: 8, timeoutMs: 10_000, ...(warmTokens !== undefined ? { tokens: warmTokens } : {}) })
  groups.push(warm)
  const warmConnect = await warm.connect()
  if (warmConnect.failed > 0) throw new Error(`warm-up connect failed: ${warmConnect.firstError}`)
  const warmJoin = await warm.join()
  if (warmJoin.errors > 0) throw new Error(`warm-up join failed: ${warmJoin.firstError}`)
  await warm.relay({ ...RELAY, warmupMs: 200, windowMs: 300 })
  await warm.close()
  await sleep(500)

  result.rssBefore = await server.request<RssSample>('rss')
  result.rssBeforeSettled = await settledRss(server)

  const group = new RoomGroup({ transport: spec.transport, port, rooms: ROOMS, tag: 'b', client: CLIENT, connectConcurrency: CONNECT_CONCURRENCY, timeoutMs: 30_000, ...(tokens !== undefined ? { tokens } : {}) })
  groups.push(group)
  const connected = await group.connect()
  result.connectMs = connected.ms
  if (connected.failed > 0) throw new Error(`${connected.failed}/${players} connections failed: ${connected.firstError}`)

  await sleep(300)
  let start = await mark(server, 'join-start')
  result.join = await group.join()
  result.joinLoad = await loadSince(server, start, 'join-end')

  await sleep(IDLE_SETTLE_MS)
  result.rssAfter = await server.request<RssSample>('rss')
  const idleStart = await mark(server, 'idle-start')
  result.rssAfterSettled = await settledRss(server)
  result.idleLoad = await loadSince(server, idleStart, 'idle-end')

  // Marginal cost: more rooms on a server whose heap and allocator have
  // already grown, which is closer to what one more idle player costs.
  const extra = new RoomGroup({ transport: spec.transport, port, rooms: MARGINAL_ROOMS, tag: 'm', client: CLIENT, connectConcurrency: CONNECT_CONCURRENCY, timeoutMs: 30_000, ...(marginalTokens !== undefined ? { tokens: marginalTokens } : {}) })
  groups.push(extra)
  const extraConnect = await extra.connect()
  if (extraConnect.failed > 0) throw new Error(`marginal connect failed: ${extraConnect.firstError}`)
  if ((await extra.join()).errors === 0) {
    await sleep(IDLE_SETTLE_MS)
    result.rssMarginal = await server.request<RssSample>('rss')
  }
  // The relay runs with the 250 rooms of the spec only.
  await extra.close()
  await sleep(500)

  if (result.join.errors === 0) {
    start = await mark(server, 'relay-start')
    result.relay = await group.relay(RELAY)
    result.relayLoad = await loadSince(server, start, 'relay-end')
  }
  // More join bursts, alone on the server like the first.
  await group.close()
  result.moreJoins = []
  for (let burst = 1; burst < JOIN_BURSTS && result.join.errors === 0; burst++) {
    await sleep(500)
    const these = burstTokens?.slice((burst - 1) * players, burst * players)
    const again = new RoomGroup({ transport: spec.transport, port, rooms: ROOMS, tag: `j${burst}`, client: CLIENT, connectConcurrency: CONNECT_CONCURRENCY, timeoutMs: 30_000, ...(these !== undefined ? { tokens: these } : {}) })
    groups.push(again)
    const connectedAgain = await again.connect()
    if (connectedAgain.failed > 0) throw new Error(`burst ${burst + 1}: ${connectedAgain.failed}/${players} connections failed: ${connectedAgain.firstError}`)
    await sleep(300)
    const burstStart = await mark(server, `join${burst}-start`)
    const join = await again.join()
    result.moreJoins.push({ join, load: await loadSince(server, burstStart, `join${burst}-end`) })
    await again.close()
  }
  result.drops = (await server.request<ServerStats>('stats')).drops
}

async function runCaseBounded (spec: CaseSpec): Promise<CaseResult> {
  const result: CaseResult = { spec }
  const groups: RoomGroup[] = []
  const server = new ServerChild(spec)
  live.add(server)
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      runCase(spec, result, groups, server),
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`case timed out after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS) })
    ])
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    clearTimeout(timer)
    for (const group of groups) await group.close().catch(() => {})
    await server.stop()
    live.delete(server)
  }
  return result
}

// ---------- report ----------

function percentile (values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))]
}

function median (values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  return present.length === 0 ? undefined : percentile(present, 50)
}

const KB = 1024
const MB = 1024 * 1024
interface Burst { join: JoinResult, load: PhaseLoad }
const bursts = (r: CaseResult): Burst[] =>
  r.join === undefined || r.joinLoad === undefined ? [] : [{ join: r.join, load: r.joinLoad }, ...(r.moreJoins ?? [])]
/** A join figure of one case: the median over its bursts (a burst with errors counts as missing). */
const overBursts = (r: CaseResult, value: (b: Burst) => number | undefined): number | undefined =>
  median(bursts(r).map((b) => b.join.errors > 0 ? undefined : value(b)))
/** A latency percentile over the samples of every burst of one case. */
const pooled = (r: CaseResult, pick: (j: JoinResult) => number[], p: number): number | undefined =>
  percentile(bursts(r).flatMap((b) => pick(b.join)), p)
const seatsOf = (b: Burst): number => b.join.open.length + b.join.join.length
const joinsPerSec = (b: Burst): number => seatsOf(b) / (b.join.wallMs / 1000)
const joinsPerCpuSec = (b: Burst): number => seatsOf(b) / b.load.serverCpuSec
/** The first burst alone: a fresh process, its code not yet optimised by V8. */
const first = (r: CaseResult, value: (b: Burst) => number): number | undefined => {
  const b = bursts(r)[0]
  return b === undefined || b.join.errors > 0 ? undefined : value(b)
}
/** The later bursts: the same server warm. */
const later = (r: CaseResult, value: (b: Burst) => number): number | undefined =>
  median(bursts(r).slice(1).map((b) => b.join.errors > 0 ? undefined : value(b)))
const seatsPerSec = (r: CaseResult): number | undefined => later(r, joinsPerSec)
const seatsPerCpuSec = (r: CaseResult): number | undefined => later(r, joinsPerCpuSec)
const firstSeatsPerSec = (r: CaseResult): number | undefined => first(r, joinsPerSec)
const relayPerSec = (r: CaseResult): number | undefined => r.relay?.deliveriesPerSec
const relayPerCpuSec = (r: CaseResult): number | undefined =>
  r.relay === undefined || r.relayLoad === undefined ? undefined : r.relay.phaseDelivered / r.relayLoad.serverCpuSec
const rssDelta = (r: CaseResult): number | undefined =>
  r.rssBefore === undefined || r.rssAfter === undefined ? undefined : r.rssAfter.rss - r.rssBefore.rss
const rssPerConnKb = (r: CaseResult): number | undefined => {
  const d = rssDelta(r)
  return d === undefined ? undefined : d / (ROOMS * 4) / KB
}
const sub = (a: number | undefined, b: number | undefined): number | undefined => a === undefined || b === undefined ? undefined : a - b
const rssSettledPerConnKb = (r: CaseResult): number | undefined => {
  const d = sub(r.rssAfterSettled?.sample.rss, r.rssBeforeSettled?.sample.rss)
  return d === undefined ? undefined : d / (ROOMS * 4) / KB
}

type Row = [label: string, value: (r: CaseResult) => number | undefined, digits: number, unit?: '%']
const ROWS: Row[] = [
  ['connect all, bounded ramp (s)', (r) => r.connectMs === undefined ? undefined : r.connectMs / 1000, 2],
  ['open-room ack p50 (ms)', (r) => pooled(r, (j) => j.open, 50), 1],
  ['open-room ack p99 (ms)', (r) => pooled(r, (j) => j.open, 99), 1],
  ['join-room ack p50 (ms)', (r) => pooled(r, (j) => j.join, 50), 1],
  ['join-room ack p99 (ms)', (r) => pooled(r, (j) => j.join, 99), 1],
  ['room ready p50 (ms)', (r) => pooled(r, (j) => j.roomReady, 50), 1],
  ['room ready p99 (ms)', (r) => pooled(r, (j) => j.roomReady, 99), 1],
  ['join errors (all bursts)', (r) => r.join === undefined ? undefined : bursts(r).reduce((sum, b) => sum + b.join.errors, 0), 0],
  ['joins/s, first burst (fresh server)', firstSeatsPerSec, 0],
  ['joins/s, later bursts (warm server)', seatsPerSec, 0],
  ['joins per server CPU-s, first burst', (r) => first(r, joinsPerCpuSec), 0],
  ['joins per server CPU-s, later bursts', seatsPerCpuSec, 0],
  ['server CPU, join (cores)', (r) => overBursts(r, (b) => b.load.serverCpuSec / b.load.wallSec), 2],
  ['  of which kernel (system time)', (r) => overBursts(r, (b) => b.load.serverSystemSec / b.load.serverCpuSec), 0, '%'],
  ['server event loop busy, join', (r) => overBursts(r, (b) => b.load.serverElu), 0, '%'],
  ['client event loop busy, join', (r) => overBursts(r, (b) => b.load.clientElu), 0, '%'],
  ['other processes, join (cores)', (r) => overBursts(r, (b) => b.load.otherCores), 2],
  ['server RSS before (MB)', (r) => r.rssBefore && r.rssBefore.rss / MB, 1],
  ['server RSS all idle (MB)', (r) => r.rssAfter && r.rssAfter.rss / MB, 1],
  ['RSS / idle connection, immediate (KB)', rssPerConnKb, 1],
  ['server RSS settled: before (MB)', (r) => r.rssBeforeSettled && r.rssBeforeSettled.sample.rss / MB, 1],
  ['server RSS settled: all idle (MB)', (r) => r.rssAfterSettled && r.rssAfterSettled.sample.rss / MB, 1],
  ['RSS / idle connection, settled (KB)', rssSettledPerConnKb, 1],
  ['server CPU, all idle (ms per s)', (r) => r.idleLoad && r.idleLoad.serverCpuSec / r.idleLoad.wallSec * 1000, 1],
  ['settle time, all idle (s)', (r) => r.rssAfterSettled && r.rssAfterSettled.ms / 1000, 1],
  ['young generation settled, all idle (MB)', (r) => r.rssAfterSettled && r.rssAfterSettled.sample.newSpace / MB, 1],
  ['RSS / conn, marginal +' + String(MARGINAL_ROOMS * 4) + ' (KB)', (r) => { const d = sub(r.rssMarginal?.rss, r.rssAfter?.rss); return d === undefined ? undefined : d / (MARGINAL_ROOMS * 4) / KB }, 1],
  ['RSS / room (KB)', (r) => { const d = rssDelta(r); return d === undefined ? undefined : d / ROOMS / KB }, 1],
  // Where the RSS per connection goes: the V8 heap as committed (of which the young generation, which grows under the
  // allocation burst of the joins, not with the connections kept) and what is live in it.
  ['V8 heap committed / conn (KB)', (r) => { const d = sub(r.rssAfter?.heapTotal, r.rssBefore?.heapTotal); return d === undefined ? undefined : d / (ROOMS * 4) / KB }, 1],
  ['  of which young generation (KB)', (r) => { const d = sub(r.rssAfter?.newSpace, r.rssBefore?.newSpace); return d === undefined ? undefined : d / (ROOMS * 4) / KB }, 1],
  ['V8 heap resident / conn (KB)', (r) => { const d = sub(r.rssAfter?.heapResident, r.rssBefore?.heapResident); return d === undefined ? undefined : d / (ROOMS * 4) / KB }, 1],
  ['  of which young generation (KB)', (r) => { const d = sub(r.rssAfter?.newSpaceResident, r.rssBefore?.newSpaceResident); return d === undefined ? undefined : d / (ROOMS * 4) / KB }, 1],
  ['RSS outside the V8 heap / conn (KB)', (r) => { const d = sub(r.rssAfter && r.rssAfter.rss - r.rssAfter.heapResident, r.rssBefore && r.rssBefore.rss - r.rssBefore.heapResident); return d === undefined ? undefined : d / (ROOMS * 4) / KB }, 1],
  ['young generation resident, all idle (MB)', (r) => r.rssAfter && r.rssAfter.newSpaceResident / MB, 1],
  ['heap used+external / conn (KB)', (r) => { const d = sub(r.rssAfter && r.rssAfter.heapUsed + r.rssAfter.external, r.rssBefore && r.rssBefore.heapUsed + r.rssBefore.external); return d === undefined ? undefined : d / (ROOMS * 4) / KB }, 1],
  ['relay deliveries/s (window)', relayPerSec, 0],
  ['relay deliveries per server CPU-s', relayPerCpuSec, 0],
  ['relay host sends/s (window)', (r) => r.relay?.sentPerSec, 0],
  ['relay rooms with lost messages', (r) => r.relay?.stalledRooms, 0],
  ['server CPU, relay (cores)', (r) => r.relayLoad && r.relayLoad.serverCpuSec / r.relayLoad.wallSec, 2],
  ['  of which kernel (system time)', (r) => r.relayLoad && r.relayLoad.serverSystemSec / r.relayLoad.serverCpuSec, 0, '%'],
  ['server event loop busy, relay', (r) => r.relayLoad?.serverElu, 0, '%'],
  ['client event loop busy, relay', (r) => r.relayLoad?.clientElu, 0, '%'],
  ['other processes, relay (cores)', (r) => r.relayLoad?.otherCores, 2],
  ['rate-limit drops (all limits)', (r) => r.drops === undefined ? undefined : Object.values(r.drops).reduce((a, b) => a + b, 0), 0]
]

function fmt (value: number | undefined, digits: number, unit?: '%'): string {
  if (value === undefined || !Number.isFinite(value)) return '-'
  if (unit === '%') return `${Math.round(value * 100)}%`
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

/** Median over rounds of one metric of one case. */
function agg (rounds: CaseResult[][], caseIndex: number, value: (r: CaseResult) => number | undefined): number | undefined {
  return median(rounds.map((round) => round[caseIndex]).filter((r): r is CaseResult => r !== undefined && r.error === undefined).map(value))
}

function printTable (rounds: CaseResult[][]): void {
  const header = ['', ...CASES.map((c) => c.label)]
  const body = ROWS.map(([label, value, digits, unit]) => [label, ...CASES.map((_, i) => fmt(agg(rounds, i, value), digits, unit))])
  const widths = header.map((_, col) => Math.max(...[header, ...body].map((row) => (row[col] ?? '').length)))
  const line = (row: string[]): string => row.map((cell, col) => col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0)).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
  for (const [n, round] of rounds.entries()) for (const r of round) if (r.error !== undefined) console.log(`! round ${n + 1}, ${r.spec.label}: ${r.error}`)
}

function relayLimitLine (): string {
  const product = RELAY_LIMIT.capacity === PRODUCT_RELAY_LIMIT.capacity && RELAY_LIMIT.refillPerSecond === PRODUCT_RELAY_LIMIT.refillPerSecond
  return `relay limit on our servers (every one of our cases; rate-limit plugin on and enforcing): ${RELAY_LIMIT.refillPerSecond} data-messages/s per connection, burst ${RELAY_LIMIT.capacity}` +
    (product ? ' (the product default)' : ` (product default ${PRODUCT_RELAY_LIMIT.refillPerSecond}/s, burst ${PRODUCT_RELAY_LIMIT.capacity})`) +
    `; hosts offer ${RELAY.ratePerHost} msg/s each; baseline: no limits`
}

function printRatios (rounds: CaseResult[][]): void {
  const baseIndex = CASES.findIndex((c) => c.id === 'baseline')
  const show = (value: number | undefined): string => value === undefined ? '-' : value.toFixed(2)
  const verdict = (value: number | undefined, target: number): string => value === undefined ? '?' : value >= target ? 'meets' : 'MISSES'
  // The ratio of each round (same machine state), then the median over rounds.
  const perRound = (caseIndex: number, value: (r: CaseResult) => number | undefined): number[] =>
    rounds.map((round) => {
      const ours = round[caseIndex]
      const base = round[baseIndex]
      if (ours?.error !== undefined || base?.error !== undefined || ours === undefined || base === undefined) return undefined
      const a = value(ours)
      const b = value(base)
      return a === undefined || b === undefined ? undefined : a / b
    }).filter((v): v is number => v !== undefined && Number.isFinite(v))
  const ratio = (caseIndex: number, value: (r: CaseResult) => number | undefined): number | undefined => median(perRound(caseIndex, value))
  /** The spread of the per-round ratios, so a verdict near its target shows how firm it is. */
  const spread = (caseIndex: number, value: (r: CaseResult) => number | undefined): string => {
    const all = perRound(caseIndex, value)
    return all.length < 2 ? '' : ` (rounds ${Math.min(...all).toFixed(2)}-${Math.max(...all).toFixed(2)})`
  }
  if (baseIndex !== -1) {
    console.log(`\n${relayLimitLine()}`)
    console.log('ours / baseline (median of per-round ratios)   joins/s   relay/s   | per server CPU-s: joins  relay   target (joins: warm server, later bursts)')
    for (const [i, spec] of CASES.entries()) {
      if (spec.server === 'baseline') continue
      const target = spec.transport === 'socket.io' ? 0.8 : 2
      const j = ratio(i, seatsPerSec)
      const d = ratio(i, relayPerSec)
      const jc = ratio(i, seatsPerCpuSec)
      const dc = ratio(i, relayPerCpuSec)
      const jf = ratio(i, firstSeatsPerSec)
      const judged = spec.reference === true ? '(reference: no target)' : `>= ${target}: joins ${verdict(j, target)}, relay ${verdict(d, target)}`
      console.log(`  ${spec.label.padEnd(44)} ${show(j).padStart(8)} ${show(d).padStart(9)}   |${show(jc).padStart(24)} ${show(dc).padStart(6)}   ${judged}; first burst (fresh server) joins ${show(jf)}`)
      console.log(`  ${''.padEnd(44)} joins/s warm${spread(i, seatsPerSec)}, first burst${spread(i, firstSeatsPerSec)}, per server CPU-s warm${spread(i, seatsPerCpuSec)}; relay/s${spread(i, relayPerSec)}`)
    }
  }
  // A case relaying at the offered ceiling measures the pacing, not the server: its ratio cannot exceed ceiling / baseline.
  const ceiling = ROOMS * RELAY.ratePerHost * 3
  for (const [i, spec] of CASES.entries()) {
    const rate = agg(rounds, i, relayPerSec)
    if (rate !== undefined && rate >= 0.95 * ceiling) {
      const base = baseIndex === -1 || spec.server === 'baseline' ? undefined : agg(rounds, baseIndex, relayPerSec)
      console.log(`  note: ${spec.label} relays at the offered ceiling (${Math.round(rate).toLocaleString('en-US')} of ${ceiling.toLocaleString('en-US')} deliveries/s)${base === undefined ? '' : `; its relay ratio cannot exceed ${(ceiling / base).toFixed(2)} here`}: raise --rate (and --relay-refill/--relay-capacity above it) to measure the server`)
    }
  }
  console.log(`RSS per idle connection (target <= 30 KB)              immediate   settled (after <= ${SETTLE_MAX_MS / 1000} s idle)`)
  for (const [i, spec] of CASES.entries()) {
    const kb = agg(rounds, i, rssPerConnKb)
    const settled = agg(rounds, i, rssSettledPerConnKb)
    if (kb === undefined && settled === undefined) continue
    const kbText = (v: number | undefined): string => v === undefined ? '-' : `${v.toFixed(1)} KB`
    const judge = (v: number | undefined): string => spec.server === 'baseline' ? '(baseline)' : spec.reference === true ? '(reference)' : verdict(v === undefined ? undefined : v <= 30 ? 1 : 0, 1)
    console.log(`  ${spec.label.padEnd(44)} ${kbText(kb).padStart(10)} ${judge(kb).padEnd(10)} ${kbText(settled).padStart(10)} ${judge(settled)}`)
  }
}

async function main (): Promise<void> {
  const started = performance.now()
  console.log(`rooms-load: ${ROOMS} rooms x 4 players = ${ROOMS * 4} connections per case, 127.0.0.1, family A payloads, Node ${process.version}, ${availableParallelism()} CPUs, ${ROUNDS} round(s) (median shown)`)
  console.log(`  clients: all in this process (1 client process; each server alone in its own child process); connect ramp: at most ${CONNECT_CONCURRENCY} handshakes in flight (joins are not bounded: every room opens at once, its guests join on the open ack)`)
  console.log(CLIENT === 'wire'
    ? '  clients (--client wire): one bare ws socket per player for every case (no compression, no UTF-8 check); Socket.IO cases speak Engine.IO v4 / Socket.IO v5 packets on /socket.io/?EIO=4&transport=websocket, the ws case { id, event, data } frames on /ws; relayed data-messages and users-updated pushes are counted by their first bytes, unparsed (acks are parsed)'
    : '  clients (--client library): socket.io-client, transports [\'websocket\'], forceNew (one connection each); websocket clients: ws to /ws, frames { id, event, data }, every frame parsed')
  console.log(`  joins: ${JOIN_BURSTS} burst(s) per case of ${ROOMS} rooms opening and joining at once, each on ${ROOMS * 4} new connections with nothing else connected; the first on the fresh server (V8 still optimising the code), the later ones on the same server warm; joins/s shown for both (later: median), other join rows are medians over all bursts, latencies pooled`)
  console.log(`  relay: each host paced to <= ${RELAY.ratePerHost} msg/s (burst ${RELAY.burst}), <= ${RELAY.inflight} in flight per room; ${RELAY.warmupMs} ms warm-up, ${RELAY.windowMs} ms counted window; offered ceiling ${(ROOMS * RELAY.ratePerHost * 3).toLocaleString('en-US')} deliveries/s`)
  console.log(`  ${relayLimitLine()}`)
  console.log(`  server Node flags (every server, baseline included): ${SERVER_NODE_FLAGS.length === 0 ? 'none: V8 default heap sizing' : SERVER_NODE_FLAGS.join(' ')}${SERVER_NODE_FLAGS.includes(`--max-semi-space-size=${SEMI_SPACE_MB}`) ? ' (the standalone server\'s young-generation cap)' : ''}`)
  if (RELAY.ratePerHost >= RELAY_LIMIT.refillPerSecond) console.log(`  WARNING: hosts offer ${RELAY.ratePerHost} msg/s, at or above our relay limit of ${RELAY_LIMIT.refillPerSecond}/s: our servers will drop data-messages, so the relay ratio measures the limit`)
  console.log('  our server, other limits: signaling limit default; per-IP http limit lifted to 1e6 (every client shares 127.0.0.1); auth cases: HS256 read tokens from app.netplay.auth.mint, minted before timing')
  console.log(`  idle RSS: read ${IDLE_SETTLE_MS} ms after the joins ("immediate"), then again once RSS stops falling (sampled every ${SETTLE_STEP_MS} ms without forcing GC, done after ${SETTLE_QUIET_STEPS} samples without a fall of >= ${SETTLE_FALL_KB} KB, at most ${SETTLE_MAX_MS} ms; "settled"). The "before" reading gets the same settle, every case the same rule`)
  const rounds: CaseResult[][] = []
  for (let round = 0; round < ROUNDS; round++) {
    const results: CaseResult[] = []
    for (const spec of CASES) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}: ${spec.label}...\n`)
      results.push(await runCaseBounded(spec))
      await sleep(500)
    }
    rounds.push(results)
  }
  const limits = rounds[0]?.find((r) => r.spec.server === 'netplay')?.limits as { data?: { capacity: number, refillPerSecond: number } } | undefined
  if (limits !== undefined) {
    console.log(`  limits reported by our server: ${JSON.stringify(limits)}`)
    if (limits.data?.capacity !== RELAY_LIMIT.capacity || limits.data.refillPerSecond !== RELAY_LIMIT.refillPerSecond) console.log('  WARNING: the relay limit our server reports is not the one asked for')
  }
  console.log('')
  printTable(rounds)
  printRatios(rounds)
  console.log(`\n${((performance.now() - started) / 1000).toFixed(0)} s. Reproduce: npx node bench/rooms-load.bench.ts   (or: npm run bench)`)
  if (ALLOC_PROFILE) console.log(`allocation profiles of the server children (one per phase): ${PROFILE_DIR}\n  summarise: npx node bench/lib/heapprofile-top.ts <file.heapprofile>...`)
  if (PROFILE) console.log(`CPU profiles of the server children (figures above are slowed by profiling): ${PROFILE_DIR}\n  summarise one phase: npx node bench/lib/cpuprofile-top.ts <file.cpuprofile> --phase join|relay`)
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err)
  killAll()
  process.exit(1)
})
