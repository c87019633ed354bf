// The plain WebSocket protocol beside Socket.IO: one room, both transports,
// each client seeing the other's events; auth before the upgrade; and every
// route under a prefix (namespace or custom Socket.IO path).
import type { Socket } from 'node:net'
import t from 'tap'
import { TOKEN_AUTH, startNetplay } from '../helpers/netplay-server.ts'
import { ioClient, settle, wsClient, wsUpgradeStatus } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>

const sfuExtra = (roomName: string, userid: string, over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ room_name: roomName, userid, player_name: userid, netplay_mode: 0, room_phase: 'running', domain: 'ws.example', game_id: 3, ...over })

t.test('a WebSocket client and Socket.IO clients share a room', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.ack('open-room', { extra: sfuExtra('Mixed', 'host', { player_slot: 0 }), maxPlayers: 4 })

  const ws = await wsClient(server)
  const joined = await ws.request('join-room', { extra: sfuExtra('Mixed', 'ws-guest') })
  t.equal(joined.ok, true, 'the WebSocket client joins')
  if (!joined.ok) return
  t.equal(joined.id, 1, 'the reply carries the request id')
  t.strictSame(Object.keys(joined.data.users), ['host', 'ws-guest'])
  const wsId = joined.data.users['ws-guest'].socketId as string
  t.type(wsId, 'string')
  t.equal(server.app.netplay.signaling.connection(wsId)?.transport, 'websocket')

  const seen = await host.inbox.take<Users>('users-updated', (u) => 'ws-guest' in u)
  t.equal(seen['ws-guest']?.socketId, wsId, 'the Socket.IO host sees the WebSocket guest with its socketId')

  const io2 = await ioClient(server, { transports: ['websocket'] })
  await io2.ack('join-room', { extra: sfuExtra('Mixed', 'io-guest') })
  const wsSees = await ws.inbox.take<Users>('users-updated', (u) => 'io-guest' in u)
  t.strictSame(Object.keys(wsSees), ['host', 'ws-guest', 'io-guest'], 'the WebSocket guest sees users-updated pushes')
  t.equal(wsSees['io-guest']?.socketId, io2.id)

  // data-message both ways.
  t.match(await ws.request('data-message', { 'sync-control': [{ frame: 1 }] }), { ok: true, data: null })
  t.strictSame(await host.inbox.take('data-message'), { 'sync-control': [{ frame: 1 }] })
  t.strictSame(await io2.inbox.take('data-message'), { 'sync-control': [{ frame: 1 }] })
  await host.ack('data-message', { pause: true })
  t.strictSame(await ws.inbox.take('data-message'), { pause: true }, 'pushes arrive as { event, data }')

  // webrtc-signal both ways (and `target: "host"` for the owner).
  const offer = { type: 'offer', sdp: 'v=0' }
  await host.ack('webrtc-signal', { target: wsId, offer })
  t.strictSame(await ws.inbox.take('webrtc-signal'), { sender: host.id, offer })
  t.match(await ws.request('webrtc-signal', { target: 'host', answer: { type: 'answer', sdp: 'v=0' } }), { ok: true })
  t.strictSame(await host.inbox.take('webrtc-signal'), { sender: wsId, answer: { type: 'answer', sdp: 'v=0' } })
  await ws.request('webrtc-signal', { targetSocketId: io2.id, candidate: { candidate: '' } })
  t.strictSame(await io2.inbox.take('webrtc-signal'), { sender: wsId, candidate: { candidate: '' } }, 'targetSocketId works too')
  await settle()
  t.equal(host.inbox.count('webrtc-signal'), 1, 'each signal reached its target only')
  t.equal(ws.inbox.count('data-message'), 1, 'the sender does not get its own data-message')

  // Errors carry codes; a frame without an id gets no reply.
  t.match(await ws.request('join-room', { extra: sfuExtra('Nowhere', 'ws-guest') }), { ok: false, error: { code: 'FST_NETPLAY_ROOMS_NOT_FOUND', message: 'no such room' } })
  t.match(await ws.request('no-such-event', {}), { ok: false, error: { code: 'FST_NETPLAY_SIGNALING_UNKNOWN_EVENT' } })
  t.match(await ws.request('update-player-slot', { playerSlot: 'one' }), { ok: false, error: { code: 'FST_NETPLAY_SIGNALING_INVALID_PAYLOAD' } })
  t.match(await ws.request('update-player-slot', { playerSlot: 0 }), { ok: false, error: { code: 'FST_NETPLAY_ROOMS_SLOT_TAKEN', message: 'slot taken' } })
  t.match(await ws.request('netplay-host-paused', {}), { ok: false, error: { code: 'FST_NETPLAY_ROOMS_NOT_OWNER' } })
  const replies = ws.inbox.count('reply')
  ws.send(JSON.stringify({ event: 'chat-message', data: { message: 'no id, no reply' } }))
  t.match(await host.inbox.take('chat-message'), { userid: 'ws-guest', message: 'no id, no reply' })
  await settle()
  t.equal(ws.inbox.count('reply'), replies, 'no reply without an id')

  // Leaving over WebSocket (close code 1000) frees the seat at once.
  ws.socket.close(1000, 'bye')
  const after = await host.inbox.take<Users>('users-updated', (u) => !('ws-guest' in u))
  t.strictSame(Object.keys(after), ['host', 'io-guest'])
})

t.test('structured join errors reach WebSocket clients as details', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.ack('open-room', { extra: sfuExtra('Sync', 'host', { netplay_mode: 1, room_phase: 'lobby', rom_hash: 'aaa' }) })
  const ws = await wsClient(server)
  const reply = await ws.request('join-room', { extra: sfuExtra('Sync', 'ws', { netplay_mode: 1, rom_hash: 'bbb' }) })
  t.match(reply, {
    ok: false,
    error: { code: 'FST_NETPLAY_ROOMS_INCOMPATIBLE_GAME', message: String, details: { error: 'incompatible_game', canJoinAsSpectator: false } }
  })
})

t.test('auth on: the upgrade needs a token, checked before the upgrade', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH })
  const refused = await wsUpgradeStatus(server, '/ws')
  t.equal(refused.status, 401, 'no token: HTTP 401, no socket')
  t.match(JSON.parse(refused.body), { error: 'FST_NETPLAY_AUTH_MISSING_TOKEN', message: /unauthorized/ })
  t.equal((await wsUpgradeStatus(server, '/ws', { authorization: 'Bearer not.a.jwt' })).status, 401, 'a bad token: 401')
  t.equal(server.app.netplay.signaling.connectionCount, 0)

  const aliceToken = await server.token('alice')
  const alice = await ioClient(server, { token: aliceToken })
  await alice.ack('open-room', { extra: sfuExtra('Auth', 'forged') })
  const bobToken = await server.token('bob')
  const bob = await wsClient(server, { token: bobToken })
  const joined = await bob.request('join-room', { extra: sfuExtra('Auth', 'forged-too') })
  const bobId = (await server.app.netplay.auth.verify(bobToken)).userid
  t.match(joined, { ok: true })
  if (joined.ok) t.strictSame(Object.keys(joined.data.users), [(await server.app.netplay.auth.verify(aliceToken)).userid, bobId], 'identities from the tokens')

  const viaQuery = await wsClient(server, { path: `/ws?token=${await server.token('carol')}` })
  t.match(await viaQuery.request('request-room-state', {}), { ok: false, error: { code: 'FST_NETPLAY_ROOMS_NOT_IN_ROOM' } }, '?token= upgrades too')
})

t.test('under a prefix: namespace, /list and /ws', async (t) => {
  const server = await startNetplay(t, { prefix: '/netplay' })
  const viaNamespace = await ioClient(server, { namespace: '/netplay' })
  t.equal((await viaNamespace.ack('open-room', { extra: sfuExtra('Prefixed', 'host') }))[0], null, 'namespace /netplay on /socket.io')
  const viaRoot = await ioClient(server, { transports: ['websocket'] })
  t.equal((await viaRoot.ack('join-room', { extra: sfuExtra('Prefixed', 'root') }))[0], null, 'namespace / still works')
  const ws = await wsClient(server, { path: '/netplay/ws' })
  t.match(await ws.request('join-room', { extra: sfuExtra('Prefixed', 'ws') }), { ok: true }, '/netplay/ws')
  const users = await viaNamespace.inbox.take<Users>('users-updated', (u) => Object.keys(u).length === 3)
  t.strictSame(Object.keys(users), ['host', 'root', 'ws'], 'all three share the room')

  const listed = await server.get('/netplay/list')
  t.equal(listed.status, 200)
  t.match(listed.body, { Prefixed: { current: 3 } })
  t.equal((await server.get('/list')).status, 404, 'nothing outside the prefix')
  t.equal((await wsUpgradeStatus(server, '/ws')).status, 404)
})

t.test('under a prefix with a custom Socket.IO path', async (t) => {
  const server = await startNetplay(t, { prefix: '/netplay', signaling: { socketIo: { path: '/netplay/socket.io' } } })
  const polling = await ioClient(server, { path: '/netplay/socket.io' })
  t.equal((await polling.ack('open-room', { extra: sfuExtra('Custom Path', 'host') }))[0], null, 'polling then websocket on /netplay/socket.io')
  const websocket = await ioClient(server, { path: '/netplay/socket.io', namespace: '/netplay', transports: ['websocket'] })
  t.equal((await websocket.ack('join-room', { extra: sfuExtra('Custom Path', 'guest') }))[0], null, 'namespace /netplay on the custom path')
  const ws = await wsClient(server, { path: '/netplay/ws' })
  t.match(await ws.request('join-room', { extra: sfuExtra('Custom Path', 'ws') }), { ok: true }, 'the WebSocket route is not swallowed')
  t.match((await server.get('/netplay/list')).body, { 'Custom Path': { current: 3 } })

  const oldPath = await ioClient(server, { wait: false, transports: ['websocket'] })
  await oldPath.inbox.take('connect_error')
  t.equal(oldPath.socket.connected, false, 'the default /socket.io path is not served')
})

t.test('a join\'s ack and the users-updated it causes reach the joiner in one write', async (t) => {
  const server = await startNetplay(t)
  const host = await wsClient(server)
  t.match(await host.request('open-room', { extra: sfuExtra('OneWrite', 'host', { player_slot: 0 }), maxPlayers: 4 }), { ok: true })
  await settle()
  // The server side of the next connection: every write it hands to the kernel is counted.
  const writes: number[] = []
  server.app.server.once('connection', (tcp: Socket) => {
    const counted = tcp as unknown as { _write: (...a: unknown[]) => void, _writev: (...a: unknown[]) => void }
    const write = counted._write.bind(tcp)
    const writev = counted._writev.bind(tcp)
    counted._write = (...a) => { writes.push(1); write(...a) }
    counted._writev = (chunks, ...a) => { writes.push((chunks as unknown[]).length); writev(chunks, ...a) }
  })
  const guest = await wsClient(server)
  await settle()
  writes.length = 0 // the upgrade's reply
  const joined = await guest.request('join-room', { extra: sfuExtra('OneWrite', 'guest') })
  t.equal(joined.ok, true)
  const users = await guest.inbox.take<Users>('users-updated', (u) => 'guest' in u)
  t.strictSame(Object.keys(users), ['host', 'guest'])
  await settle()
  t.strictSame(writes, [2], 'one write of two frames: the ack and the users-updated')
})
