// Family B: the EmulatorJS-SFU generation-2 client, with tokens. Rooms are
// keyed by room_name, identity comes from the token (never from `extra`),
// the join ack is the room state, and errors are the EmulatorJS-SFU strings.
import t from 'tap'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient, settle } from '../helpers/netplay-clients.ts'
import { hostRoom, joinAs, player, sfuExtra, withTokens, type Users } from '../helpers/family-b.ts'

t.test('open, self-join, guests: ack shapes, identity from the token, users-updated', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await player(server, 'alice')
  const extra = sfuExtra('Mario Kart')
  t.strictSame(await alice.client.ack('open-room', { extra, maxPlayers: 4, password: 'pw' }), [null, null], 'open-room acks no error')

  const [selfErr, selfState] = await alice.client.ack('join-room', { extra, password: 'pw' }) as [unknown, Record<string, any>]
  t.equal(selfErr, null, 'the host joins its own room')
  t.strictSame(Object.keys(selfState).sort(), ['game_id', 'netplay_mode', 'room_phase', 'sync_config', 'users'])
  t.match(selfState, { netplay_mode: 'live_stream', room_phase: 'running', game_id: '7', sync_config: { frameDelay: 2 } })
  t.strictSame(Object.keys(selfState.users), [alice.userid])
  const [againErr, again] = await alice.client.ack('join-room', { extra, password: 'pw' }) as [unknown, Record<string, any>]
  t.equal(againErr, null, 'joining again is idempotent')
  t.strictSame(again, selfState)
  const room = server.app.netplay.rooms.get('Mario Kart')
  t.equal(room?.members.size, 1)
  t.equal(room?.members.get(alice.userid)?.slot, 0, 'the host has slot 0')

  const bob = await player(server, 'bob', ['websocket'])
  const carol = await player(server, 'carol')
  for (const guest of [bob, carol]) {
    const [err, state] = await guest.client.ack('join-room', { extra: sfuExtra('Mario Kart', { player_slot: undefined }), password: 'pw' }) as [unknown, Record<string, any>]
    t.equal(err, null, `${guest.sub} joins with the password`)
    t.strictSame(Object.keys(state).sort(), ['game_id', 'netplay_mode', 'room_phase', 'sync_config', 'users'], 'join ack is { users, netplay_mode, room_phase, game_id, sync_config }')
    t.ok(guest.userid in state.users, 'the joiner is in users')
  }

  for (const member of [alice, bob, carol]) {
    const users = await member.client.inbox.take<Users>('users-updated', (u) => Object.keys(u).length === 3)
    t.strictSame(Object.keys(users), [alice.userid, bob.userid, carol.userid], `${member.sub} sees everyone in slot order`)
    for (const [userid, entry] of Object.entries(users)) {
      const owner = userid === alice.userid
      t.equal(entry.userid, userid, 'userid from the token, not extra.userid')
      t.notOk('player_name' in entry, 'no raw player_name')
      t.equal(entry.is_host, owner ? true : undefined, owner ? 'is_host on the owner' : 'is_host only on the owner')
      t.type(entry.socketId, 'string')
    }
    t.equal(users[bob.userid]?.netplay_username, 'bob', 'name from the token')
    t.equal(users[bob.userid]?.socketId, bob.client.id)
    t.strictSame([0, 1, 2], Object.values(users).map((u) => u.player_slot))
    t.notOk('client-chosen-id' in users, 'the client-chosen userid is ignored')
  }
  t.equal(room?.ownerUserid, alice.userid)
  t.match((await server.get('/list?game_id=7', { authorization: `Bearer ${await server.token('lister')}` })).body, {
    'Mario Kart': { room_name: 'Mario Kart', current: 3, max: 4, hasPassword: true, netplay_mode: 'live_stream', spectator_mode: 0 }
  })
})

t.test('room errors answer the EmulatorJS-SFU strings', async (t) => {
  const server = await startNetplay(t, withTokens())
  await hostRoom(server, 'alice', 'Locked', { password: 'secret', maxPlayers: 2 })
  const bob = await player(server, 'bob')
  t.strictSame(await bob.client.ack('join-room', { extra: sfuExtra('Nowhere') }), ['no such room'])
  t.strictSame(await bob.client.ack('join-room', { extra: sfuExtra('Locked'), password: 'guess' }), ['bad password'])
  t.strictSame(await bob.client.ack('open-room', { extra: sfuExtra('Locked') }), ['room exists'])
  t.strictSame(await bob.client.ack('open-room', { extra: sfuExtra('', { room_name: undefined }) }), ['invalid'], 'no room_name')
  t.strictSame(await bob.client.ack('open-room', { extra: sfuExtra('   ') }), ['invalid'], 'a blank room_name')
  t.equal((await bob.client.ack('join-room', { extra: sfuExtra('Locked', { player_slot: undefined }), password: 'secret' }))[0], null)
  const carol = await player(server, 'carol')
  t.strictSame(await carol.client.ack('join-room', { extra: sfuExtra('Locked', { player_slot: undefined }), password: 'secret' }), ['room full'])
  t.strictSame(await carol.client.ack('request-room-state', { roomName: 'Locked' }), ['not in room'])
  t.strictSame(await carol.client.ack('chat-message', { message: 'hi' }), ['not in room'])
  t.equal(server.app.netplay.rooms.get('Locked')?.current, 2)
  t.equal(server.app.netplay.rooms.bindingOf(carol.client.id), undefined, 'refusals bind nothing')
})

t.test('chat, pause/resume and room state', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Chat')
  const bob = await joinAs(server, 'bob', 'Chat')
  const members = [alice, bob]

  t.strictSame(await bob.client.ack('chat-message', { message: '  hello there  ', roomName: 'Chat' }), [null, null])
  for (const member of members) {
    const chat = await member.client.inbox.take('chat-message')
    t.strictSame(Object.keys(chat).sort(), ['message', 'messageId', 'playerName', 'timestamp', 'userid'])
    t.match(chat, { userid: bob.userid, playerName: 'bob', message: 'hello there' }, `${member.sub} gets it, the sender included`)
    t.type(chat.timestamp, 'number')
    t.type(chat.messageId, 'string')
  }
  const exactly500 = ` ${'x'.repeat(500)} `
  t.strictSame(await alice.client.ack('chat-message', { message: exactly500 }), [null, null], '500 chars after trim is allowed')
  t.equal((await bob.client.inbox.take('chat-message')).message.length, 500)
  t.strictSame(await alice.client.ack('chat-message', { message: '   ' }), ['invalid message'], 'empty after trim')
  t.strictSame(await alice.client.ack('chat-message', { message: 'y'.repeat(501) }), ['invalid message'], '501 chars')
  await settle()
  t.equal(bob.client.inbox.count('chat-message'), 2, 'refused messages are not broadcast')

  t.strictSame(await alice.client.ack('netplay-host-paused', { roomName: 'Chat' }), [null, null])
  t.strictSame(await bob.client.inbox.take('netplay-host-paused'), { text: 'Host has paused emulation' })
  t.strictSame(await alice.client.ack('netplay-host-resumed', {}), [null, null])
  t.strictSame(await bob.client.inbox.take('netplay-host-resumed'), { text: 'Host has resumed emulation' })
  t.strictSame(await bob.client.ack('netplay-host-paused', { roomName: 'Chat' }), ['not owner'])
  t.strictSame(await bob.client.ack('netplay-host-resumed', { roomName: 'Chat' }), ['not owner'])
  await settle()
  t.equal(alice.client.inbox.count('netplay-host-paused'), 0, 'a refused pause is not broadcast')

  const [stateErr, state] = await bob.client.ack('request-room-state', { roomName: 'Chat' }) as [unknown, Record<string, any>]
  t.equal(stateErr, null)
  t.match(state, { netplay_mode: 'live_stream', room_phase: 'running', game_id: '7', sync_config: { frameDelay: 2 } })
  t.strictSame(Object.keys(state.users), [alice.userid, bob.userid])
})

t.test('delay_sync lobby: ready, slots, start, ROM check and spectators', async (t) => {
  const server = await startNetplay(t, withTokens())
  const lobbyExtra = { netplay_mode: 1, room_phase: 'lobby', spectator_mode: 1, rom_hash: 'rom-abc', core_type: 'snes9x' }
  const alice = await hostRoom(server, 'alice', 'Lobby', { maxPlayers: 3, extra: lobbyExtra })
  const bob = await player(server, 'bob')
  const [joinErr, state] = await bob.client.ack('join-room', { extra: sfuExtra('Lobby', { ...lobbyExtra, player_slot: undefined }) }) as [unknown, Record<string, any>]
  t.equal(joinErr, null)
  t.match(state, { netplay_mode: 'delay_sync', room_phase: 'lobby', lobby_state: { players: { [bob.userid]: { ready: false, player_slot: 1 } } } })
  const everyone = [alice, bob]

  t.strictSame(await bob.client.ack('toggle-ready', { roomName: 'Lobby' }), [null, null])
  for (const member of everyone) t.strictSame(await member.client.inbox.take('player-ready-updated'), { playerId: bob.userid, ready: true })

  t.strictSame(await bob.client.ack('update-player-slot', { roomName: 'Lobby', playerSlot: 0 }), ['slot taken'])
  t.strictSame(await bob.client.ack('update-player-slot', { roomName: 'Lobby', playerSlot: 1 }), ['you already have slot 1'])
  for (const bad of [3, -1, 99]) t.strictSame(await bob.client.ack('update-player-slot', { roomName: 'Lobby', playerSlot: bad }), ['invalid slot'], `slot ${bad}`)
  t.strictSame(bob.client.inbox.all('player-slot-updated'), Array(5).fill({ playerId: bob.userid, playerSlot: 1 }), 'after each refusal bob is told his real seat')
  t.equal(alice.client.inbox.count('player-slot-updated'), 0, 'and only he is')
  t.strictSame(await bob.client.ack('update-player-slot', { roomName: 'Lobby', playerSlot: 2 }), [null, null])
  for (const member of everyone) t.strictSame(await member.client.inbox.take('player-slot-updated', (d) => d.playerSlot === 2), { playerId: bob.userid, playerSlot: 2 })
  t.equal(server.app.netplay.rooms.get('Lobby')?.members.get(bob.userid)?.slot, 2)

  // A different ROM is refused with the structured error; spectating is offered.
  const mallory = await player(server, 'mallory')
  const [romErr] = await mallory.client.ack('join-room', { extra: sfuExtra('Lobby', { ...lobbyExtra, rom_hash: 'rom-other', player_slot: undefined }) })
  t.match(romErr, { error: 'incompatible_game', message: String, canJoinAsSpectator: true })
  t.strictSame(Object.keys(romErr as object).sort(), ['canJoinAsSpectator', 'error', 'message'])

  // A spectator does not count against `current` and cannot take a seat.
  const [specErr] = await mallory.client.ack('join-room', { extra: sfuExtra('Lobby', { ...lobbyExtra, player_slot: undefined, is_spectator: true }) })
  t.equal(specErr, null, 'the spectator joins')
  const room = server.app.netplay.rooms.get('Lobby')
  t.equal(room?.current, 2, 'spectators are not counted')
  t.match((await server.get('/list', { authorization: `Bearer ${await server.token('lister')}` })).body, { Lobby: { current: 2, max: 3, spectator_mode: 1 } })
  t.strictSame(await mallory.client.ack('update-player-slot', { roomName: 'Lobby', playerSlot: 2 }), ['slot taken'], 'a spectator cannot take a taken seat')
  t.strictSame(await mallory.client.ack('update-player-slot', { roomName: 'Lobby', playerSlot: 3 }), ['invalid slot'], 'nor one past maxPlayers (free seats: see update-player-slot-spectating)')
  const users = await alice.client.inbox.take<Users>('users-updated', (u) => mallory.userid in u)
  t.match(users[mallory.userid], { is_spectator: true, player_slot: 8 })
  t.equal(room?.members.get(mallory.userid)?.slot, null)

  t.strictSame(await bob.client.ack('start-game', { roomName: 'Lobby' }), ['not owner'])
  const [startErr] = await alice.client.ack('start-game', { roomName: 'Lobby' })
  t.equal(startErr, null, 'the owner starts the game')
  for (const member of [...everyone, mallory]) t.match(await member.client.inbox.take('prepare-start'), { startTime: Number, startFrame: 1 })
  // start-game waits until every player is paused at frame 1.
  for (const member of everyone) t.strictSame(await member.client.ack('ready-at-frame-1', { roomName: 'Lobby', frame: 1 }), [null, null])
  for (const member of [...everyone, mallory]) t.match(await member.client.inbox.take('start-game'), { frame: 1, start_time: Number })
  t.equal(room?.roomPhase, 'running')
})

t.test('start-game waits for every seated player to be ready', async (t) => {
  const server = await startNetplay(t, withTokens())
  const lobby = { netplay_mode: 1, room_phase: 'lobby' }
  const alice = await hostRoom(server, 'alice', 'Lobby', { extra: lobby })
  const bob = await joinAs(server, 'bob', 'Lobby', lobby)
  t.strictSame(await alice.client.ack('start-game', {}), ['not all players ready'])
  await settle()
  t.equal(bob.client.inbox.count('start-game'), 0)
  await bob.client.ack('toggle-ready', { ready: true })
  t.equal((await alice.client.ack('start-game', {}))[0], null)
  await bob.client.inbox.take('prepare-start')
  for (const member of [alice, bob]) await member.client.ack('ready-at-frame-1', { frame: 1 })
  await bob.client.inbox.take('start-game')
})

t.test('reconnect: the seat is held through the grace, then freed', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { reconnectGraceMs: 600 } }))
  const alice = await hostRoom(server, 'alice', 'Grace')
  const bobToken = await server.token('bob')
  const bob = await ioClient(server, { token: bobToken, transports: ['websocket'] })
  const bobId = (await server.app.netplay.auth.verify(bobToken)).userid
  await bob.ack('join-room', { extra: sfuExtra('Grace', { player_slot: 2 }) })
  const room = server.app.netplay.rooms.get('Grace')
  t.equal(room?.members.get(bobId)?.slot, 2, 'a requested free slot is given')

  // The network drops (transport closed, no `disconnect()` by the client).
  bob.socket.io.engine.close()
  const dropped = await alice.client.inbox.take<Users>('users-updated', (u) => u[bobId]?.reconnecting === true)
  t.equal(dropped[bobId]?.socketId, null, 'a reconnecting seat has no socket')
  t.equal(room?.current, 2, 'the seat still counts')

  const bobAgain = await ioClient(server, { token: bobToken })
  const [err, state] = await bobAgain.ack('join-room', { extra: sfuExtra('Grace', { player_slot: undefined }) }) as [unknown, Record<string, any>]
  t.equal(err, null, 'rejoins within the grace')
  t.equal(state.users[bobId].player_slot, 2, 'keeps its slot')
  const back = await alice.client.inbox.take<Users>('users-updated', (u) => u[bobId]?.socketId === bobAgain.id)
  t.equal(back[bobId]?.reconnecting, undefined, 'no longer reconnecting')

  // Dropped again, and not back in time: the seat is freed.
  bobAgain.socket.io.engine.close()
  await alice.client.inbox.take<Users>('users-updated', (u) => u[bobId]?.reconnecting === true)
  const gone = await alice.client.inbox.take<Users>('users-updated', (u) => !(bobId in u), 3000)
  t.strictSame(Object.keys(gone), [alice.userid], 'after the grace users-updated drops it')
  t.equal(room?.current, 1)
  t.equal(room?.members.has(bobId), false)
  t.match((await server.get(`/list?token=${bobToken}`)).body, { Grace: { current: 1 } })
})

t.test('a deliberate disconnect leaves at once; the next seated player becomes host', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { reconnectGraceMs: 60_000 } }))
  const alice = await hostRoom(server, 'alice', 'Handover')
  const bob = await joinAs(server, 'bob', 'Handover')
  const carol = await joinAs(server, 'carol', 'Handover')
  const room = server.app.netplay.rooms.get('Handover')

  // The owner leaves with leave-room (acked), as the generation-2 client does.
  t.strictSame(await alice.client.ack('leave-room', { roomName: 'Handover', reason: 'user left' }), [null, null])
  const users = await bob.client.inbox.take<Users>('users-updated', (u) => !(alice.userid in u))
  t.equal(users[bob.userid]?.is_host, true, 'the next seated player is host')
  t.equal(users[carol.userid]?.is_host, undefined)
  t.equal(room?.ownerUserid, bob.userid)
  t.match(await carol.client.inbox.take('room-player-left'), { userid: alice.userid })
  t.strictSame(await bob.client.ack('netplay-host-paused', {}), [null, null], 'the new owner may pause')

  // socket.disconnect() is leaving, not a network drop: no grace, even when
  // the leave-room sent just before it is dropped by Socket.IO.
  bob.client.socket.emit('leave-room', { roomName: 'Handover' })
  bob.client.close()
  const after = await carol.client.inbox.take<Users>('users-updated', (u) => !(bob.userid in u))
  t.strictSame(Object.keys(after), [carol.userid])
  t.equal(after[carol.userid]?.is_host, true)
  t.equal(room?.members.size, 1)

  carol.client.close()
  const token = await server.token('lister')
  for (let i = 0; i < 50 && server.app.netplay.rooms.get('Handover') !== undefined; i++) await settle(20)
  t.equal(server.app.netplay.rooms.get('Handover'), undefined, 'the last member leaving deletes the room')
  t.strictSame((await server.get(`/list?token=${token}`)).body, {}, 'and it is gone from /list')
})

t.test('takeover: the same identity on a new socket takes the seat of a silent one', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Takeover')
  const bobToken = await server.token('bob')
  const bobOld = await ioClient(server, { token: bobToken })
  await bobOld.ack('join-room', { extra: sfuExtra('Takeover', { player_slot: undefined }) })
  const bobId = (await server.app.netplay.auth.verify(bobToken)).userid

  // A network switch: the old socket is still open on the server but has
  // gone silent (takeoverMinSilenceMs, default 1 s).
  await settle(1100)
  const bobNew = await ioClient(server, { token: bobToken, transports: ['websocket'] })
  const [err, state] = await bobNew.ack('join-room', { extra: sfuExtra('Takeover', { player_slot: undefined }) }) as [unknown, Record<string, any>]
  t.equal(err, null, 'the new socket is admitted')
  t.equal(state.users[bobId].socketId, bobNew.id, 'and holds the seat')
  t.equal(state.users[bobId].player_slot, 1, 'the same seat')
  t.match(await bobOld.inbox.take('netplay-error'), { error: 'FST_NETPLAY_ROOMS_REPLACED', message: String }, 'the old socket is told')
  await alice.client.inbox.take<Users>('users-updated', (u) => u[bobId]?.socketId === bobNew.id)
  t.strictSame(await bobOld.ack('chat-message', { message: 'still here?' }), ['not in room'], 'the old socket speaks for no one')

  // The old socket going away later does not disturb the new one.
  bobOld.close()
  await settle(100)
  const room = server.app.netplay.rooms.get('Takeover')
  t.equal(room?.members.get(bobId)?.connectionId, bobNew.id)
  t.equal(room?.current, 2)
})

t.test('takeover: refused while the old connection is in use, after the window, or when turned off', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { takeoverMinSilenceMs: 300, takeoverWindowMs: 1000 } }))
  const alice = await hostRoom(server, 'alice', 'Devices')
  const bob = await joinAs(server, 'bob', 'Devices')
  const room = server.app.netplay.rooms.get('Devices')
  const join = { extra: sfuExtra('Devices', { player_slot: undefined }) }

  // The same account on a second device while the first is playing.
  await bob.client.ack('chat-message', { message: 'playing' })
  const second = await ioClient(server, { token: await server.token('bob'), transports: ['websocket'] })
  t.strictSame(await second.ack('join-room', join), ['userid in use'], 'an old connection that just spoke is in use')
  t.equal(room?.members.get(bob.userid)?.connectionId, bob.client.id, 'the seat stays with it')

  // Silent for longer than the window: left to the heartbeat, not taken over.
  await settle(1100)
  t.strictSame(await second.ack('join-room', join), ['userid in use'], 'an old connection silent past the window is not taken over')
  await settle()
  t.equal(bob.client.inbox.count('netplay-error'), 0, 'the first device was never told to go')
  t.equal(room?.members.get(bob.userid)?.connectionId, bob.client.id)
  t.equal(alice.client.inbox.count('netplay-error'), 0)

  // Inside the window (silent 300 ms to 1 s): taken over.
  await bob.client.ack('request-room-state', { roomName: 'Devices' })
  await settle(450)
  t.equal((await second.ack('join-room', join))[0], null, 'a connection silent within the window is taken over')
  t.equal(room?.members.get(bob.userid)?.connectionId, second.id)
  t.match(await bob.client.inbox.take('netplay-error'), { error: 'FST_NETPLAY_ROOMS_REPLACED' })

  const strict = await startNetplay(t, withTokens({ rooms: { allowTakeover: false } }))
  await hostRoom(strict, 'alice', 'Strict')
  const carol = await joinAs(strict, 'carol', 'Strict')
  await settle(1100)
  const again = await ioClient(strict, { token: await strict.token('carol'), transports: ['websocket'] })
  t.strictSame(await again.ack('join-room', { extra: sfuExtra('Strict', { player_slot: undefined }) }), ['userid in use'], 'allowTakeover: false keeps one connection per identity')
  t.equal(strict.app.netplay.rooms.get('Strict')?.members.get(carol.userid)?.connectionId, carol.client.id)
})

t.test('without a token: no socket, and /list answers 401', async (t) => {
  const server = await startNetplay(t, withTokens())
  for (const transports of [undefined, ['websocket' as const]]) {
    const anonymous = await ioClient(server, { wait: false, ...(transports !== undefined ? { transports } : {}) })
    const err = await anonymous.inbox.take<Error>('connect_error')
    t.match(err.message, /unauthorized/, 'connect_error says unauthorized')
    t.equal(anonymous.socket.connected, false)
  }
  const forged = await ioClient(server, { wait: false, token: 'not.a.token' })
  t.match((await forged.inbox.take<Error>('connect_error')).message, /unauthorized/)

  const list = await server.get('/list')
  t.equal(list.status, 401)
  t.strictSame(Object.keys(list.body as object).sort(), ['error', 'message'])
  t.match(list.body, { error: 'FST_NETPLAY_AUTH_MISSING_TOKEN', message: /unauthorized/ })
  const token = await server.token('alice')
  t.equal((await server.get(`/list?token=${token}`)).status, 200, '?token= works')
  t.equal((await server.get('/list', { authorization: `Bearer ${token}` })).status, 200, 'Bearer works')
  t.equal(server.app.netplay.signaling.connectionCount, 0, 'no connection was admitted')
})
