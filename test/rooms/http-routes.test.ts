// Family B's HTTP side: POST /create with a one-time write token, POST
// /join/:roomId, POST /leave/:roomId, GET /resolve, and the idle sweep of a
// created room nobody joined.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { io, type Socket } from 'socket.io-client'
import netplay from '../../index.ts'
import { TOKEN_AUTH } from '../helpers/netplay-server.ts'

async function app (t: Test, rooms: Record<string, unknown> = {}): Promise<ReturnType<typeof Fastify>> {
  const server = Fastify()
  t.teardown(() => server.close())
  await server.register(netplay, { auth: TOKEN_AUTH, rooms: { publicUrl: 'https://netplay.example', nodeId: 'node-a', ...rooms } })
  await server.ready()
  return server
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

t.test('POST /create needs a one-time write token and answers { room_id, room }', async (t) => {
  const server = await app(t)
  const write = (await server.netplay.auth.mint({ sub: 'alice', kind: 'write' })).token
  const read = (await server.netplay.auth.mint({ sub: 'alice', kind: 'read' })).token
  const body = { room_name: 'Mario Kart', max_players: 4, password: 'pw', netplay_mode: 'live_stream', game_id: 12, domain: 'romm.local' }

  const withRead = await server.inject({ method: 'POST', url: '/create', headers: bearer(read), payload: body })
  t.equal(withRead.statusCode, 403, 'a read token cannot create')
  t.equal(withRead.json().error, 'FST_NETPLAY_AUTH_WRITE_TOKEN_REQUIRED')

  const created = await server.inject({ method: 'POST', url: '/create', headers: bearer(write), payload: body })
  t.equal(created.statusCode, 201)
  t.equal(created.json().room_id, 'Mario Kart')
  t.match(created.json().room, { room_name: 'Mario Kart', current: 0, max: 4, hasPassword: true })
  t.notMatch(created.body, /pw/, 'the password is never echoed')

  const replay = await server.inject({ method: 'POST', url: '/create', headers: bearer(write), payload: { ...body, room_name: 'Other' } })
  t.equal(replay.statusCode, 401, 'the write token was consumed')
  t.equal(replay.json().error, 'FST_NETPLAY_AUTH_TOKEN_USED')

  const again = (await server.netplay.auth.mint({ sub: 'bob', kind: 'write' })).token
  const exists = await server.inject({ method: 'POST', url: '/create', headers: bearer(again), payload: body })
  t.equal(exists.statusCode, 409)
  t.same(exists.json(), { error: 'FST_NETPLAY_ROOMS_EXISTS', message: 'room already exists' })

  const noName = await server.inject({ method: 'POST', url: '/create', headers: bearer((await server.netplay.auth.mint({ sub: 'bob', kind: 'write' })).token), payload: { max_players: 2 } })
  t.equal(noName.statusCode, 400)
  t.same(noName.json(), { error: 'FST_NETPLAY_ROOMS_INVALID', message: 'room_name is required' })

  const listed = await server.inject({ url: '/list?game_id=12', headers: bearer(read) })
  t.same(Object.keys(listed.json()), ['Mario Kart'])
})

t.test('POST /join/:roomId checks the room, the password and the capacity', async (t) => {
  const server = await app(t)
  const read = (await server.netplay.auth.mint({ sub: 'carol', kind: 'read' })).token
  const write = (await server.netplay.auth.mint({ sub: 'alice', kind: 'write' })).token
  await server.inject({ method: 'POST', url: '/create', headers: bearer(write), payload: { room_name: 'Duel', max_players: 2, password: 'secret' } })

  const missing = await server.inject({ method: 'POST', url: '/join/Nope', headers: bearer(read), payload: {} })
  t.same([missing.statusCode, missing.json()], [404, { error: 'FST_NETPLAY_ROOMS_NOT_FOUND', message: 'room not found' }])
  const wrong = await server.inject({ method: 'POST', url: '/join/Duel', headers: bearer(read), payload: { password: 'guess' } })
  t.same([wrong.statusCode, wrong.json()], [403, { error: 'FST_NETPLAY_ROOMS_BAD_PASSWORD', message: 'incorrect password' }])
  const ok = await server.inject({ method: 'POST', url: '/join/Duel', headers: bearer(read), payload: { password: 'secret', player_name: 'Carol' } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { ok: true, room_id: 'Duel', room: { room_name: 'Duel', max: 2 } })
  const unauthenticated = await server.inject({ method: 'POST', url: '/join/Duel', payload: {} })
  t.equal(unauthenticated.statusCode, 401)
})

t.test('a full room answers 409 room is full; /leave frees the seat; /resolve names this node', async (t) => {
  const server = await app(t)
  await server.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`
  const tokens = await Promise.all(['host', 'guest', 'late'].map(async (sub) => (await server.netplay.auth.mint({ sub, kind: 'read' })).token))
  const sockets: Socket[] = []
  t.teardown(() => { for (const s of sockets) s.close() })
  const join = async (token: string, event: string, extra: Record<string, unknown>): Promise<unknown[]> => {
    const socket = io(url, { transports: ['websocket'], auth: { token }, forceNew: true })
    sockets.push(socket)
    await new Promise((resolve) => socket.on('connect', () => resolve(null)))
    return new Promise((resolve) => socket.emit(event, { extra, maxPlayers: 2 }, (...args: unknown[]) => resolve(args)))
  }
  t.same((await join(tokens[0] as string, 'open-room', { room_name: 'Pair', netplay_mode: 0 }))[0], null)
  t.same((await join(tokens[1] as string, 'join-room', { room_name: 'Pair', netplay_mode: 0 }))[0], null)

  const full = await server.inject({ method: 'POST', url: '/join/Pair', headers: bearer(tokens[2] as string), payload: {} })
  t.same([full.statusCode, full.json()], [409, { error: 'FST_NETPLAY_ROOMS_FULL', message: 'room is full' }])
  const seated = await server.inject({ method: 'POST', url: '/join/Pair', headers: bearer(tokens[1] as string), payload: {} })
  t.equal(seated.statusCode, 200, 'a seated player may re-check its own room')

  const left = await server.inject({ method: 'POST', url: '/leave/Pair', headers: bearer(tokens[1] as string) })
  t.same(left.json(), { ok: true })
  const room = server.netplay.rooms.get('Pair')
  t.equal(room?.current, 1, 'the guest left over HTTP')
  const now = await server.inject({ method: 'POST', url: '/join/Pair', headers: bearer(tokens[2] as string), payload: {} })
  t.equal(now.statusCode, 200, 'the freed seat is joinable')

  const resolved = await server.inject({ url: '/resolve?room=Pair', headers: bearer(tokens[2] as string) })
  t.same(resolved.json(), { room_name: 'Pair', url: 'https://netplay.example', nodeId: 'node-a' })
  const unknown = await server.inject({ url: '/resolve?room=Ghost', headers: bearer(tokens[2] as string) })
  t.equal(unknown.statusCode, 404)
})

t.test('a created room nobody joins is swept after emptyRoomTtlMs', async (t) => {
  const server = await app(t, { emptyRoomTtlMs: 100, sweepIntervalMs: 100 })
  const write = (await server.netplay.auth.mint({ sub: 'alice', kind: 'write' })).token
  await server.inject({ method: 'POST', url: '/create', headers: bearer(write), payload: { room_name: 'Ghost town' } })
  t.ok(server.netplay.rooms.get('Ghost town'), 'created')
  await sleep(400)
  t.equal(server.netplay.rooms.get('Ghost town'), undefined, 'swept')
})

t.test('a room made with POST /create is owned by its first seated player', async (t) => {
  // As in romm-sfu-server: the creator is not a member until it joins over
  // the socket, and a room owned by an absent identity would answer "not
  // owner" to every player in it (no pause, no lobby start).
  const server = await app(t)
  await server.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`
  const write = (await server.netplay.auth.mint({ sub: 'creator', kind: 'write' })).token
  t.equal((await server.inject({ method: 'POST', url: '/create', headers: bearer(write), payload: { room_name: 'Made over HTTP' } })).statusCode, 201)
  const room = server.netplay.rooms.get('Made over HTTP')
  t.equal(room?.ownerUserid, null, 'nobody owns it before anyone sits')

  const socket = io(url, { transports: ['websocket'], auth: { token: (await server.netplay.auth.mint({ sub: 'first', kind: 'read' })).token }, forceNew: true })
  t.teardown(() => { socket.close() })
  await new Promise((resolve) => socket.on('connect', () => resolve(null)))
  const emit = (event: string, data: unknown): Promise<unknown[]> => new Promise((resolve) => socket.emit(event, data, (...args: unknown[]) => resolve(args)))
  const [err, state] = await emit('join-room', { extra: { room_name: 'Made over HTTP', netplay_mode: 0 } }) as [unknown, { users: Record<string, { is_host?: boolean }> }]
  t.equal(err, null)
  t.equal(Object.values(state.users)[0]?.is_host, true, 'the first player to sit is the host')
  t.same(await emit('netplay-host-paused', { roomName: 'Made over HTTP' }), [null, null], 'and may pause')
})

t.test('POST /create when maxRooms is reached answers 503 with a code', async (t) => {
  const server = await app(t, { maxRooms: 1 })
  const create = async (name: string): Promise<{ statusCode: number, json: () => unknown }> =>
    server.inject({ method: 'POST', url: '/create', headers: bearer((await server.netplay.auth.mint({ sub: 'alice', kind: 'write' })).token), payload: { room_name: name } })
  t.equal((await create('One')).statusCode, 201)
  const refused = await create('Two')
  t.same([refused.statusCode, refused.json()], [503, { error: 'FST_NETPLAY_ROOMS_LIMIT', message: 'too many rooms on this server' }])
  t.equal(server.netplay.rooms.get('Two'), undefined)
})
