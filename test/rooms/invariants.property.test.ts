// Property: whatever a small pool of real Socket.IO clients does — open,
// join, leave, quit, drop off the network, come back, change seats, wait —
// the rooms stay consistent, and GET /list agrees with them after every step.
import t from 'tap'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, type IoClient } from '../helpers/netplay-clients.ts'

const GRACE_MS = 40
/** Timer granularity: a grace due within this of the check may not have fired yet (the check lets due timers run first). */
const TIMER_SLACK_MS = 50
const PLAYERS = 4
/** `alpha` is an EmulatorJS-SFU room (keyed by name, spectators allowed); `beta` an upstream one (keyed by sessionid). */
const ROOMS = ['alpha', 'beta'] as const
type RoomName = typeof ROOMS[number]

type Step =
  | { kind: 'open', who: number, room: RoomName, maxPlayers: number, password: boolean }
  | { kind: 'join', who: number, room: RoomName, spectator: boolean, password: 'right' | 'wrong' | 'none', slot: number | null }
  | { kind: 'leave' | 'quit' | 'drop' | 'reconnect', who: number }
  | { kind: 'slot', who: number, slot: number }
  | { kind: 'wait', ms: number }

const who = fc.integer({ min: 0, max: PLAYERS - 1 })
const room = fc.constantFrom(...ROOMS)
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('open' as const), who, room, maxPlayers: fc.integer({ min: 2, max: 3 }), password: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), who, room, spectator: fc.boolean(), password: fc.constantFrom('right' as const, 'right' as const, 'wrong' as const, 'none' as const), slot: fc.option(fc.integer({ min: 0, max: 3 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), who }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('quit' as const), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reconnect' as const), who }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('slot' as const), who, slot: fc.integer({ min: -1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: GRACE_MS * 2 }) }) }
)

function extraFor (player: number, roomName: RoomName, over: Record<string, unknown> = {}): Record<string, unknown> {
  const userid = `player-${player}`
  return roomName === 'alpha'
    ? { room_name: 'alpha', userid, player_name: userid, netplay_mode: 0, room_phase: 'running', spectator_mode: 1, ...over }
    : { room_name: 'Beta room', sessionid: 'beta', userid, player_name: userid, domain: 'prop.example', game_id: 9, ...over }
}

/** Waits until the server has handled a closed client's disconnect. */
async function gone (server: NetplayServer, socketId: string): Promise<void> {
  for (let i = 0; i < 200 && server.app.netplay.signaling.connection(socketId) !== undefined; i++) await sleep(5)
  assert.equal(server.app.netplay.signaling.connection(socketId), undefined, 'the server never saw the disconnect')
}

async function checkInvariants (server: NetplayServer): Promise<void> {
  const { app } = server
  const now = Date.now()
  // Timers fire in the order they are due: after this one, every grace due
  // by `now` has run, however late a loaded machine got to them.
  await sleep(1)
  const liveConnections = new Set<string>()
  for (const r of app.netplay.rooms.all()) {
    assert.ok(r.members.size > 0, `${r.key}: an empty room was kept`)
    const seats = [...r.members.values()].filter((m) => m.slot !== null).map((m) => m.slot as number)
    assert.equal(new Set(seats).size, seats.length, `${r.key}: seat numbers are unique (${seats})`)
    for (const seat of seats) assert.ok(seat >= 0 && seat < r.maxPlayers, `${r.key}: seat ${seat} within max ${r.maxPlayers}`)
    assert.equal(r.current, seats.length)
    assert.ok(r.current <= r.maxPlayers, `${r.key}: current ${r.current} <= max ${r.maxPlayers}`)
    if (r.style === 'upstream') {
      // Upstream clients index players by their place in the users map and
      // send that index with their inputs: seats must be exactly those places.
      const places = Object.keys(r.usersMap())
      for (const m of r.members.values()) if (m.slot !== null) assert.equal(places.indexOf(m.userid), m.slot, `${r.key}: ${m.userid}'s seat ${m.slot} is its place in the users map (${places})`)
    }
    if (r.ownerUserid !== null) assert.ok(r.members.has(r.ownerUserid), `${r.key}: the owner is a member`)
    if (r.style === 'upstream') {
      // Upstream games end with their host (the room closes), and upstream
      // members never wait in a grace: they never come back to their seat.
      assert.ok(r.ownerUserid !== null && r.members.get(r.ownerUserid)?.connectionId !== null, `${r.key}: an upstream room has its host, connected`)
      for (const m of r.members.values()) assert.ok(m.connectionId !== null, `${r.key}: upstream member ${m.userid} holds a seat without a connection`)
    }
    if (seats.length > 0) assert.ok(r.ownerUserid !== null && r.members.get(r.ownerUserid)?.slot !== null, `${r.key}: a room with players is owned by a player`)
    for (const m of r.members.values()) {
      if (m.connectionId === null) {
        assert.ok(m.graceUntil !== undefined && m.graceUntil + TIMER_SLACK_MS >= now, `${r.key}: ${m.userid} is left past its grace`)
      } else {
        assert.ok(app.netplay.signaling.connection(m.connectionId) !== undefined, `${r.key}: ${m.userid} holds a seat with a closed connection`)
        assert.ok(!liveConnections.has(m.connectionId), `${m.connectionId} is seated twice`)
        liveConnections.add(m.connectionId)
        const binding = app.netplay.rooms.bindingOf(m.connectionId)
        assert.ok(binding?.room === r && binding.member === m, `${r.key}: ${m.userid}'s connection is bound to its seat`)
      }
    }
  }
  await checkList(server)
}

/** What /list must say about each room, from the room objects. */
function expectedList (server: NetplayServer): Record<string, { current: number, max: number, hasPassword: boolean }> {
  const expected: Record<string, { current: number, max: number, hasPassword: boolean }> = {}
  for (const r of server.app.netplay.rooms.all()) expected[r.key] = { current: r.current, max: r.maxPlayers, hasPassword: r.password !== null }
  return expected
}

/**
 * /list agrees with the rooms. A grace timer may fire while the request is in
 * flight; then the room state moved under it and the comparison is retried.
 */
async function checkList (server: NetplayServer): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const before = expectedList(server)
    const list = (await server.get('/list')).body as Record<string, Record<string, unknown>>
    const after = expectedList(server)
    if (!isDeepStrictEqual(before, after) && attempt < 5) continue
    const listed: Record<string, unknown> = {}
    for (const [key, entry] of Object.entries(list)) listed[key] = { current: entry.current, max: entry.max, hasPassword: entry.hasPassword }
    assert.deepEqual(listed, after, '/list agrees with the rooms (current, max, hasPassword)')
    return
  }
}

t.test('rooms stay consistent under random open/join/leave/drop/reconnect/seat sequences', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: GRACE_MS }, rateLimit: { limits: { signaling: { capacity: 10_000, refillPerSecond: 10_000 } } } })
  const clients: Array<IoClient | null> = Array(PLAYERS).fill(null)
  const lastRoom: Array<RoomName | null> = Array(PLAYERS).fill(null)
  const roomKey = (name: RoomName): string => name === 'alpha' ? 'alpha' : 'beta'

  async function socketOf (player: number): Promise<IoClient> {
    const existing = clients[player]
    if (existing?.socket.connected === true) return existing
    // Player 0 goes through long-polling first, as browsers do; the others straight to websocket.
    const client = await ioClient(server, player === 0 ? {} : { transports: ['websocket'] })
    clients[player] = client
    return client
  }

  async function closeAll (): Promise<void> {
    for (const [player, client] of clients.entries()) {
      if (client === null) continue
      const id = client.id
      client.close()
      clients[player] = null
      if (id !== '') await gone(server, id)
    }
    lastRoom.fill(null)
    for (let i = 0; i < 200 && [...server.app.netplay.rooms.all()].length > 0; i++) await sleep(5)
    assert.equal([...server.app.netplay.rooms.all()].length, 0, 'rooms left over between runs')
  }

  /**
   * Clients the server disconnected (their upstream room closed with its
   * host) are let go before the next step, as the real client leaves then.
   */
  function forgetServerClosed (): void {
    for (const [player, client] of clients.entries()) {
      if (client === null || (client.id !== '' && server.app.netplay.signaling.connection(client.id) !== undefined)) continue
      client.close()
      clients[player] = null
    }
  }

  async function apply (s: Step): Promise<void> {
    switch (s.kind) {
      case 'open': {
        const client = await socketOf(s.who)
        const userid = `player-${s.who}`
        const existing = server.app.netplay.rooms.get(roomKey(s.room))
        const member = existing?.members.get(userid)
        const seat = member?.slot
        const owner = existing?.ownerUserid
        const [err] = await client.ack('open-room', { extra: extraFor(s.who, s.room), maxPlayers: s.maxPlayers, password: s.password ? 'pw' : null })
        if (err === null) {
          lastRoom[s.who] = s.room
          const opened = server.app.netplay.rooms.get(roomKey(s.room))
          if (opened !== existing || existing === undefined) {
            assert.equal(opened?.members.get(userid)?.slot, 0, 'the opener sits in slot 0')
            assert.equal(opened?.ownerUserid, userid, 'and owns the room')
          } else {
            // Opening a room that exists re-seats a member of it (generation 1
            // sends open-room again on reconnect); nobody else gets in that way.
            assert.ok(member !== undefined, 'only a member may open a room that exists')
            assert.equal(existing.members.get(userid), member, 'the same member')
            assert.equal(member.slot, seat, 'in the same seat')
            assert.equal(existing.ownerUserid, owner, 'the owner unchanged')
            assert.equal(server.app.netplay.rooms.bindingOf(client.id)?.member, member, 'bound to the socket that opened')
          }
        } else if (existing !== undefined && member === undefined) {
          assert.equal(err, 'room exists', 'anyone but a member is told the room exists')
        }
        return
      }
      case 'join': {
        const client = await socketOf(s.who)
        const over: Record<string, unknown> = s.spectator ? { is_spectator: true } : {}
        if (s.room === 'alpha' && s.slot !== null) over.player_slot = s.slot
        const password = s.password === 'right' ? 'pw' : s.password === 'wrong' ? 'nope' : null
        const [err] = await client.ack('join-room', { extra: extraFor(s.who, s.room, over), password })
        if (err === null) {
          lastRoom[s.who] = s.room
          assert.equal(server.app.netplay.rooms.bindingOf(client.id)?.room.key, roomKey(s.room), 'a successful join binds the socket')
        }
        return
      }
      case 'leave': {
        const client = clients[s.who]
        if (client?.socket.connected === true) await client.ack('leave-room', { reason: 'property' })
        return
      }
      case 'quit':
      case 'drop': {
        const client = clients[s.who]
        if (client === null || client === undefined || !client.socket.connected) return
        const id = client.id
        if (s.kind === 'quit') client.close() // socket.disconnect(): leaving for good
        else client.socket.io.engine.close() // the transport drops: the seat enters its grace
        clients[s.who] = null
        await gone(server, id)
        return
      }
      case 'reconnect': {
        const target = lastRoom[s.who] ?? null
        if (target === null || clients[s.who]?.socket.connected === true) return
        const before = server.app.netplay.rooms.get(roomKey(target))?.members.get(`player-${s.who}`)
        const seat = before?.slot
        const client = await socketOf(s.who)
        const [err] = await client.ack('join-room', { extra: extraFor(s.who, target), password: 'pw' })
        const after = server.app.netplay.rooms.get(roomKey(target))?.members.get(`player-${s.who}`)
        // The same member object means it was re-seated within its grace (the
        // grace may also run out during the password check: then it is a new member).
        if (err === null && before !== undefined && after === before) assert.equal(before.slot, seat, 'a player back within its grace keeps its seat')
        return
      }
      case 'slot': {
        const client = clients[s.who]
        if (client?.socket.connected === true) await client.ack('update-player-slot', { playerSlot: s.slot })
        return
      }
      case 'wait':
        await sleep(s.ms)
    }
  }

  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED)
  const started = Date.now()
  let steps = 0
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 30, size: 'max' }), async (sequence) => {
      try {
        for (const [i, s] of sequence.entries()) {
          await apply(s)
          forgetServerClosed()
          steps++
          try {
            await checkInvariants(server)
          } catch (err) {
            throw new Error(`after step ${i} ${JSON.stringify(s)}: ${(err as Error).message}`)
          }
        }
      } finally {
        await closeAll()
      }
    }),
    { numRuns: 50, ...(seed !== undefined ? { seed } : {}) }
  )
  t.pass(`50 runs, ${steps} steps, invariants held (${Date.now() - started} ms)`)
})
