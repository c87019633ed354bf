// Regression: an upstream (family A) join names the room by its listed key,
// `extra.sessionid`. When that room had just closed (the list is up to a
// second old), the server fell back to any room with the same display name,
// of any site and game: the player landed in a stranger's game. An upstream
// join now looks up its key only; the display-name fallback left for the
// EmulatorJS-SFU families also needs the same domain and game.
import t from 'tap'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

function upstream (userid: string, sessionid: string, domain: string, gameId: number): Record<string, unknown> {
  return { domain, game_id: gameId, room_name: 'Fun', player_name: userid, userid, sessionid }
}

t.test('upstream: joining a room that just closed answers "Room not found", never a namesake', async (t) => {
  const server = await startNetplay(t)
  const ann = await ioClient(server)
  t.equal((await ann.ack('open-room', { extra: upstream('ann', 'sess-ann', 'site-a.example', 7), maxPlayers: 4 }))[0], null)
  const zed = await ioClient(server)
  t.equal((await zed.ack('open-room', { extra: upstream('zed', 'sess-zed', 'site-b.example', 99), maxPlayers: 4 }))[0], null)

  ann.socket.emit('leave-room')
  ann.close()
  for (let i = 0; i < 100 && server.app.netplay.rooms.get('sess-ann') !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(server.app.netplay.rooms.get('sess-ann'), undefined, 'Ann\'s room is gone')

  const bob = await ioClient(server)
  // Bob clicked Join on Ann's room in a list a moment old.
  t.strictSame(await bob.ack('join-room', { extra: upstream('bob', 'sess-ann', 'site-a.example', 7), password: null }), ['Room not found'])
  t.strictSame(await bob.ack('join-room', { extra: upstream('bob', 'sess-ann', 'site-b.example', 99), password: null }), ['Room not found'], 'not even with the namesake\'s site and game')
  t.equal(server.app.netplay.rooms.get('sess-zed')?.members.has('bob'), false, 'Bob is not in Zed\'s game')
  t.equal(server.app.netplay.rooms.bindingOf(bob.id), undefined)
})

t.test('EmulatorJS-SFU: a room keyed otherwise is found by display name only with the same domain and game', async (t) => {
  const server = await startNetplay(t)
  const zed = await ioClient(server)
  t.equal((await zed.ack('open-room', { extra: upstream('zed', 'sess-zed', 'site-b.example', 99), maxPlayers: 4 }))[0], null)
  const gen1 = (userid: string, domain: string, gameId: number): Record<string, unknown> =>
    ({ domain, game_id: gameId, room_name: 'Fun', player_name: userid, player_slot: 0, userid, sessionid: `s-${userid}`, input_mode: 'unorderedRelay' })

  const stranger = await ioClient(server)
  t.strictSame(await stranger.ack('join-room', { extra: gen1('stranger', 'site-a.example', 99) }), ['no such room'], 'another site')
  t.strictSame(await stranger.ack('join-room', { extra: gen1('stranger', 'site-b.example', 7) }), ['no such room'], 'another game')
  const friend = await ioClient(server)
  const [err, users] = await friend.ack('join-room', { extra: gen1('friend', 'site-b.example', 99) }) as [unknown, Record<string, unknown>]
  t.equal(err, null, 'the same site and game find it')
  t.strictSame(Object.keys(users), ['zed', 'friend'])
})
