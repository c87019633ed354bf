// What one idle, seated connection keeps on the server's heap, by
// constructor: heap snapshots of a rooms-load server child before and after
// N players (N/4 rooms) connect and join, diffed. Use it before guessing at
// memory per connection.
//
//   npx node bench/heap-per-connection.ts [baseline|sio|sio-auth|ws|ws-auth|sio-floor] [--rooms 100] [--top 40] [--rss-only]
//
// sio-floor is the Socket.IO server alone, default options and no event
// handlers: its connections are opened and left idle, never seated. It is
// the floor under every Socket.IO figure, ours and the baseline's.
//
// --rss-only takes no snapshot and prints where the resident memory per
// connection is: process.memoryUsage() and /proc/<pid>/smaps deltas (V8
// pages vs malloc). Writing a snapshot grows malloc's arena, so the RSS
// figures of a run with snapshots are not meaningful.
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { RoomGroup, sleep, type Transport } from './lib/rooms-load-clients.ts'
import type { RssSample, ServerReply } from './lib/rooms-load-server.ts'

const SERVER_SCRIPT = fileURLToPath(new URL('./lib/rooms-load-server.ts', import.meta.url))
const which = process.argv[2] ?? 'sio-auth'
const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}
const ROOMS = flag('rooms', 100)
const TOP = flag('top', 40)
/** --rss-only: no snapshots (writing one grows malloc's arena, which would show as resident memory per connection). */
const RSS_ONLY = process.argv.includes('--rss-only')
const transport: Transport = which.startsWith('ws') ? 'websocket' : 'socket.io'
const auth = which.endsWith('-auth')
/** sio-floor: connections only (it has no rooms to join). */
const seated = which !== 'sio-floor'
const serverKind = which === 'baseline' || which === 'sio-floor' ? which : 'netplay'

const child = spawn(process.execPath, ['--expose-gc', SERVER_SCRIPT, serverKind, ...(auth ? ['--auth'] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
const pending = new Map<number, (reply: ServerReply) => void>()
let nextId = 1
const ready = new Promise<number>((resolve) => {
  child.on('message', (message: ServerReply & { ready?: boolean, port?: number }) => {
    if (message.ready === true) { resolve(message.port as number); return }
    pending.get(message.id)?.(message)
    pending.delete(message.id)
  })
})
async function request<T> (op: string, count?: number, name?: string): Promise<T> {
  const id = nextId++
  const reply = await new Promise<ServerReply>((resolve) => {
    pending.set(id, resolve)
    child.send({ id, op, count, name })
  })
  if (!reply.ok) throw new Error(reply.error)
  return reply.data as T
}

/** Resident KB by kind of mapping (/proc/<pid>/smaps, Linux): malloc's main arena, other anonymous mappings by size, files. */
function residentByMapping (pid: number): Map<string, number> {
  const out = new Map<string, number>()
  let kind = ''
  try {
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
      if (head !== null) {
        const kb = (parseInt(head[2] ?? '0', 16) - parseInt(head[1] ?? '0', 16)) / 1024
        const name = head[3] ?? ''
        kind = name === '' ? (kb >= 65_536 ? 'anon >= 64 MB (malloc thread arenas, V8 reservations)' : kb > 256 ? 'anon 256 KB..64 MB' : 'anon <= 256 KB (V8 pages)') : name.startsWith('/') ? 'files' : name
        continue
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line)
      if (rss !== null) out.set(kind, (out.get(kind) ?? 0) + Number(rss[1]))
    }
  } catch {}
  return out
}

interface Tally { count: number, size: number }
/** Self size and count per node kind and name (constructor for objects; strings, arrays, code... lumped by type). */
function tally (file: string): Map<string, Tally> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[], node_types: [string[]] } }, nodes: number[], strings: string[] }
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const out = new Map<string, Tally>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] as number] ?? '?'
    const name = snap.strings[snap.nodes[i + nameAt] as number] ?? '?'
    const key = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'object shape'
      ? `${type} ${name.slice(0, 60)}`
      : type
    const t = out.get(key) ?? { count: 0, size: 0 }
    t.count++
    t.size += snap.nodes[i + sizeAt] as number
    out.set(key, t)
  }
  return out
}

async function main (): Promise<void> {
  const port = await ready
  const players = ROOMS * 4
  const tokens = auth ? await request<string[]>('mint', players + 8) : undefined
  // Warm-up rooms load code used on first join, as in the bench.
  const warm = new RoomGroup({ transport, port, rooms: 2, tag: 'w', connectConcurrency: 8, timeoutMs: 10_000, ...(tokens ? { tokens: tokens.slice(players) } : {}) })
  await warm.connect()
  if (seated) await warm.join()
  await warm.close()
  await sleep(500)
  const dir = tmpdir()
  const rssBefore = await request<RssSample>('rss')
  const mapsBefore = residentByMapping(child.pid ?? 0)
  const before = RSS_ONLY ? '' : await request<string>('heap', undefined, join(dir, `heap-${which}-before.heapsnapshot`))
  const group = new RoomGroup({ transport, port, rooms: ROOMS, tag: 'b', connectConcurrency: 32, timeoutMs: 30_000, ...(tokens ? { tokens: tokens.slice(0, players) } : {}) })
  const connected = await group.connect()
  if (connected.failed > 0) throw new Error(connected.firstError)
  if (seated) {
    const joined = await group.join()
    if (joined.errors > 0) throw new Error(joined.firstError)
  }
  await sleep(1500)
  const rssAfter = await request<RssSample>('rss')
  const mapsAfter = residentByMapping(child.pid ?? 0)
  if (RSS_ONLY) {
    const per = (k: keyof RssSample): string => `${k} ${((rssAfter[k] - rssBefore[k]) / players / 1024).toFixed(1)}`
    console.log(`${which}, ${players} ${seated ? 'seated ' : ''}idle connections: process.memoryUsage() deltas per connection (KB): ${(['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers', 'newSpace'] as const).map(per).join(', ')}`)
    console.log(`resident KB per connection by mapping: ${[...mapsAfter].filter(([k, v]) => v !== (mapsBefore.get(k) ?? 0)).map(([k, v]) => `${k}: ${((v - (mapsBefore.get(k) ?? 0)) / players).toFixed(1)}`).join(', ')}`)
    await group.close()
    child.kill()
    return
  }
  const after = await request<string>('heap', undefined, join(dir, `heap-${which}-after.heapsnapshot`))
  const a = tally(before)
  const b = tally(after)
  if (process.env.KEEP_SNAPSHOTS === undefined) rmSync(before)
  if (process.env.KEEP_SNAPSHOTS === undefined) rmSync(after)
  const rows: Array<[string, number, number]> = []
  let total = 0
  for (const [key, t] of b) {
    const was = a.get(key) ?? { count: 0, size: 0 }
    const size = (t.size - was.size) / players
    total += size
    rows.push([key, (t.count - was.count) / players, size])
  }
  rows.sort((x, y) => y[2] - x[2])
  console.log(`heap self size per connection ${(total / 1024).toFixed(2)} KB (objects counted per connection)`)
  for (const [key, count, size] of rows.slice(0, TOP)) console.log(`${size.toFixed(0).padStart(7)} B  ${count.toFixed(2).padStart(6)}  ${key}`)
  await group.close()
  child.kill()
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); child.kill(); process.exit(1) })
