// Family C: EmulatorJS-SFU generation 1 (January 2026 builds). Its `extra`
// has neither the generation-2 markers nor a sessionid; rooms are keyed by
// room_name, the join ack is the upstream users map, and errors are the
// EmulatorJS-SFU strings. It authenticates with the same-origin cookie only.
import t from 'tap'
import { TOKEN_AUTH, startNetplay } from '../helpers/netplay-server.ts'
import { gen1Extra as realGen1Extra, ioClient } from '../helpers/netplay-clients.ts'

function gen1Extra (roomName: string, userid: string): Record<string, unknown> {
  return { room_name: roomName, domain: 'retro.example', game_id: '12', player_name: `Player ${userid}`, userid }
}

t.test('generation-1 client: users map ack, EmulatorJS-SFU error strings', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: gen1Extra('Gen One', 'host'), maxPlayers: 2, password: 'pw' }))[0], null)
  const [selfErr, selfUsers] = await host.ack('join-room', { extra: gen1Extra('Gen One', 'host'), password: 'pw' }) as [unknown, Record<string, Record<string, unknown>>]
  t.equal(selfErr, null, 'the host joins its own room')
  t.strictSame(Object.keys(selfUsers), ['host'], 'the ack is the users map, not a room state')

  const listed = (await server.get('/list?domain=retro.example&game_id=12')).body as Record<string, Record<string, unknown>>
  t.strictSame(Object.keys(listed), ['Gen One'], 'keyed by room_name')
  t.match(listed['Gen One'], { room_name: 'Gen One', current: 1, max: 2, hasPassword: true })

  const guest = await ioClient(server, { transports: ['websocket'] })
  t.strictSame(await guest.ack('join-room', { extra: gen1Extra('Nope', 'guest') }), ['no such room'])
  t.strictSame(await guest.ack('join-room', { extra: gen1Extra('Gen One', 'guest'), password: 'nope' }), ['bad password'])
  t.strictSame(await guest.ack('open-room', { extra: gen1Extra('Gen One', 'guest') }), ['room exists'])
  t.strictSame(await guest.ack('open-room', { extra: { domain: 'retro.example', userid: 'guest' } }), ['invalid'])
  const [err, users] = await guest.ack('join-room', { extra: gen1Extra('Gen One', 'guest'), password: 'pw' }) as [unknown, Record<string, Record<string, unknown>>]
  t.equal(err, null)
  t.strictSame(Object.keys(users), ['host', 'guest'], 'users map in slot order')
  t.equal(users.guest?.socketId, guest.id)
  t.equal(users.host?.socketId, host.id)
  t.match(users.guest, { player_slot: 1, netplay_username: 'Player guest', is_spectator: false })
  t.equal(users.guest?.player_name, 'Player guest', 'player_name, which generation 1 shows, is the server\'s name (here the sanitized one it sent)')

  const third = await ioClient(server)
  t.strictSame(await third.ack('join-room', { extra: gen1Extra('Gen One', 'third'), password: 'pw' }), ['room full'])
  t.strictSame(await third.ack('update-player-slot', { playerSlot: 1 }), ['not in room'])
  t.strictSame(await guest.ack('update-player-slot', { playerSlot: 0 }), ['slot taken'])

  for (const member of [host, guest]) {
    const pushed = await member.inbox.take('users-updated', (u) => Object.keys(u).length === 2)
    t.strictSame(Object.keys(pushed), ['host', 'guest'])
  }
})

t.test('generation-1 client authenticated by the romm_sfu_token / sfu_token cookie', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH })
  const hostToken = await server.token('host')
  const hostId = (await server.app.netplay.auth.verify(hostToken)).userid
  const host = await ioClient(server, { headers: { cookie: `theme=dark; romm_sfu_token=${hostToken}` } })
  const guest = await ioClient(server, { headers: { cookie: `sfu_token=${await server.token('guest')}` }, transports: ['websocket'] })
  t.equal((await host.ack('open-room', { extra: gen1Extra('Cookie Room', 'forged-host') }))[0], null)
  const [err, users] = await guest.ack('join-room', { extra: gen1Extra('Cookie Room', 'forged-guest') }) as [unknown, Record<string, Record<string, unknown>>]
  t.equal(err, null)
  t.equal(Object.keys(users)[0], hostId, 'identity from the cookie token, not extra.userid')
  t.notOk('forged-guest' in users)
  t.match(Object.values(users)[1], { netplay_username: 'guest', socketId: guest.id })

  const anonymous = await ioClient(server, { wait: false, headers: { cookie: 'theme=dark' } })
  t.match((await anonymous.inbox.take<Error>('connect_error')).message, /unauthorized/)
})

t.test('the extra generation 1 really sends (player_slot, input_mode and a sessionid) is read as generation 1', async (t) => {
  // emulator.js of the January 2026 builds: { domain, game_id, room_name,
  // player_name, player_slot, userid, sessionid, input_mode }. Read as
  // generation 2 (player_slot) its join ack was a room state, which the
  // client stores as its player list; read as upstream (sessionid) its room
  // was keyed by the session id, which its room list does not use.
  const server = await startNetplay(t)
  const real = (userid: string, slot: number): Record<string, unknown> => realGen1Extra('Real Gen One', userid, { player_slot: slot })
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: real('host', 0), maxPlayers: 2, password: null }))[0], null)
  t.strictSame(Object.keys((await server.get('/list?domain=retro.example&game_id=12')).body as object), ['Real Gen One'], 'keyed by room_name')
  const guest = await ioClient(server, { transports: ['websocket'] })
  const [err, users] = await guest.ack('join-room', { extra: real('guest', 0), password: null }) as [unknown, Record<string, Record<string, unknown>>]
  t.equal(err, null)
  t.strictSame(Object.keys(users), ['host', 'guest'], 'the ack is the users map the client stores as its players')
  t.match(users.guest, { socketId: guest.id, player_slot: 1 })
  t.strictSame(await guest.ack('join-room', { extra: { ...real('other', 0), room_name: 'Nope' } }), ['no such room'], 'EmulatorJS-SFU error strings')
})
