// Family A: upstream EmulatorJS >= 4.3 (P2P; the server lists rooms and
// relays signals). No tokens: rooms are keyed by the client's `sessionid`,
// errors are the upstream strings the client shows, and the join ack is the
// users map whose order is the controller slot order.
import t from 'tap'
import { startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, settle, type IoClient } from '../helpers/netplay-clients.ts'

/** The `extra` upstream EmulatorJS sends (ids are client GUIDs, game_id a number). */
function upstreamExtra (userid: string, sessionid: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { domain: 'games.example', game_id: 42, room_name: `room of ${sessionid}`, player_name: `name-${userid}`, userid, sessionid, ...over }
}

async function openUpstream (server: NetplayServer, userid: string, sessionid: string, options: { maxPlayers?: number, password?: string | null, extra?: Record<string, unknown> } = {}): Promise<IoClient> {
  const host = await ioClient(server)
  const [err] = await host.ack('open-room', { extra: upstreamExtra(userid, sessionid, options.extra), maxPlayers: options.maxPlayers ?? 4, password: options.password ?? null })
  if (err !== null) throw new Error(`open-room failed: ${String(err)}`)
  return host
}

t.test('host and three guests: list, join order, users-updated, signal and data relay', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server) // polling, then websocket
  const [openErr] = await host.ack('open-room', { extra: upstreamExtra('host-guid', 'sess-1'), maxPlayers: 4, password: null })
  t.equal(openErr, null, 'open-room acks ack(null)')

  // Other rooms to filter out: another game on the same domain, the same game on another domain.
  const otherGame = await openUpstream(server, 'other-game-host', 'sess-2', { extra: { game_id: 43 } })
  await openUpstream(server, 'other-domain-host', 'sess-3', { extra: { domain: 'elsewhere.example' } })

  const listed = await server.get('/list?domain=games.example&game_id=42')
  t.equal(listed.status, 200)
  t.strictSame(Object.keys(listed.body as object), ['sess-1'], 'filtered by domain and game_id; keyed by sessionid')
  t.match((listed.body as Record<string, unknown>)['sess-1'], { room_name: 'room of sess-1', current: 1, max: 4, hasPassword: false })
  t.strictSame(Object.keys((await server.get('/list?domain=games.example&game_id=042')).body as object), [], 'game_id is compared as a string')
  t.strictSame(Object.keys((await server.get('/list?game_id=42')).body as object).sort(), ['sess-1', 'sess-3'], 'game_id alone')
  t.strictSame(Object.keys((await server.get('/list?domain=games.example')).body as object).sort(), ['sess-1', 'sess-2'], 'domain alone')

  const guests: IoClient[] = []
  const transports = [['websocket'], undefined, ['websocket']] as const
  for (const [i, transport] of transports.entries()) {
    const guest = await ioClient(server, transport === undefined ? {} : { transports: [...transport] })
    const [err, users] = await guest.ack('join-room', { extra: upstreamExtra(`guest-${i + 1}`, 'sess-1'), password: null }) as [unknown, Record<string, Record<string, unknown>>]
    t.equal(err, null, `guest ${i + 1} joins`)
    t.strictSame(Object.keys(users), ['host-guid', ...guests.map((_, j) => `guest-${j + 1}`), `guest-${i + 1}`], 'users map in slot order, host first')
    t.equal(users[`guest-${i + 1}`]?.socketId, guest.id, 'own entry carries the socket id')
    guests.push(guest)
  }

  const everyone = [host, ...guests]
  const expectedOrder = ['host-guid', 'guest-1', 'guest-2', 'guest-3']
  for (const [i, client] of everyone.entries()) {
    const users = await client.inbox.take<Record<string, Record<string, unknown>>>('users-updated', (u) => Object.keys(u).length === 4)
    t.strictSame(Object.keys(users), expectedOrder, `member ${i} gets users-updated in slot order`)
    t.strictSame(expectedOrder.map((id) => users[id]?.socketId), everyone.map((c) => c.id), 'every entry carries its socketId')
    t.equal(users['guest-2']?.player_name, 'name-guest-2', 'family A keeps the player name it sent')
  }
  t.equal(otherGame.inbox.count('users-updated'), 1, 'another room hears nothing of this one')
  const room = server.app.netplay.rooms.get('sess-1')
  t.equal(room?.current, 4)
  t.match((await server.get('/list?domain=games.example&game_id=42')).body, { 'sess-1': { current: 4, max: 4 } })

  // webrtc-signal: relayed only to the target, as { sender, offer }.
  const [g1, g2, g3] = guests as [IoClient, IoClient, IoClient]
  const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' }
  const [signalErr] = await host.ack('webrtc-signal', { target: g2.id, offer })
  t.equal(signalErr, null)
  t.strictSame(await g2.inbox.take('webrtc-signal'), { sender: host.id, offer }, 'the target gets { sender, offer } only')
  const candidate = { candidate: 'candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 }
  await g2.ack('webrtc-signal', { target: host.id, candidate })
  t.strictSame(await host.inbox.take('webrtc-signal'), { sender: g2.id, candidate }, 'answers and candidates go back the same way')
  await g1.ack('webrtc-signal', { target: host.id, requestRenegotiate: true, reason: 'ice failed' })
  t.strictSame(await host.inbox.take('webrtc-signal'), { sender: g1.id, requestRenegotiate: true, reason: 'ice failed' })

  // A target in another room is refused and never reached.
  const [crossErr] = await host.ack('webrtc-signal', { target: otherGame.id, offer })
  t.equal(crossErr, 'target not in room', 'a socket of another room is not a valid target')
  const [unknownErr] = await host.ack('webrtc-signal', { target: 'no-such-socket', offer })
  t.equal(unknownErr, 'target not in room')

  // data-message: to everyone else in the room, not back to the sender.
  await host.ack('data-message', { pause: true })
  await g3.ack('data-message', { 'chat-message': { message: 'hi' } })
  for (const guest of [g1, g2]) {
    t.strictSame(await guest.inbox.take('data-message'), { pause: true })
    t.strictSame(await guest.inbox.take('data-message'), { 'chat-message': { message: 'hi', player_name: 'name-guest-3', from: 'guest-3' } }, 'chat carries the sender\'s real name and id')
  }
  t.strictSame(await g3.inbox.take('data-message'), { pause: true })
  t.strictSame(await host.inbox.take('data-message'), { 'chat-message': { message: 'hi', player_name: 'name-guest-3', from: 'guest-3' } })
  await settle()
  t.equal(host.inbox.count('data-message'), 1, 'the host does not get its own message back')
  t.equal(g3.inbox.count('data-message'), 1, 'the guest does not get its own message back')
  for (const guest of [g1, g3]) t.equal(guest.inbox.count('webrtc-signal'), 0, 'signals reach their target only')
  t.equal(otherGame.inbox.count('webrtc-signal') + otherGame.inbox.count('data-message'), 0, 'nothing leaks to another room')

  // A guest leaves; the others close up (an upstream player's index is its
  // place in the map) and the next one comes last, shifting no one.
  g1.socket.emit('leave-room')
  g1.close()
  await host.inbox.take('users-updated', (u) => Object.keys(u).length === 3 && !('guest-1' in u))
  const late = await ioClient(server)
  const [lateErr, lateUsers] = await late.ack('join-room', { extra: upstreamExtra('guest-4', 'sess-1') }) as [unknown, Record<string, unknown>]
  t.equal(lateErr, null)
  t.strictSame(Object.keys(lateUsers), ['host-guid', 'guest-2', 'guest-3', 'guest-4'], 'a late joiner comes after the players already there')
  t.strictSame(['host-guid', 'guest-2', 'guest-3', 'guest-4'].map((id) => room?.members.get(id)?.slot), [0, 1, 2, 3], 'seats follow the map')
})

t.test('password, full room and unknown room answer the upstream strings', async (t) => {
  const server = await startNetplay(t)
  await openUpstream(server, 'host', 'locked', { password: 'hunter2', maxPlayers: 2 })
  t.match((await server.get('/list')).body, { locked: { hasPassword: true, current: 1, max: 2 } })

  const guest = await ioClient(server, { transports: ['websocket'] })
  t.strictSame(await guest.ack('join-room', { extra: upstreamExtra('guest', 'locked'), password: 'wrong' }), ['Incorrect password'])
  t.strictSame(await guest.ack('join-room', { extra: upstreamExtra('guest', 'locked') }), ['Incorrect password'], 'no password at all is wrong too')
  const [err, users] = await guest.ack('join-room', { extra: upstreamExtra('guest', 'locked'), password: 'hunter2' }) as [unknown, Record<string, unknown>]
  t.equal(err, null, 'the right top-level password joins')
  t.strictSame(Object.keys(users), ['host', 'guest'])

  const third = await ioClient(server)
  t.strictSame(await third.ack('join-room', { extra: upstreamExtra('third', 'locked'), password: 'hunter2' }), ['Room full'], 'maxPlayers 2 is full with two')
  t.strictSame(await third.ack('join-room', { extra: upstreamExtra('third', 'no-such-session') }), ['Room not found'])
  t.equal(server.app.netplay.rooms.get('locked')?.current, 2, 'refused joins change nothing')
  t.equal(server.app.netplay.rooms.bindingOf(third.id), undefined)
})

t.test('the host leaves: the others see it gone, then the room closes and they are disconnected', async (t) => {
  // The upstream client ignores is_host: a promoted guest has no emulator
  // to stream, so the game ends with its host (the contract). A dropped
  // socket is what makes the upstream client leave its room.
  const server = await startNetplay(t)
  const host = await openUpstream(server, 'host', 'sess')
  const guests: IoClient[] = []
  for (const id of ['g1', 'g2']) {
    const guest = await ioClient(server)
    await guest.ack('join-room', { extra: upstreamExtra(id, 'sess') })
    guests.push(guest)
  }
  const room = server.app.netplay.rooms.get('sess')
  t.equal(room?.ownerUserid, 'host')

  // What the upstream client does: leave-room, then disconnect.
  host.socket.emit('leave-room')
  host.close()
  for (const guest of guests) {
    const users = await guest.inbox.take<Record<string, Record<string, unknown>>>('users-updated', (u) => !('host' in u))
    t.strictSame(Object.keys(users), ['g1', 'g2'], 'users-updated without the host')
    t.equal(await guest.inbox.take('disconnect'), 'io server disconnect', 'then the server disconnects it')
    t.equal(guest.inbox.count('room-closed'), 0, 'no event the upstream client does not know')
  }
  t.equal(room?.closed, true, 'the room is closed')
  t.equal(server.app.netplay.rooms.get('sess'), undefined)
  t.strictSame((await server.get('/list')).body, {}, 'and no longer listed')
})

t.test('a second socket claiming a connected userid is refused', async (t) => {
  const server = await startNetplay(t)
  const host = await openUpstream(server, 'host', 'sess')
  const guest = await ioClient(server)
  t.equal((await guest.ack('join-room', { extra: upstreamExtra('guest', 'sess') }))[0], null)
  const impostor = await ioClient(server, { transports: ['websocket'] })
  t.strictSame(await impostor.ack('join-room', { extra: upstreamExtra('guest', 'sess') }), ['userid in use'])
  t.strictSame(await impostor.ack('open-room', { extra: upstreamExtra('host', 'sess') }), ['userid in use'], 'nor can it reopen the room as its host')
  const room = server.app.netplay.rooms.get('sess')
  t.equal(room?.members.get('guest')?.connectionId, guest.id, 'the seat stays with the first socket')
  t.equal(room?.members.get('host')?.connectionId, host.id)
  await settle()
  t.equal(guest.inbox.count('netplay-error'), 0, 'the first socket is not disturbed')
})

t.test('ids named like JavaScript built-ins are ids like any other', async (t) => {
  // Without auth, upstream clients choose their userid and sessionid. One
  // named "__proto__" must be listed and announced, not swallowed by the
  // payload object's prototype.
  const server = await startNetplay(t)
  const host = await openUpstream(server, '__proto__', '__proto__')
  const guest = await ioClient(server)
  const [err, users] = await guest.ack('join-room', { extra: upstreamExtra('constructor', '__proto__'), password: null }) as [unknown, Record<string, Record<string, unknown>>]
  t.equal(err, null)
  t.strictSame(Object.keys(users), ['__proto__', 'constructor'], 'both players are in the join ack, in slot order')
  t.equal(users['constructor']?.socketId, guest.id)
  const announced = await host.inbox.take<Record<string, Record<string, unknown>>>('users-updated', (u) => Object.keys(u).length === 2)
  t.strictSame(Object.keys(announced), ['__proto__', 'constructor'], 'and in users-updated')
  const listed = await server.get('/list?domain=games.example&game_id=42')
  t.strictSame(Object.keys(listed.body as object), ['__proto__'], 'the room is listed under its sessionid')
  t.match(Object.getOwnPropertyDescriptor(listed.body, '__proto__')?.value, { current: 2, max: 4 })
})

t.test('after a guest leaves, the others\' seats close up to their place in the users map', async (t) => {
  // Upstream clients have no seats: a guest's player index is its place in
  // the users map (getUserIndex), and that is what its sync-control inputs
  // carry. The default guard binds inputs to the seat, so the seats must
  // follow the map, or a guest after the one who left is refused and, after
  // ten refusals, cut off.
  const server = await startNetplay(t)
  const host = await openUpstream(server, 'host', 'sess')
  const guests: IoClient[] = []
  for (const id of ['g1', 'g2', 'g3']) {
    const guest = await ioClient(server, { transports: ['websocket'] })
    t.equal((await guest.ack('join-room', { extra: upstreamExtra(id, 'sess') }))[0], null)
    guests.push(guest)
  }
  const [g1, g2, g3] = guests as [IoClient, IoClient, IoClient]
  const input = (player: number): unknown => ({ 'sync-control': [{ frame: 120, connected_input: [player, 4, 1] }] })
  t.strictSame(await g2.ack('data-message', input(2)), [null, null], 'g2 is player 2 while g1 is there')
  t.strictSame(await host.inbox.take('data-message'), input(2))

  g1.socket.emit('leave-room')
  const users = await g2.inbox.take<Record<string, unknown>>('users-updated', (u) => !('g1' in u))
  t.strictSame(Object.keys(users), ['host', 'g2', 'g3'])
  const room = server.app.netplay.rooms.get('sess')
  t.strictSame(['host', 'g2', 'g3'].map((id) => room?.members.get(id)?.slot), [0, 1, 2], 'seats are the map indices again')

  t.strictSame(await g2.ack('data-message', input(1)), [null, null], 'g2 now sends as player 1 (its index) and is relayed')
  t.strictSame(await g3.ack('data-message', input(2)), [null, null], 'g3 as player 2')
  t.strictSame(await g3.ack('data-message', input(3)), ['wrong_seat'], 'its old index is another player\'s now')
  t.strictSame(await host.inbox.take('data-message'), input(1))
  t.strictSame(await host.inbox.take('data-message'), input(2))
  await settle()
  t.equal(host.inbox.count('data-message'), 3, 'the refused input never reached the host')

  // A fourth guest joining gets the next index, which is also its seat.
  const g4 = await ioClient(server, { transports: ['websocket'] })
  const [, joined] = await g4.ack('join-room', { extra: upstreamExtra('g4', 'sess') }) as [unknown, Record<string, unknown>]
  t.strictSame(Object.keys(joined), ['host', 'g2', 'g3', 'g4'])
  t.equal(room?.members.get('g4')?.slot, 3)
  t.strictSame(await g4.ack('data-message', input(3)), [null, null])
})

t.test('without auth, a connected userid cannot be claimed in another room either', async (t) => {
  const server = await startNetplay(t)
  await openUpstream(server, 'host-a', 'sess-a')
  await openUpstream(server, 'host-b', 'sess-b')
  const guest = await ioClient(server)
  t.equal((await guest.ack('join-room', { extra: upstreamExtra('guest', 'sess-a') }))[0], null)

  const impostor = await ioClient(server, { transports: ['websocket'] })
  t.strictSame(await impostor.ack('join-room', { extra: upstreamExtra('guest', 'sess-b') }), ['userid in use'], 'not in another room')
  t.strictSame(await impostor.ack('open-room', { extra: upstreamExtra('guest', 'sess-c'), maxPlayers: 2 }), ['userid in use'], 'nor in a room of its own')
  t.equal(server.app.netplay.rooms.get('sess-c'), undefined, 'no room was created')
  t.equal(server.app.netplay.rooms.get('sess-b')?.members.has('guest'), false)

  // The same connection may move; once the first socket is gone, the id is free.
  t.equal((await guest.ack('join-room', { extra: upstreamExtra('guest', 'sess-b') }))[0], null, 'its own connection moves rooms')
  t.equal(server.app.netplay.rooms.get('sess-a')?.members.has('guest'), false)
  guest.socket.emit('leave-room')
  guest.close()
  for (let i = 0; i < 50 && server.app.netplay.rooms.get('sess-b')?.members.has('guest') === true; i++) await settle(20)
  t.equal((await impostor.ack('join-room', { extra: upstreamExtra('guest', 'sess-b') }))[0], null, 'a userid nobody is connected with can be used')
})
