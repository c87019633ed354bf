// Regression (EmulatorJS-SFU generation 2): `update-player-slot` refused
// every move to spectating (slot 8) and every seat a spectator asked for,
// which romm-sfu-server allows and the client's slot selector offers. And the
// client moves itself before it asks and never rolls back: after a refusal it
// went on sending inputs for a seat it did not have, until the input guard
// cut it off. Now the moves are allowed within the room's rules, and every
// refusal tells the caller (alone) its real seat. Real Socket.IO clients.
import t from 'tap'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { roomsSnapshot, startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { settle } from '../helpers/netplay-clients.ts'
import { hostRoom, joinAs, withTokens, type Player, type Users } from '../helpers/family-b.ts'
import type { Room } from '../../plugins/rooms/room.ts'

/** A relayed input (the Socket.IO fallback) naming `player`: the data-channel guard checks it against the sender's seat. */
const input = (player: number): Record<string, unknown> => ({ 'sync-control': [{ frame: 120, connected_input: [player, 4, 1] }] })

function roomOf (server: NetplayServer, name: string): Room {
  const room = server.app.netplay.rooms.get(name)
  if (room === undefined) throw new Error(`no room ${name}`)
  return room
}

async function listed (server: NetplayServer, name: string): Promise<Record<string, unknown> | undefined> {
  const list = await server.get('/list', { authorization: `Bearer ${await server.token('lister')}` })
  return (list.body as Record<string, Record<string, unknown>>)[name]
}

const move = async (who: Player, playerSlot: number): Promise<unknown[]> => await who.client.ack('update-player-slot', { roomName: 'Seats', playerSlot })

t.test('a player moves to spectating and back; a spectator takes a free seat', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Seats', { maxPlayers: 3, extra: { spectator_mode: 1 } })
  const bob = await joinAs(server, 'bob', 'Seats')
  const carol = await joinAs(server, 'carol', 'Seats', { is_spectator: true })
  const everyone = [alice, bob, carol]
  const room = roomOf(server, 'Seats')
  t.equal(room.members.get(bob.userid)?.slot, 1)
  t.equal(room.members.get(carol.userid)?.slot, null)

  // A player becomes a spectator: its seat is freed, everyone hears of it.
  t.strictSame(await move(bob, 8), [null, null], 'a player may move to slot 8')
  for (const member of everyone) {
    t.strictSame(await member.client.inbox.take('player-slot-updated'), { playerId: bob.userid, playerSlot: 8 }, `${member.sub} hears bob spectates`)
    const users = await member.client.inbox.take<Users>('users-updated', (u) => u[bob.userid]?.is_spectator === true)
    t.match(users[bob.userid], { player_slot: 8, is_spectator: true })
  }
  t.equal(room.members.get(bob.userid)?.slot, null, 'the seat is freed')
  t.equal(room.current, 1, 'a spectator does not count')
  t.match(await listed(server, 'Seats'), { current: 1, max: 3 }, '/list follows')
  const [asSpectator] = await bob.client.ack('data-message', input(1))
  t.not(asSpectator, null, 'the input guard reads the new seat: a spectator\'s inputs are refused')

  // A spectator takes the free seat and plays from it.
  t.strictSame(await move(carol, 1), [null, null], 'a spectator may take a free seat')
  for (const member of everyone) t.strictSame(await member.client.inbox.take('player-slot-updated'), { playerId: carol.userid, playerSlot: 1 })
  t.equal(room.members.get(carol.userid)?.slot, 1)
  t.equal(room.current, 2)
  t.strictSame(await carol.client.ack('data-message', input(1)), [null, null], 'its inputs for that seat are relayed')
  t.strictSame(await alice.client.inbox.take('data-message'), input(1))

  // Back from spectating: a taken seat or one past maxPlayers is refused; a free one is not.
  t.strictSame(await move(bob, 1), ['slot taken'])
  t.strictSame(await move(bob, 3), ['invalid slot'], 'maxPlayers is 3')
  t.strictSame(await move(bob, 2), [null, null])
  for (const member of everyone) t.strictSame(await member.client.inbox.take('player-slot-updated', (d) => d.playerSlot === 2), { playerId: bob.userid, playerSlot: 2 })
  t.equal(room.members.get(bob.userid)?.slot, 2)
  t.equal(room.current, 3)
  t.match(await listed(server, 'Seats'), { current: 3, max: 3 })
  t.strictSame(await bob.client.ack('data-message', input(2)), [null, null])

  // A full room has no seat for a spectator.
  const dave = await joinAs(server, 'dave', 'Seats', { is_spectator: true })
  for (const slot of [0, 1, 2]) t.strictSame(await dave.client.ack('update-player-slot', { roomName: 'Seats', playerSlot: slot }), ['slot taken'])
  t.strictSame(await dave.client.ack('update-player-slot', { roomName: 'Seats', playerSlot: 3 }), ['invalid slot'])
  t.equal(room.current, 3, 'current never passes max')
  const seats = [...room.members.values()].map((m) => m.slot).filter((slot) => slot !== null)
  t.strictSame(seats.sort(), [0, 1, 2], 'seats stay unique')
  t.equal(room.ownerUserid, alice.userid, 'ownership never moved')
})

t.test('after any refusal the caller alone is told its real seat', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Seats', { maxPlayers: 2, extra: { spectator_mode: 1 } })
  const bob = await joinAs(server, 'bob', 'Seats')
  const carol = await joinAs(server, 'carol', 'Seats', { is_spectator: true })
  await settle()
  const before = await roomsSnapshot(server)
  const slotPushes = (member: Player): number => member.client.inbox.count('player-slot-updated')
  const pushedBefore = [alice, bob, carol].map(slotPushes)

  const cases: Array<[Player, number, string, number]> = [
    [bob, 0, 'slot taken', 1],
    [bob, 2, 'invalid slot', 1],
    [bob, -1, 'invalid slot', 1],
    [bob, 99, 'invalid slot', 1],
    [bob, 1, 'you already have slot 1', 1],
    [carol, 1, 'slot taken', 8],
    [carol, 5, 'invalid slot', 8],
    [carol, 8, 'you already have slot 8', 8],
    // The owner keeps a seat: a spectator never owns a room.
    [alice, 8, 'invalid slot', 0]
  ]
  for (const [who, slot, error, real] of cases) {
    t.strictSame(await who.client.ack('update-player-slot', { roomName: 'Seats', playerSlot: slot }), [error], `${who.sub} -> ${slot}: ${error}`)
    // Pushed before the ack: it is already in the inbox.
    t.strictSame(who.client.inbox.last('player-slot-updated'), { playerId: who.userid, playerSlot: real }, `${who.sub} is told it sits at ${real}`)
  }
  await settle()
  const sent = (who: Player): number => cases.filter(([caller]) => caller === who).length
  t.strictSame([alice, bob, carol].map(slotPushes), pushedBefore.map((n, i) => n + sent([alice, bob, carol][i] as Player)), 'each push went to the caller only')
  t.strictSame(await roomsSnapshot(server), before, 'no refusal changed the room or /list')
  t.equal(alice.client.inbox.all('player-slot-updated').some((d) => d.playerId !== alice.userid), false, 'the host heard nothing of the others\' refused moves')
})

t.test('spectating needs a room that allows spectators', async (t) => {
  const server = await startNetplay(t, withTokens())
  await hostRoom(server, 'alice', 'Seats', { extra: { spectator_mode: 0 } })
  const bob = await joinAs(server, 'bob', 'Seats')
  t.strictSame(await move(bob, 8), ['spectators not allowed'])
  t.strictSame(bob.client.inbox.last('player-slot-updated'), { playerId: bob.userid, playerSlot: 1 })
  t.equal(roomOf(server, 'Seats').members.get(bob.userid)?.slot, 1)
})

t.test('in a room whose players all left, the spectator who takes a seat owns it', async (t) => {
  const server = await startNetplay(t, withTokens())
  const alice = await hostRoom(server, 'alice', 'Seats', { extra: { spectator_mode: 1 } })
  const carol = await joinAs(server, 'carol', 'Seats', { is_spectator: true })
  t.strictSame(await alice.client.ack('leave-room', { roomName: 'Seats', reason: null }), [null, null])
  const room = roomOf(server, 'Seats')
  t.equal(room.ownerUserid, null, 'only a spectator is left: nobody owns the room')
  t.strictSame(await move(carol, 0), [null, null])
  t.equal(room.ownerUserid, carol.userid, 'the new player owns it')
  const users = await carol.client.inbox.take<Users>('users-updated', (u) => u[carol.userid]?.is_host === true)
  t.match(users[carol.userid], { player_slot: 0, is_spectator: false, is_host: true })
  t.strictSame(await carol.client.ack('netplay-host-paused', { roomName: 'Seats' }), [null, null], 'with the owner\'s rights')
})

t.test('delay_sync: a spectator takes a seat only with the host\'s ROM and core', async (t) => {
  const server = await startNetplay(t, withTokens())
  const lobby = { netplay_mode: 1, room_phase: 'lobby', spectator_mode: 1, rom_hash: 'rom-abc', core_type: 'snes9x' }
  await hostRoom(server, 'alice', 'Seats', { extra: lobby })
  const erin = await joinAs(server, 'erin', 'Seats', { ...lobby, rom_hash: 'rom-other', is_spectator: true })
  const gina = await joinAs(server, 'gina', 'Seats', { ...lobby, core_type: 'bsnes', is_spectator: true })
  const frank = await joinAs(server, 'frank', 'Seats', { ...lobby, is_spectator: true })
  const room = roomOf(server, 'Seats')

  t.strictSame(await move(erin, 1), ['ROM does not match the host'])
  t.strictSame(erin.client.inbox.last('player-slot-updated'), { playerId: erin.userid, playerSlot: 8 })
  t.strictSame(await move(gina, 1), ['emulator core does not match the host'])
  t.strictSame(gina.client.inbox.last('player-slot-updated'), { playerId: gina.userid, playerSlot: 8 })
  t.equal(room.current, 1)
  t.strictSame(await move(frank, 1), [null, null], 'the same ROM and core may play')
  t.equal(room.members.get(frank.userid)?.slot, 1)
})

t.test('property: random seat moves of players and spectators keep the seats consistent', async (t) => {
  const server = await startNetplay(t, withTokens({ rateLimit: { limits: { signaling: { capacity: 10_000, refillPerSecond: 10_000 } } } }))
  const alice = await hostRoom(server, 'alice', 'Seats', { maxPlayers: 3, extra: { spectator_mode: 1 } })
  const others = [
    await joinAs(server, 'bob', 'Seats'),
    await joinAs(server, 'carol', 'Seats', { is_spectator: true }),
    await joinAs(server, 'dave', 'Seats', { is_spectator: true })
  ]
  const members = [alice, ...others]
  const room = roomOf(server, 'Seats')
  const moves = fc.array(fc.record({ who: fc.integer({ min: 0, max: 3 }), slot: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.constant(8)) }), { minLength: 5, maxLength: 25 })
  let steps = 0
  await fc.assert(fc.asyncProperty(moves, async (sequence) => {
    for (const { who, slot } of sequence) {
      const member = members[who] as Player
      const before = room.members.get(member.userid)?.slot ?? 8
      const [err] = await member.client.ack('update-player-slot', { roomName: 'Seats', playerSlot: slot })
      const after = room.members.get(member.userid)?.slot ?? 8
      if (err === null) assert.equal(after, slot, 'an accepted move seats the caller where it asked')
      else {
        assert.equal(after, before, `a refused move (${String(err)}) changes nothing`)
        assert.deepEqual(member.client.inbox.last('player-slot-updated'), { playerId: member.userid, playerSlot: before }, 'and tells the caller its real seat')
      }
      const seats = [...room.members.values()].flatMap((m) => m.slot === null ? [] : [m.slot])
      assert.equal(new Set(seats).size, seats.length, `seats are unique (${seats})`)
      for (const seat of seats) assert.ok(seat >= 0 && seat < room.maxPlayers, `seat ${seat} below max`)
      assert.equal(room.current, seats.length)
      assert.ok(room.current <= room.maxPlayers)
      assert.equal(room.ownerUserid, alice.userid, 'the owner never changes')
      assert.notEqual(room.members.get(alice.userid)?.slot, null, 'and keeps a seat')
      steps++
    }
    const listedEntry = await listed(server, 'Seats')
    assert.equal(listedEntry?.current, room.current, '/list agrees')
  }), { numRuns: 30 })
  t.pass(`${steps} moves, seats consistent`)
})
