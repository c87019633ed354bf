// Family B (EmulatorJS-SFU generation 2) beyond join and leave: the
// room-player-joined / room-player-left notices, the lobby's metadata,
// join-info and core checks, the chat history, and passwords kept out of the
// logs. Real Socket.IO clients against a real server; every refusal is
// checked to change nothing.
import t from 'tap'
import { TOKEN_AUTH, roomsSnapshot, startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, settle, type IoClient } from '../helpers/netplay-clients.ts'
import { captureLogs } from '../helpers/logs.ts'
import { hostRoom, joinAs, player, sfuExtra, withTokens, type Users } from '../helpers/family-b.ts'
import { validateJoinInfo } from '../../plugins/rooms/events.ts'

async function listHeaders (server: NetplayServer): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await server.token('lister')}` }
}

async function listEntry (server: NetplayServer, roomName: string): Promise<Record<string, unknown> | undefined> {
  const list = await server.get('/list', await listHeaders(server))
  return (list.body as Record<string, Record<string, unknown>>)[roomName]
}

const LOBBY = { netplay_mode: 1, room_phase: 'lobby', rom_hash: 'rom-abc', core_type: 'snes9x' }

t.test('room-player-joined / room-player-left: exact payloads, to the others only', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { reconnectGraceMs: 60_000 } }))
  const alice = await hostRoom(server, 'alice', 'Arrivals', { extra: { spectator_mode: 1 } })
  await settle()
  t.equal(alice.client.inbox.count('room-player-joined'), 0, 'opening and joining its own room tells the host nothing')

  const bob = await joinAs(server, 'bob', 'Arrivals')
  const bobJoined = await alice.client.inbox.take('room-player-joined')
  t.strictSame(bobJoined, { userid: bob.userid, socketId: bob.client.id, player_slot: 1, netplay_username: 'bob' }, '{ userid, socketId, player_slot, netplay_username } from the token, not extra')

  const carol = await joinAs(server, 'carol', 'Arrivals', { is_spectator: true })
  const spectator = { userid: carol.userid, socketId: carol.client.id, player_slot: 8, netplay_username: 'carol' }
  t.strictSame(await alice.client.inbox.take('room-player-joined'), spectator, 'a spectator is announced with slot 8')
  t.strictSame(await bob.client.inbox.take('room-player-joined'), spectator, 'earlier guests hear of later ones')

  // Joining again on the same socket is idempotent: no second announcement.
  t.equal((await bob.client.ack('join-room', { extra: sfuExtra('Arrivals', { player_slot: undefined }) }))[0], null)
  await carol.client.inbox.take<Users>('users-updated', (u) => Object.keys(u).length === 3)
  await settle()
  t.equal(alice.client.inbox.count('room-player-joined'), 2, 'the host heard of bob and carol, once each')
  t.equal(bob.client.inbox.count('room-player-joined'), 1, 'bob never hears of his own arrival')
  t.equal(carol.client.inbox.count('room-player-joined'), 0, 'carol never hears of her own arrival')

  // leave-room: the others hear { userid, socketId }; the leaver does not.
  const bobSocket = bob.client.id
  t.strictSame(await bob.client.ack('leave-room', { roomName: 'Arrivals', reason: 'user left' }), [null, null])
  for (const member of [alice, carol]) {
    t.strictSame(await member.client.inbox.take('room-player-left'), { userid: bob.userid, socketId: bobSocket }, `${member.sub} hears who left`)
  }
  // A deliberate disconnect is leaving too (no grace for it).
  const carolSocket = carol.client.id
  carol.client.close()
  t.strictSame(await alice.client.inbox.take('room-player-left'), { userid: carol.userid, socketId: carolSocket })
  await alice.client.inbox.take<Users>('users-updated', (u) => Object.keys(u).length === 1)
  await settle()
  t.equal(bob.client.inbox.count('room-player-left'), 0, 'the leaver is not told of its own leaving')
  t.equal(alice.client.inbox.count('room-player-left'), 2)
  t.equal(server.app.netplay.rooms.get('Arrivals')?.members.size, 1)
})

t.test('room-player-joined / room-player-left are never sent to upstream (family A) members', async (t) => {
  const server = await startNetplay(t) // family A has no tokens
  const upstream = (userid: string): Record<string, unknown> =>
    ({ domain: 'games.example', game_id: 42, room_name: 'Upstream room', player_name: `name-${userid}`, userid, sessionid: 'sess-up' })
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: upstream('host'), maxPlayers: 4, password: null }))[0], null)
  const guests: IoClient[] = []
  for (const userid of ['guest-1', 'guest-2']) {
    const guest = await ioClient(server, { transports: ['websocket'] })
    t.equal((await guest.ack('join-room', { extra: upstream(userid) }))[0], null, `${userid} joins`)
    guests.push(guest)
  }
  t.equal(server.app.netplay.rooms.get('sess-up')?.style, 'upstream', 'an upstream room')
  const [g1, g2] = guests as [IoClient, IoClient]
  // The users-updated that each join and leave sends is the positive control.
  for (const client of [host, g1, g2]) await client.inbox.take<Users>('users-updated', (u) => Object.keys(u).length === 3)
  g2.socket.emit('leave-room')
  g2.close()
  for (const client of [host, g1]) await client.inbox.take<Users>('users-updated', (u) => Object.keys(u).length === 2)
  await settle()
  for (const [i, client] of [host, g1, g2].entries()) {
    t.equal(client.inbox.count('room-player-joined'), 0, `member ${i} got no room-player-joined`)
    t.equal(client.inbox.count('room-player-left'), 0, `member ${i} got no room-player-left`)
  }
})

t.test('update-room-metadata: owner only, merged and sanitised, shown in /list and used by later joins', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Meta', { extra: { ...LOBBY, rom_name: 'Game v1', spectator_mode: 1 } })
  const bob = await joinAs(server, 'bob', 'Meta', { rom_hash: 'rom-abc' })
  const outsider = await player(server, 'outsider')
  const room = server.app.netplay.rooms.get('Meta')
  if (room === undefined) throw new Error('no room')
  const headers = await listHeaders(server)
  const before = await roomsSnapshot(server, headers)
  const metadataBefore = { ...room.metadata }

  // Refused: a guest (even the room's only other player), someone not in the room.
  t.strictSame(await bob.client.ack('update-room-metadata', { roomName: 'Meta', metadata: { rom_hash: 'rom-evil', rom_name: 'Hijacked' } }), ['not owner'])
  t.strictSame(await outsider.client.ack('update-room-metadata', { roomName: 'Meta', metadata: { rom_hash: 'rom-evil' } }), ['not in room'])
  t.strictSame(await roomsSnapshot(server, headers), before, 'refused updates change neither the room nor /list')

  const [err] = await alice.client.ack('update-room-metadata', {
    roomName: 'Meta',
    metadata: {
      rom_hash: 'rom-v2',
      rom_name: 'Game v2',
      system: 'snes',
      coreVersion: '1.62',
      crc: 1234,
      beta: true,
      region: null,
      long: 'z'.repeat(300),
      ['k'.repeat(65)]: 'a key over 64 chars',
      nested: { a: 1 },
      list: [1, 2],
      // Server-owned keys are dropped; the room's own fields are not metadata.
      userid: 'mallory',
      is_host: false,
      player_slot: 3,
      room_name: 'Renamed',
      netplay_mode: 'live_stream'
    }
  })
  t.equal(err, null, 'the owner may update')
  t.strictSame(room.metadata, {
    ...metadataBefore,
    rom_hash: 'rom-v2',
    rom_name: 'Game v2',
    system: 'snes',
    coreVersion: '1.62',
    crc: 1234,
    beta: true,
    region: null,
    long: 'z'.repeat(256),
    room_name: 'Renamed',
    netplay_mode: 'live_stream'
  }, 'merged over the old metadata: scalars kept (strings cut at 256); objects, arrays, keys over 64 chars and server-owned keys dropped')
  t.equal(room.metadata.core_type, 'snes9x', 'keys not sent keep their value')

  const entry = await listEntry(server, 'Meta')
  t.match(entry, {
    rom_hash: 'rom-v2',
    romHash: 'rom-v2',
    rom_name: 'Game v2',
    system: 'snes',
    coreVersion: '1.62',
    core_type: 'snes9x'
  }, '/list shows the new metadata')
  t.match(entry, { room_name: 'Meta', netplay_mode: 'delay_sync', current: 2, max: 4, spectator_mode: 1 }, 'metadata cannot rename the room or change its mode')
  t.equal(room.name, 'Meta')
  t.equal(room.netplayMode, 'delay_sync')
  t.equal(server.app.netplay.rooms.get('Renamed'), undefined)

  // The delay_sync ROM check now uses the new hash.
  const carol = await player(server, 'carol')
  const [oldRom] = await carol.client.ack('join-room', { extra: sfuExtra('Meta', { ...LOBBY, player_slot: undefined }) })
  t.match(oldRom, { error: 'incompatible_game' }, 'the old ROM is now refused')
  t.equal((await carol.client.ack('join-room', { extra: sfuExtra('Meta', { ...LOBBY, rom_hash: 'rom-v2', player_slot: undefined }) }))[0], null, 'the new ROM is admitted')

  // At most 40 fields in all: new ones fill the room's metadata up to that, in order; the rest are dropped.
  const stored = Object.keys(room.metadata).length
  const many = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`key${i}`, i]))
  t.equal((await alice.client.ack('update-room-metadata', { roomName: 'Meta', metadata: many }))[0], null)
  const taken = Object.keys(room.metadata).filter((key) => key.startsWith('key'))
  t.strictSame(taken, Array.from({ length: 40 - stored }, (_, i) => `key${i}`), 'new keys up to 40 fields in all, the rest dropped')
})

t.test('update-player-metadata: the sender\'s own entry changes; server-owned fields cannot be overwritten', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Players', { extra: LOBBY })
  const bob = await joinAs(server, 'bob', 'Players', { rom_hash: 'rom-abc' })
  const outsider = await player(server, 'outsider')
  const room = server.app.netplay.rooms.get('Players')
  if (room === undefined) throw new Error('no room')
  const start = await alice.client.inbox.take<Users>('users-updated', (u) => bob.userid in u)
  const bobBefore = start[bob.userid] as Record<string, unknown>
  const aliceBefore = start[alice.userid] as Record<string, unknown>
  t.match(bobBefore, { userid: bob.userid, socketId: bob.client.id, player_slot: 1, is_spectator: false, ready: false, netplay_username: 'bob' })

  t.strictSame(await outsider.client.ack('update-player-metadata', { roomName: 'Players', metadata: { avatar: 'x' } }), ['not in room'])
  t.equal(room.members.get(outsider.userid), undefined)

  const [err] = await bob.client.ack('update-player-metadata', {
    roomName: 'Players',
    metadata: {
      avatar: 'mushroom',
      color: 'red',
      long: 'q'.repeat(300),
      nested: { x: 1 },
      // Everything below is the server's to say.
      userid: alice.userid,
      socketId: alice.client.id,
      socket_id: 'forged',
      is_host: true,
      player_slot: 0,
      is_spectator: true,
      ready: true,
      reconnecting: true,
      netplay_username: 'Admin',
      player_name: 'Impostor'
    }
  })
  t.equal(err, null)
  for (const member of [alice, bob]) {
    const users = await member.client.inbox.take<Users>('users-updated', (u) => u[bob.userid]?.avatar === 'mushroom')
    t.strictSame(users[bob.userid], { ...bobBefore, avatar: 'mushroom', color: 'red', long: 'q'.repeat(256) }, `${member.sub}: only the new scalar fields are added to bob's entry`)
    t.strictSame(users[alice.userid], aliceBefore, `${member.sub}: the host's entry is untouched`)
    t.strictSame(Object.keys(users), [alice.userid, bob.userid], 'the same members in the same order')
  }
  const bobMember = room.members.get(bob.userid)
  t.equal(bobMember?.slot, 1, 'the seat is unchanged')
  t.equal(bobMember?.ready, false, 'ready is unchanged')
  t.equal(bobMember?.name, 'bob', 'the name is unchanged')
  t.equal(bobMember?.connectionId, bob.client.id)
  t.equal(room.ownerUserid, alice.userid, 'the owner is unchanged')
  t.strictSame(await bob.client.ack('start-game', { roomName: 'Players' }), ['not owner'], 'and bob gained no owner rights')

  // A later update merges over the earlier one.
  t.equal((await bob.client.ack('update-player-metadata', { roomName: 'Players', metadata: { color: 'blue' } }))[0], null)
  const merged = await alice.client.inbox.take<Users>('users-updated', (u) => u[bob.userid]?.color === 'blue')
  t.match(merged[bob.userid], { avatar: 'mushroom', color: 'blue' }, 'earlier fields stay')
})

t.test('metadata stays bounded however many updates a client sends', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Grow', { extra: LOBBY })
  const bob = await joinAs(server, 'bob', 'Grow', { rom_hash: 'rom-abc' })
  const room = server.app.netplay.rooms.get('Grow')
  for (let round = 0; round < 5; round++) {
    const metadata = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`r${round}k${i}`, 'v'.repeat(256)]))
    t.equal((await alice.client.ack('update-room-metadata', { roomName: 'Grow', metadata }))[0], null)
    t.equal((await bob.client.ack('update-player-metadata', { roomName: 'Grow', metadata }))[0], null)
  }
  t.ok(Object.keys(room?.metadata ?? {}).length <= 40, 'the room metadata holds at most 40 client keys')
  t.ok(Object.keys(room?.members.get(bob.userid)?.extra ?? {}).length <= 40, 'a player\'s metadata (sent to everyone in every users-updated) holds at most 40 client keys')
})

t.test('join-info: ROM, emulator and core version are checked against the host\'s and the result goes to the whole lobby', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Checks', { extra: LOBBY })
  // Guests that send no ROM in `extra` are admitted; join-info is where they say it.
  const bob = await joinAs(server, 'bob', 'Checks', { netplay_mode: 1, room_phase: 'lobby' })
  const carol = await joinAs(server, 'carol', 'Checks', { netplay_mode: 1, room_phase: 'lobby' })
  const outsider = await player(server, 'outsider')
  const everyone = [alice, bob, carol]
  const room = server.app.netplay.rooms.get('Checks')

  t.strictSame(await bob.client.ack('join-info', { roomName: 'Checks', romHash: 'rom-abc', emulatorId: 'snes9x', emulatorVersion: '1.62' }), [null, null])
  for (const member of everyone) {
    t.strictSame(await member.client.inbox.take('player-validation-updated'), { playerId: bob.userid, validationStatus: 'ok', validationReason: '' }, `${member.sub} hears bob matches`)
  }
  t.strictSame(await carol.client.ack('join-info', { roomName: 'Checks', romHash: 'rom-other', emulatorId: 'snes9x', emulatorVersion: '1.62' }), [null, null])
  for (const member of everyone) {
    t.strictSame(await member.client.inbox.take('player-validation-updated'), { playerId: carol.userid, validationStatus: 'rom_mismatch', validationReason: 'ROM mismatch: host is using another ROM' }, `${member.sub} hears carol does not`)
  }

  const [stateErr, state] = await alice.client.ack('request-room-state', { roomName: 'Checks' }) as [unknown, Record<string, any>]
  t.equal(stateErr, null)
  t.strictSame(state.lobby_state.players[bob.userid], { ready: false, player_slot: 1, validation: { status: 'ok', reason: '' } })
  t.strictSame(state.lobby_state.players[carol.userid], { ready: false, player_slot: 2, validation: { status: 'rom_mismatch', reason: 'ROM mismatch: host is using another ROM' } })
  t.equal(state.lobby_state.players[alice.userid].validation, null, 'no validation until a player sends join-info')
  t.equal(room?.members.get(carol.userid)?.slot, 2, 'a mismatch is reported, not enforced: the seat stays')

  // A new report replaces the old one.
  t.equal((await carol.client.ack('join-info', { roomName: 'Checks', romHash: 'rom-abc' }))[0], null)
  t.strictSame(await alice.client.inbox.take('player-validation-updated'), { playerId: carol.userid, validationStatus: 'ok', validationReason: '' })
  t.strictSame(room?.members.get(carol.userid)?.validation, { status: 'ok', reason: '' })

  // No ROM on either side: nothing to compare, so ok.
  t.equal((await bob.client.ack('join-info', { roomName: 'Checks', romHash: null }))[0], null)
  t.strictSame(await alice.client.inbox.take('player-validation-updated'), { playerId: bob.userid, validationStatus: 'ok', validationReason: '' })

  // The same ROM on another emulator, or another version of the host's core.
  t.equal((await bob.client.ack('join-info', { roomName: 'Checks', romHash: 'rom-abc', emulatorId: 'bsnes' }))[0], null)
  t.strictSame(await alice.client.inbox.take('player-validation-updated'), { playerId: bob.userid, validationStatus: 'emulator_mismatch', validationReason: 'Emulator mismatch: host is using snes9x' })
  t.equal((await alice.client.ack('update-room-metadata', { roomName: 'Checks', metadata: { coreVersion: '1.62' } }))[0], null)
  t.equal((await bob.client.ack('join-info', { roomName: 'Checks', romHash: 'rom-abc', emulatorId: 'snes9x', emulatorVersion: '1.60' }))[0], null)
  t.strictSame(await alice.client.inbox.take('player-validation-updated'), { playerId: bob.userid, validationStatus: 'version_mismatch', validationReason: 'Core version mismatch: host is using 1.62' })

  t.strictSame(await outsider.client.ack('join-info', { roomName: 'Checks', romHash: 'rom-abc' }), ['not in room'])
  await settle()
  t.equal(alice.client.inbox.count('player-validation-updated'), 6, 'a refused join-info is not broadcast')
})

t.test('join-info: the host\'s emulator may be named by any field EmulatorJS-SFU fills', async (t) => {
  const host = { rom_hash: 'r', core: 'snes9x', system: 'snes', coreVersion: '1.62', romName: 'Chrono Trigger' }
  t.strictSame(validateJoinInfo(host, { romHash: 'r', emulatorId: 'snes', emulatorVersion: '1.62' }), { status: 'ok', reason: '' }, 'system')
  t.strictSame(validateJoinInfo(host, { romHash: 'r', emulatorId: 'snes9x' }), { status: 'ok', reason: '' }, 'core; no version: not compared')
  t.strictSame(validateJoinInfo(host, { romHash: 'x' }), { status: 'rom_mismatch', reason: 'ROM mismatch: host is using Chrono Trigger' })
  t.strictSame(validateJoinInfo({}, { romHash: 'x', emulatorId: 'y', emulatorVersion: 'z' }), { status: 'ok', reason: '' }, 'a host that says nothing: nothing to compare')
})

t.test('delay_sync: another emulator core is refused with delay_sync_requirements_not_met and changes nothing', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Cores', { maxPlayers: 3, extra: { ...LOBBY, spectator_mode: 0 } })
  const headers = await listHeaders(server)
  const before = await roomsSnapshot(server, headers)
  await alice.client.inbox.take<Users>('users-updated')
  const mallory = await player(server, 'mallory')

  const [err] = await mallory.client.ack('join-room', { extra: sfuExtra('Cores', { ...LOBBY, core_type: 'bsnes', player_slot: undefined }) })
  t.strictSame(err, { error: 'delay_sync_requirements_not_met', message: 'emulator core does not match the host', canJoinAsSpectator: false }, 'the structured error; no spectating in this room')
  const [aliasErr] = await mallory.client.ack('join-room', { extra: sfuExtra('Cores', { ...LOBBY, core_type: undefined, coreId: 'bsnes', player_slot: undefined }) })
  t.match(aliasErr, { error: 'delay_sync_requirements_not_met' }, 'coreId is checked like core_type')
  await settle()
  t.strictSame(await roomsSnapshot(server, headers), before, 'the room and /list are unchanged')
  t.equal(server.app.netplay.rooms.bindingOf(mallory.client.id), undefined, 'the refused client is bound to nothing')
  t.equal(alice.client.inbox.count('users-updated') + alice.client.inbox.count('room-player-joined'), 1, 'the host heard nothing after its own join')

  t.equal((await mallory.client.ack('join-room', { extra: sfuExtra('Cores', { ...LOBBY, player_slot: undefined }) }))[0], null, 'the same core is admitted')

  // Where spectators are allowed the error says so, and spectating works with any core.
  await hostRoom(server, 'dave', 'Watchable', { extra: { ...LOBBY, spectator_mode: 1 } })
  const erin = await player(server, 'erin')
  const [spectatable] = await erin.client.ack('join-room', { extra: sfuExtra('Watchable', { ...LOBBY, core_type: 'bsnes', player_slot: undefined }) })
  t.match(spectatable, { error: 'delay_sync_requirements_not_met', canJoinAsSpectator: true })
  t.equal((await erin.client.ack('join-room', { extra: sfuExtra('Watchable', { ...LOBBY, core_type: 'bsnes', player_slot: undefined, is_spectator: true }) }))[0], null, 'a spectator needs no matching core')
  t.equal(server.app.netplay.rooms.get('Watchable')?.members.get(erin.userid)?.slot, null)

  // A live-stream room streams the host's video: the guest's core does not matter.
  await hostRoom(server, 'frank', 'Stream', { extra: { rom_hash: 'rom-abc', core_type: 'snes9x' } })
  const gina = await player(server, 'gina')
  t.equal((await gina.client.ack('join-room', { extra: sfuExtra('Stream', { core_type: 'bsnes', rom_hash: 'rom-other', player_slot: undefined }) }))[0], null)
})

t.test('chat: the room keeps the last `chatHistory` messages, in order; refusals keep nothing', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { chatHistory: 3 } }))
  const alice = await hostRoom(server, 'alice', 'Chatty')
  const bob = await joinAs(server, 'bob', 'Chatty')
  const room = server.app.netplay.rooms.get('Chatty')
  if (room === undefined) throw new Error('no room')

  const sent: Array<Record<string, unknown>> = []
  for (const [i, sender] of [alice, bob, alice, bob, alice].entries()) {
    t.strictSame(await sender.client.ack('chat-message', { message: `  message ${i + 1}  `, roomName: 'Chatty' }), [null, null])
    const seen = []
    for (const member of [alice, bob]) seen.push(await member.client.inbox.take('chat-message'))
    t.strictSame(seen[0], seen[1], 'both members, the sender included, get the same message')
    t.strictSame(Object.keys(seen[0]).sort(), ['message', 'messageId', 'playerName', 'timestamp', 'userid'])
    t.match(seen[0], { userid: sender.userid, playerName: sender.sub, message: `message ${i + 1}`, timestamp: Number, messageId: String })
    sent.push(seen[0])
  }
  t.equal(new Set(sent.map((m) => m.messageId)).size, 5, 'every message has its own id')
  t.strictSame(room.chat, sent.slice(2), 'the last 3, oldest first, as broadcast')

  t.strictSame(await bob.client.ack('chat-message', { message: '   ' }), ['invalid message'], 'empty after trim')
  t.strictSame(await bob.client.ack('chat-message', { message: 'y'.repeat(501) }), ['invalid message'], '501 chars')
  await settle()
  t.equal(alice.client.inbox.count('chat-message'), 5, 'refused messages are not broadcast')
  t.strictSame(room.chat, sent.slice(2), 'nor kept')

  t.strictSame(await bob.client.ack('chat-message', { message: ` ${'x'.repeat(500)} ` }), [null, null], '500 chars after trim is accepted')
  const longest = await alice.client.inbox.take('chat-message')
  t.equal(longest.message, 'x'.repeat(500))
  t.strictSame(room.chat.map((m) => m.message), ['message 4', 'message 5', 'x'.repeat(500)], 'the oldest is dropped')
})

/** A netplay server like startNetplay's, whose every log line (trace and up, nothing redacted) is captured. */
const PASSWORD = 'hunter2-secret'
const WRONG = 'wrong-guess-123'

async function httpJoin (server: NetplayServer, sub: string, roomName: string, password: string): Promise<number> {
  const response = await fetch(`${server.url}/join/${encodeURIComponent(roomName)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await server.token(sub)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ password })
  })
  await response.arrayBuffer()
  return response.status
}

t.test('room passwords never reach the log; a wrong one is audited without it', async (t) => {
  const logs = captureLogs()
  const server = await startNetplay(t, { auth: TOKEN_AUTH, logStream: logs.stream })
  const alice = await hostRoom(server, 'alice', 'Vault', { password: PASSWORD })
  const bob = await player(server, 'bob')
  const join = (password: string): Promise<unknown[]> => bob.client.ack('join-room', { extra: sfuExtra('Vault', { player_slot: undefined }), password })

  t.strictSame(await join(WRONG), ['bad password'])
  t.equal(server.app.netplay.rooms.bindingOf(bob.client.id), undefined, 'the wrong password seats nothing')
  const [err] = await join(PASSWORD)
  t.equal(err, null, 'the right password joins')
  await alice.client.inbox.take<Users>('users-updated', (u) => bob.userid in u)
  // The HTTP join checks the same password: it must not log it either.
  t.equal(await httpJoin(server, 'carol', 'Vault', WRONG), 403)
  t.equal(await httpJoin(server, 'carol', 'Vault', PASSWORD), 200)
  await settle()

  t.ok(logs.lines.length > 0, 'the server logged (the capture works)')
  const leaks = logs.lines.filter((line) => line.includes(PASSWORD) || line.includes(WRONG))
  t.strictSame(leaks, [], 'no log line holds the room password or the wrong guess')

  const failures = logs.audits('rooms.password_failure')
  const carolId = (await server.app.netplay.auth.verify(await server.token('carol'))).userid
  t.equal(failures.length, 2, 'one audit line per wrong password (socket and HTTP), none for the right ones')
  t.match(failures[0], { audit: true, event: 'rooms.password_failure', room: 'Vault', userid: bob.userid, ip: String, msg: 'rooms.password_failure' })
  t.match(failures[1], { audit: true, event: 'rooms.password_failure', room: 'Vault', userid: carolId, ip: String })
  t.notOk(Object.keys(failures[0] ?? {}).some((key) => /pass/i.test(key)), 'the audit line has no password field')
})

t.test('a wrong password on POST /join/:roomId is audited like one on join-room', async (t) => {
  const logs = captureLogs()
  const server = await startNetplay(t, { auth: TOKEN_AUTH, logStream: logs.stream })
  await hostRoom(server, 'alice', 'Vault', { password: PASSWORD })
  t.equal(await httpJoin(server, 'mallory', 'Vault', WRONG), 403)
  const userid = (await server.app.netplay.auth.verify(await server.token('mallory'))).userid
  t.match(logs.audits('rooms.password_failure'), [{ room: 'Vault', userid }], 'one audit line, naming the room and the identity')
  t.strictSame(logs.lines.filter((line) => line.includes(WRONG)), [], 'and never the guess itself')
})
