// What running several nodes costs: one redis-server and standalone nodes
// as child processes on loopback, real Socket.IO clients and HTTP. Prints
// figures; asserts nothing.
//
//   npx node bench/cluster.bench.ts                      (or: npm run bench -- cluster)
//   npx node bench/cluster.bench.ts --joins 200 --rooms 100 --lists 500 --window-s 20 --kills 3
//   npx node bench/cluster.bench.ts --heartbeat-ms 2000 --lease-ms 6000
//
// (a) join latency, family B, each joiner a new client (websocket transport,
//     read token), measured from connect to the join-room ack:
//     direct      connect to the room's node, join-room;
//     redirected  connect to another node, join-room -> redirect ack,
//                 connect to the url it names, join-room there.
//     Joins alternate between the two; each joiner leaves before the next.
// (b) GET /list latency with --rooms rooms open on node 1, asked of node 1
//     (its own rooms) and of node 2 (the same rooms, from its pub/sub cache);
//     keep-alive connections, requests alternate between the nodes.
// (c) registry load on Redis: INFO commandstats over a --window-s window with
//     the rooms idle, minus the same window with no room at all (measured in
//     this run), per room per minute; by command.
// (d) SIGKILL of a node hosting rooms -> its rooms gone from another node's
//     /list, polled every 20 ms, --kills times with a fresh node each time.
// Nodes run with the production heartbeat and lease unless told otherwise,
// so (c) and (d) are what a default deployment sees.
import { Agent, request as httpRequest } from 'node:http'
import { availableParallelism, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { clientAddress, connectTo, http, rommSigner, startNode, type NodeProcess } from '../test/helpers/cluster.ts'
import { sfuExtra } from '../test/helpers/netplay-clients.ts'
import type { IoClient } from '../test/helpers/netplay-clients.ts'
import { startRedis } from '../test/helpers/redis.ts'

function flag (name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

const JOINS = flag('joins', 200)
const ROOMS = flag('rooms', 100)
const LISTS = flag('lists', 500)
const WINDOW_S = flag('window-s', 20)
const KILLS = flag('kills', 3)
const KILLED_ROOMS = 5
const HEARTBEAT_MS = flag('heartbeat-ms', 2000)
const LEASE_MS = flag('lease-ms', 6000)
const POLL_MS = 20

// The test helpers register their cleanup with a teardown; here it runs at the end (or on Ctrl-C).
const cleanups: Array<() => unknown> = []
const scope = { teardown (fn: () => unknown) { cleanups.push(fn) } }
async function cleanUp (): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try { await fn() } catch {}
  }
}
process.on('SIGINT', () => { cleanUp().finally(() => process.exit(130)) })

const romm = rommSigner()
let subs = 0
const token = (): string => romm.read(`bench-player-${subs++}`)

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)] as number
}

interface Summary { n: number, p50: number, p99: number, mean: number }
function summarize (values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length) }
}

const ms = (value: number): string => Number.isNaN(value) ? '-' : `${value.toFixed(2)} ms`

async function expectOk (client: IoClient, event: string, payload: unknown): Promise<unknown> {
  const [err, data] = await client.ack(event, payload)
  if (err !== null) throw new Error(`${event}: ${JSON.stringify(err)}`)
  return data
}

async function hostRooms (node: NodeProcess, names: string[]): Promise<IoClient[]> {
  const hosts: IoClient[] = []
  for (const name of names) {
    const host = await connectTo(scope, node.url, { token: token() })
    const extra = sfuExtra(name, { game_id: 7 })
    await expectOk(host, 'open-room', { extra, maxPlayers: 8, password: null })
    await expectOk(host, 'join-room', { extra, password: null })
    hosts.push(host)
  }
  return hosts
}

async function listKeys (node: NodeProcess, bearer: string): Promise<string[]> {
  const reply = await http(`${node.url}/list`, { headers: { authorization: `Bearer ${bearer}` } })
  if (reply.status !== 200) throw new Error(`/list on ${node.nodeId}: ${reply.status}`)
  return Object.keys(reply.body as object)
}

async function waitUntil (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(POLL_MS)
  }
}

// ---- (a) ----

async function joinLatency (owner: NodeProcess, other: NodeProcess, room: string): Promise<{ direct: number[], redirected: number[] }> {
  const direct: number[] = []
  const redirected: number[] = []
  const extra = sfuExtra(room, { player_slot: undefined })
  const leave = async (client: IoClient): Promise<void> => {
    await client.ack('leave-room', { roomName: room, reason: 'bench' })
    client.close()
  }
  for (let i = 0; i < JOINS * 2; i++) {
    const bearer = token()
    const from = clientAddress()
    if (i % 2 === 0) {
      const started = performance.now()
      const client = await connectTo(scope, owner.url, { token: bearer, from })
      await expectOk(client, 'join-room', { extra, password: null })
      direct.push(performance.now() - started)
      await leave(client)
    } else {
      const started = performance.now()
      const first = await connectTo(scope, other.url, { token: bearer, from })
      const answer = await expectOk(first, 'join-room', { extra, password: null }) as { redirect?: string }
      if (typeof answer?.redirect !== 'string') throw new Error(`expected a redirect, got ${JSON.stringify(answer)}`)
      first.close()
      const client = await connectTo(scope, answer.redirect, { token: bearer, from })
      await expectOk(client, 'join-room', { extra, password: null })
      redirected.push(performance.now() - started)
      await leave(client)
    }
  }
  return { direct, redirected }
}

// ---- (b) ----

async function listLatency (nodes: NodeProcess[], bearer: string): Promise<number[][]> {
  // One keep-alive connection per loopback address, round robin: no address
  // comes near the per-IP http limit (40, 20/s).
  const agents = Array.from({ length: 64 }, () => new Agent({ keepAlive: true, maxSockets: 1, localAddress: clientAddress() } as ConstructorParameters<typeof Agent>[0]))
  const timings = nodes.map(() => [] as number[])
  const get = (url: string, agent: Agent): Promise<number> => new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers: { authorization: `Bearer ${bearer}` } }, (res) => {
      res.resume()
      res.on('end', () => res.statusCode === 200 ? resolve(res.statusCode) : reject(new Error(`GET ${url}: ${res.statusCode}`)))
    })
    req.on('error', reject)
    req.end()
  })
  try {
    for (let i = 0; i < LISTS * nodes.length + 2 * nodes.length * agents.length; i++) {
      const n = i % nodes.length
      const agent = agents[Math.floor(i / nodes.length) % agents.length] as Agent
      const started = performance.now()
      await get(`${(nodes[n] as NodeProcess).url}/list`, agent)
      // The first rounds open the connections: not timed.
      if (i >= 2 * nodes.length * agents.length) (timings[n] as number[]).push(performance.now() - started)
    }
  } finally {
    for (const agent of agents) agent.destroy()
  }
  return timings
}

// ---- (c) ----

async function commandStats (redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats')
  const calls = new Map<string, number>()
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1] as string, Number(match[2]))
  return calls
}

async function commandsOver (redis: Redis, seconds: number): Promise<Map<string, number>> {
  const before = await commandStats(redis)
  await sleep(seconds * 1000)
  const after = await commandStats(redis)
  const delta = new Map<string, number>()
  for (const [name, calls] of after) {
    if (name === 'info') continue // this measurement's own
    const d = calls - (before.get(name) ?? 0)
    if (d > 0) delta.set(name, d)
  }
  return delta
}

const total = (calls: Map<string, number>): number => [...calls.values()].reduce((s, n) => s + n, 0)

// ---- (d) ----

async function killToGone (redisUrl: string, observer: NodeProcess, bearer: string, run: number): Promise<number> {
  const victim = await startNode(scope, { redis: redisUrl, nodeId: `victim-${run}`, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS, logLevel: 'warn' })
  const names = Array.from({ length: KILLED_ROOMS }, (_, i) => `victim ${run} room ${i}`)
  const hosts = await hostRooms(victim, names)
  await waitUntil('the observer to list the victim\'s rooms', async () => {
    const keys = new Set(await listKeys(observer, bearer))
    return names.every((name) => keys.has(name))
  }, 10_000)
  // Kill at a random point of the heartbeat cycle, as a crash would.
  await sleep(Math.random() * HEARTBEAT_MS)
  const killedAt = performance.now()
  victim.child.kill('SIGKILL')
  await waitUntil('the victim\'s rooms to leave the observer\'s list', async () => {
    const keys = new Set(await listKeys(observer, bearer))
    return names.every((name) => !keys.has(name))
  }, LEASE_MS * 3)
  const gone = performance.now() - killedAt
  await victim.exited
  for (const host of hosts) host.close()
  return gone
}

async function main (): Promise<void> {
  const loadAtStart = loadavg()[0] as number
  const redisServer = await startRedis(scope)
  const redis = redisServer.client()
  const start = (nodeId: string): Promise<NodeProcess> => startNode(scope, { redis: redisServer.url, nodeId, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS, logLevel: 'warn' })
  const [node1, node2] = await Promise.all([start('node-1'), start('node-2')])
  if (node1 === undefined || node2 === undefined) throw new Error('two nodes expected')
  const lister = token()

  // (a)
  const host = (await hostRooms(node1, ['join bench']))[0] as IoClient
  await waitUntil('node 2 to list the join room', async () => (await listKeys(node2, lister)).includes('join bench'), 10_000)
  const joins = await joinLatency(node1, node2, 'join bench')
  host.close()

  // (b)
  const names = Array.from({ length: ROOMS }, (_, i) => `list bench ${String(i).padStart(3, '0')}`)
  const hosts = await hostRooms(node1, names)
  await waitUntil(`node 2 to list all ${ROOMS} rooms`, async () => (await listKeys(node2, lister)).filter((k) => k.startsWith('list bench')).length === ROOMS, 10_000)
  const [onOwner, onOther] = await listLatency([node1, node2], lister)

  // (c) rooms idle, then the same window with none
  await sleep(500)
  const withRooms = await commandsOver(redis, WINDOW_S)
  for (const client of hosts) client.close()
  await waitUntil('every room to close', async () => (await listKeys(node2, lister)).length === 0 && (await listKeys(node1, lister)).length === 0, 10_000)
  await sleep(500)
  const baseline = await commandsOver(redis, WINDOW_S)

  // (d)
  const kills: number[] = []
  for (let run = 1; run <= KILLS; run++) kills.push(await killToGone(redisServer.url, node2, lister, run))

  // ---- report ----
  const perMinute = 60 / WINDOW_S
  const perRoomPerMinute = (total(withRooms) - total(baseline)) * perMinute / ROOMS
  const byCommand = [...new Set([...withRooms.keys(), ...baseline.keys()])]
    .map((name) => [name, ((withRooms.get(name) ?? 0) - (baseline.get(name) ?? 0)) * perMinute / ROOMS] as const)
    .filter(([, n]) => Math.abs(n) >= 0.05)
    .sort((a, b) => b[1] - a[1])
  const a = { direct: summarize(joins.direct), redirected: summarize(joins.redirected) }
  const b = { owner: summarize(onOwner ?? []), other: summarize(onOther ?? []) }

  console.log(`cluster: redis-server ${(await redis.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?'} + 2 standalone nodes (child processes, --log-level warn), 127.0.0.1, heartbeat ${HEARTBEAT_MS} ms, lease ${LEASE_MS} ms, Node ${process.version}`)
  console.log(`machine: ${availableParallelism()} cores, load average ${loadAtStart.toFixed(2)} at start (the nodes, Redis and the clients share the cores)`)
  console.log('')
  const rows: string[][] = [
    ['figure', 'n', 'p50', 'p99', 'mean'],
    ['(a) join, direct (connect + join-room)', String(a.direct.n), ms(a.direct.p50), ms(a.direct.p99), ms(a.direct.mean)],
    ['(a) join, redirected (node 2 -> node 1)', String(a.redirected.n), ms(a.redirected.p50), ms(a.redirected.p99), ms(a.redirected.mean)],
    [`(b) GET /list, ${ROOMS} rooms, room's node`, String(b.owner.n), ms(b.owner.p50), ms(b.owner.p99), ms(b.owner.mean)],
    [`(b) GET /list, ${ROOMS} rooms, other node`, String(b.other.n), ms(b.other.p50), ms(b.other.p99), ms(b.other.mean)]
  ]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? []
  for (const row of rows) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  '))
  console.log('')
  console.log(`(c) Redis commands, ${WINDOW_S} s windows: ${ROOMS} idle rooms ${total(withRooms)}, no room ${total(baseline)} (2 nodes heartbeating)`)
  console.log(`    per room per minute: ${perRoomPerMinute.toFixed(1)} commands (${byCommand.map(([name, n]) => `${name} ${n.toFixed(1)}`).join(', ')})`)
  console.log(`    no-room baseline: ${(total(baseline) * perMinute / 2).toFixed(0)} commands per node per minute`)
  console.log('    (Redis counts the commands a Lua script runs as well as its EVALSHA; each room also rewrites sfu:room:<name>, RomM\'s key, every registryTtlMs/3 = 20 s)')
  console.log('')
  const mean = kills.reduce((s, v) => s + v, 0) / Math.max(1, kills.length)
  console.log(`(d) SIGKILL -> rooms gone from another node's /list (poll ${POLL_MS} ms, ${KILLED_ROOMS} rooms, lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_MS} ms):`)
  console.log(`    ${kills.map((v, i) => `run ${i + 1}: ${v.toFixed(0)} ms`).join(', ')}; mean ${mean.toFixed(0)} ms (bound: lease + heartbeat = ${LEASE_MS + HEARTBEAT_MS} ms)`)
  console.log('')
  console.log(`reproduce: npx node bench/cluster.bench.ts --joins ${JOINS} --rooms ${ROOMS} --lists ${LISTS} --window-s ${WINDOW_S} --kills ${KILLS} --heartbeat-ms ${HEARTBEAT_MS} --lease-ms ${LEASE_MS}`)
}

try {
  await main()
} finally {
  await cleanUp()
}
