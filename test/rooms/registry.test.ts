// The room registry in a real Redis: each room's summary under
// `<registryKeyPrefix><room>` (RomM reads `sfu:room:<name>`) with a TTL this
// node keeps refreshing while the room lives, updated as players come and
// go, and deleted when the room closes or the node shuts down.
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient, settle } from '../helpers/netplay-clients.ts'

const extra = (roomName: string, userid: string): Record<string, unknown> => ({ room_name: roomName, userid, player_name: userid, netplay_mode: 0, game_id: 7, domain: 'games.example' })

async function until (check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await settle(20)
  }
  throw new Error(`timed out waiting until ${what}`)
}

t.test('a room\'s summary lives in Redis while the room does, refreshed before its TTL', async (t) => {
  const redis = await startRedis(t)
  const server = await startNetplay(t, { rooms: { store: 'redis', redis: redis.url, registryTtlMs: 1500, nodeId: 'node-a' } })
  const r = redis.client()
  const summary = async (room: string): Promise<Record<string, unknown> | null> => JSON.parse(await r.get(`sfu:room:${room}`) ?? 'null') as Record<string, unknown> | null

  const host = await ioClient(server)
  await host.ack('open-room', { extra: extra('Registry', 'host'), maxPlayers: 3 })
  await until(async () => (await summary('Registry')) !== null, 'the summary is written')
  t.match(await summary('Registry'), { room_name: 'Registry', current: 1, max: 3, hasPassword: false, nodeId: 'node-a' })
  const ttl = await r.pttl('sfu:room:Registry')
  t.ok(ttl > 0 && ttl <= 1500, `written with the TTL (${ttl} ms)`)

  const guest = await ioClient(server, { transports: ['websocket'] })
  await guest.ack('join-room', { extra: extra('Registry', 'guest') })
  await until(async () => (await summary('Registry'))?.current === 2, 'a join updates it')

  // Three TTLs later it is still there: the node refreshes it.
  await settle(4500)
  t.match(await summary('Registry'), { room_name: 'Registry', current: 2 }, 'refreshed while the room lives')
  t.ok(await r.pttl('sfu:room:Registry') > 0)

  const other = await ioClient(server)
  await other.ack('open-room', { extra: extra('Other', 'other-host') })
  await until(async () => (await summary('Other')) !== null, 'a second room is written')

  guest.socket.emit('leave-room', { roomName: 'Registry' })
  guest.close()
  host.socket.emit('leave-room', { roomName: 'Registry' })
  host.close()
  await until(async () => (await r.exists('sfu:room:Registry')) === 0, 'a closed room\'s key is deleted')
  t.pass('a closed room\'s summary is deleted at once, not left to expire')

  await server.app.close()
  await until(async () => (await r.exists('sfu:room:Other')) === 0, 'shutting down deletes the rest')
  t.pass('shutting the node down deletes the summaries of its rooms')
})
