// The room list over the socket, as EmulatorJS-SFU generation 2 fills its
// lobby table: `request-room-list` answers with `rooms-updated` (an array of
// romm-sfu-server's entries), and changes follow while the connection stays.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNetplay } from '../helpers/netplay-server.ts'
import { hostRoom, joinAs, player, withTokens } from '../helpers/family-b.ts'

type Entry = Record<string, unknown>

t.test('request-room-list: the list at once, then every change, as an array of id/name entries', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { listPushIntervalMs: 50 } }))
  const lobby = await player(server, 'lobby')
  t.strictSame(await lobby.client.ack('request-room-list', {}), [null, null], 'acked like romm-sfu-server')
  t.strictSame(await lobby.client.inbox.take('rooms-updated'), [], 'no rooms yet')

  const alice = await hostRoom(server, 'alice', 'Kart Night', { maxPlayers: 4, password: 'pw' })
  const opened = await lobby.client.inbox.take<Entry[]>('rooms-updated', (list) => list.length === 1 && list[0].current === 1)
  t.match(opened[0], { id: 'Kart Night', name: 'Kart Night', room_name: 'Kart Night', current: 1, max: 4, hasPassword: true, netplay_mode: 'live_stream' })
  t.notOk(JSON.stringify(opened).includes('pw'), 'never the password')

  // A burst of joins: one push for the burst, not one per join.
  const before = lobby.client.inbox.count('rooms-updated')
  await Promise.all(['bob', 'carol'].map(async (sub) => await joinAs(server, sub, 'Kart Night', {}, 'pw')))
  const full = await lobby.client.inbox.take<Entry[]>('rooms-updated', (list) => list[0]?.current === 3)
  t.equal(full[0]?.current, 3)
  await sleep(150)
  t.ok(lobby.client.inbox.count('rooms-updated') - before <= 2, `joins coalesced (${lobby.client.inbox.count('rooms-updated') - before} pushes for two joins)`)

  t.ok(alice.client.socket.connected)
})

t.test('the list a connection asked for: filtered by domain and game_id like /list; nobody else is pushed to', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { listPushIntervalMs: 20 } }))
  const sameGame = await player(server, 'same')
  const otherGame = await player(server, 'other')
  const silent = await player(server, 'silent')
  await sameGame.client.ack('request-room-list', { domain: 'romm.example', game_id: 7 })
  await otherGame.client.ack('request-room-list', { domain: 'romm.example', game_id: '8' })
  await hostRoom(server, 'alice', 'Seven')
  t.equal((await sameGame.client.inbox.take<Entry[]>('rooms-updated', (list) => list.length === 1))[0]?.id, 'Seven')
  await sleep(100)
  t.strictSame(otherGame.client.inbox.all('rooms-updated').at(-1), [], 'another game: still empty')
  t.equal(silent.client.inbox.count('rooms-updated'), 0, 'a connection that did not ask gets nothing')
  t.strictSame((await sameGame.client.ack('request-room-list', { game_id: { $ne: 1 } }))[0], 'invalid payload', 'a bad filter is refused')
})

t.test('the room closing empties the list (a subscriber that left meanwhile is skipped)', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { listPushIntervalMs: 20, reconnectGraceMs: 0 } }))
  const lobby = await player(server, 'lobby')
  const gone = await player(server, 'gone')
  await lobby.client.ack('request-room-list', {})
  await gone.client.ack('request-room-list', {})
  const alice = await hostRoom(server, 'alice', 'Brief')
  await lobby.client.inbox.take<Entry[]>('rooms-updated', (list) => list.length === 1)
  gone.client.socket.disconnect()
  t.strictSame(await alice.client.ack('leave-room', { roomName: 'Brief' }), [null, null])
  t.strictSame(await lobby.client.inbox.take<Entry[]>('rooms-updated', (list) => list.length === 0), [], 'closed: gone from the list')
  t.equal(server.app.netplay.rooms.get('Brief'), undefined)
})
