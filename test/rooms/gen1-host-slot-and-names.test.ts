// Regressions of EmulatorJS-SFU generation 1 (family C):
// - its host plays on the controller slot it picked (extra.player_slot),
//   but was always seated at 0: a guest asking for slot 0 was then seated
//   on the host's slot, and both drove the same player;
// - it shows `player_name` only (join/leave notices, players table), which
//   the server removed for every EmulatorJS-SFU member: everyone was
//   "Unknown". Its members now carry the server's name under that key too.
import t from 'tap'
import { TOKEN_AUTH, startNetplay } from '../helpers/netplay-server.ts'
import { gen1Extra as realGen1Extra, ioClient, sfuExtra } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>

function gen1Extra (userid: string, slot: unknown = 0): Record<string, unknown> {
  return realGen1Extra('Slots', userid, { player_name: `  Player ${userid}  `, player_slot: slot })
}

t.test('a generation-1 host sits at the slot it picked; the guest gets the one it asked for', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: gen1Extra('host', 1), maxPlayers: 2 }))[0], null)
  const room = server.app.netplay.rooms.get('Slots')
  t.equal(room?.members.get('host')?.slot, 1, 'the host is at slot 1, as it asked')
  t.equal(room?.ownerUserid, 'host')

  const guest = await ioClient(server)
  const [err, users] = await guest.ack('join-room', { extra: gen1Extra('guest', 0) }) as [unknown, Users]
  t.equal(err, null)
  t.equal(room?.members.get('guest')?.slot, 0, 'the guest gets slot 0, as it asked')
  t.strictSame(Object.keys(users), ['guest', 'host'], 'the users map is in slot order')
  t.match(users.host, { player_slot: 1, is_host: true })
  t.match(users.guest, { player_slot: 0, is_spectator: false })
})

for (const [slot, why] of [[2, 'past maxPlayers'], [-1, 'negative'], [1.5, 'not an integer'], ['1', 'a string'], [8, 'the spectator slot']] as const) {
  t.test(`a generation-1 host asking for slot ${String(slot)} (${why}) sits at 0`, async (t) => {
    const server = await startNetplay(t)
    const host = await ioClient(server)
    t.equal((await host.ack('open-room', { extra: gen1Extra('host', slot), maxPlayers: 2 }))[0], null)
    t.equal(server.app.netplay.rooms.get('Slots')?.members.get('host')?.slot, 0)
  })
}

t.test('a generation-2 (EmulatorJS-SFU) host still gets slot 0', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: sfuExtra('Gen Two', { userid: 'host', player_slot: 1 }), maxPlayers: 4 }))[0], null)
  t.equal(server.app.netplay.rooms.get('Gen Two')?.members.get('host')?.slot, 0)
})

t.test('generation-1 entries carry player_name: the sanitized client name without auth', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.ack('open-room', { extra: gen1Extra('host'), maxPlayers: 3 })
  const guest = await ioClient(server)
  const [, users] = await guest.ack('join-room', { extra: gen1Extra('guest', 1) }) as [unknown, Users]
  t.match(users.host, { player_name: 'Player host', netplay_username: 'Player host' }, 'in the join ack')
  t.match(users.guest, { player_name: 'Player guest', netplay_username: 'Player guest' })
  const pushed = await host.inbox.take<Users>('users-updated', (u) => 'guest' in u)
  t.match(pushed.guest, { player_name: 'Player guest' }, 'and in users-updated')

  // A name sent later as metadata is the client's, not the server's: it does not replace it.
  t.equal((await guest.ack('update-player-metadata', { metadata: { player_name: 'Impostor' } }))[0], null)
  const updated = await host.inbox.take<Users>('users-updated', (u) => u.guest !== undefined && 'player_name' in u.guest)
  t.equal(updated.guest?.player_name, 'Player guest')

  // Generation-2 members in the same room keep player_name removed.
  const gen2 = await ioClient(server)
  const joined = await gen2.call('join-room', { extra: { ...sfuExtra('Slots', { userid: 'gen2', player_name: 'Raw', player_slot: undefined }), domain: 'retro.example', game_id: 12 } })
  t.equal(joined.err, null)
  const gen2Entry = (joined.data as { users: Users }).users.gen2
  t.notOk(gen2Entry !== undefined && 'player_name' in gen2Entry, 'a generation-2 entry has no player_name')
  t.equal(gen2Entry?.netplay_username, 'Raw')
})

t.test('generation-1 entries carry player_name: the token\'s name with auth', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH })
  const hostToken = await server.token('host-sub', 'Alice')
  const hostId = (await server.app.netplay.auth.verify(hostToken)).userid
  const host = await ioClient(server, { headers: { cookie: `romm_sfu_token=${hostToken}` } })
  const [err] = await host.ack('open-room', { extra: gen1Extra('forged'), maxPlayers: 2 })
  t.equal(err, null)
  const users = await host.inbox.take<Users>('users-updated')
  t.match(users[hostId], { player_name: 'Alice', netplay_username: 'Alice' }, 'the token\'s name, not the one the client sent')
})
