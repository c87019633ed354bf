// Regression: an upstream (family A) player whose socket dropped (a closed
// tab, a Wi-Fi blip) kept its seat for the reconnect grace, 60 s by
// default. The upstream client never reclaims a seat: it leaves its room on
// any disconnect and rejoins under a new random userid. So the held seat
// only made the room full: the player coming back was told "Room full" and
// the list hid the Join button. Upstream members now leave at once on any
// disconnect; the other families keep their grace.
import t from 'tap'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>

const upstream = (userid: string): Record<string, unknown> =>
  ({ domain: 'games.example', game_id: 42, room_name: 'Duel', player_name: userid, userid, sessionid: 'duel' })

t.test('upstream: a dropped guest frees its seat at once and can come back as a new player', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 60_000 } })
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: upstream('host'), maxPlayers: 2 }))[0], null)
  const guest = await ioClient(server)
  t.equal((await guest.ack('join-room', { extra: upstream('guest-first-visit') }))[0], null)
  t.match((await server.get('/list')).body, { duel: { current: 2, max: 2 } })
  await host.inbox.take<Users>('users-updated', (u) => 'guest-first-visit' in u)

  guest.socket.io.engine.close() // the tab closes: a transport close, not a client disconnect
  const users = await host.inbox.take<Users>('users-updated', (u) => !('guest-first-visit' in u))
  t.strictSame(Object.keys(users), ['host'], 'the guest is gone, not shown reconnecting')
  t.match((await server.get('/list')).body, { duel: { current: 1, max: 2 } }, 'the list offers the seat again')

  const back = await ioClient(server)
  const [err, rejoined] = await back.ack('join-room', { extra: upstream('guest-second-visit') }) as [unknown, Users]
  t.equal(err, null, 'the player coming back is not told "Room full"')
  t.strictSame(Object.keys(rejoined), ['host', 'guest-second-visit'])
  t.equal(server.app.netplay.rooms.get('duel')?.members.get('guest-second-visit')?.slot, 1, 'seated at index 1 again')
})

t.test('generation 1 keeps the grace (it comes back with the same userid)', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 60_000 } })
  const gen1 = (userid: string): Record<string, unknown> => ({ ...upstream(userid), player_slot: 0, input_mode: 'unorderedRelay' })
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: gen1('host'), maxPlayers: 2 }))[0], null)
  const guest = await ioClient(server)
  t.equal((await guest.ack('join-room', { extra: gen1('guest') }))[0], null)
  guest.socket.io.engine.close()
  const droppedAt = Date.now()
  const users = await host.inbox.take<Users>('users-updated', (u) => u.guest?.reconnecting === true)
  t.equal(users.guest?.socketId, null, 'held for the grace')
  // Not the full minute: the client gives up and leaves after 10 s
  // disconnected, so its seat is held 15 s, then freed for whoever rejoins.
  const held = (server.app.netplay.rooms.get('Duel')?.members.get('guest')?.graceUntil ?? 0) - droppedAt
  t.ok(held > 14_000 && held <= 15_100, `held about 15 s (${held} ms), not reconnectGraceMs`)
  const back = await ioClient(server)
  t.equal((await back.ack('join-room', { extra: gen1('guest') }))[0], null)
  t.equal(server.app.netplay.rooms.get('Duel')?.members.get('guest')?.connectionId, back.id, 'and re-seated')
})
