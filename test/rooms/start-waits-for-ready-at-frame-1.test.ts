// Regression (EmulatorJS-SFU generation 2, delay_sync): `start-game` sent
// `prepare-start` and `start-game` in one burst, so each client unpaused on
// the wall clock whether or not its emulator had reset and reached frame 1;
// `ready-at-frame-1` was only relayed. As in romm-sfu-server, `start-game`
// now sends `prepare-start` alone, and `start-game` follows once every
// seated player has answered `ready-at-frame-1`, or after
// PREPARE_TIMEOUT_MS: a player who leaves, drops or stops playing is not
// waited for, nor is a stuck one for ever. Real Socket.IO clients.
import t from 'tap'
import { activeHandles, handlesOpenedSince, startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { settle } from '../helpers/netplay-clients.ts'
import { hostRoom, joinAs, withTokens, type Player } from '../helpers/family-b.ts'
import { PREPARE_TIMEOUT_MS, START_DELAY_MS, START_FRAME } from '../../plugins/rooms/lobby.ts'
import type { Room } from '../../plugins/rooms/room.ts'

const LOBBY = { netplay_mode: 1, room_phase: 'lobby', spectator_mode: 1 }

function roomOf (server: NetplayServer, name: string): Room {
  const room = server.app.netplay.rooms.get(name)
  if (room === undefined) throw new Error(`no room ${name}`)
  return room
}

/** A delay_sync lobby: alice hosts, the guests join ready. */
async function lobby (server: NetplayServer, name: string, guests: string[]): Promise<Player[]> {
  const host = await hostRoom(server, 'alice', name, { extra: LOBBY })
  const joined: Player[] = []
  for (const sub of guests) {
    const guest = await joinAs(server, sub, name, LOBBY)
    const [err] = await guest.client.ack('toggle-ready', { roomName: name, ready: true })
    if (err !== null) throw new Error(`toggle-ready: ${JSON.stringify(err)}`)
    joined.push(guest)
  }
  return [host, ...joined]
}

const ready = async (who: Player, roomName: string): Promise<unknown[]> => await who.client.ack('ready-at-frame-1', { roomName, frame: 1 })

t.test('start-game sends prepare-start only; start-game follows once every player is at frame 1', async (t) => {
  const server = await startNetplay(t, withTokens())
  const [alice, bob, carol] = await lobby(server, 'Barrier', ['bob', 'carol']) as [Player, Player, Player]
  const dave = await joinAs(server, 'dave', 'Barrier', { ...LOBBY, is_spectator: true })
  const everyone = [alice, bob, carol, dave]
  const room = roomOf(server, 'Barrier')

  t.strictSame(await ready(bob, 'Barrier'), ['not in prepare phase'], 'ready-at-frame-1 before any start')

  const asked = Date.now()
  t.strictSame(await alice.client.ack('start-game', { roomName: 'Barrier' }), [null, null])
  for (const member of everyone) {
    const prepare = await member.client.inbox.take('prepare-start')
    t.strictSame(Object.keys(prepare).sort(), ['startFrame', 'startTime'])
    t.equal(prepare.startFrame, START_FRAME, `${member.sub} gets prepare-start`)
    t.ok(prepare.startTime >= asked + START_DELAY_MS, 'startTime is ahead')
  }
  t.strictSame(await alice.client.ack('start-game', { roomName: 'Barrier' }), ['not in delay sync lobby'], 'a second start while preparing is refused')

  for (const [i, member] of [alice, bob, dave].entries()) {
    t.strictSame(await ready(member, 'Barrier'), [null, null], `${member.sub} is ready`)
    await settle()
    t.equal(everyone.reduce((n, m) => n + m.client.inbox.count('start-game'), 0), 0, `no start-game with ${i + 1} ready and carol not`)
  }
  t.not(room.roomPhase, 'running', 'the room is not running yet')
  t.strictSame(alice.client.inbox.last('player-ready-at-frame'), { playerId: dave.userid, frame: 1 }, 'the others hear who is ready')

  t.strictSame(await ready(carol, 'Barrier'), [null, null])
  const starts: Array<{ frame: number, start_time: number }> = []
  for (const member of everyone) starts.push(await member.client.inbox.take('start-game'))
  const [first] = starts
  t.strictSame(first, { frame: START_FRAME, start_time: first?.start_time }, '{ frame, start_time }')
  t.ok(starts.every((s) => s.start_time === first?.start_time), 'one start time for everyone (spectators included)')
  t.ok((first?.start_time ?? 0) >= Date.now() + START_DELAY_MS - 1000, 'scheduled ahead, so every client unpauses together')
  t.equal(room.roomPhase, 'running')
  await settle()
  t.equal(alice.client.inbox.count('start-game'), 1, 'start-game goes out once')
  t.strictSame(await ready(bob, 'Barrier'), ['not in prepare phase'], 'ready-at-frame-1 once running')
})

t.test('a player who leaves, spectates or drops during prepare is not waited for', async (t) => {
  for (const [how, go] of [
    ['leaves', async (p: Player) => { await p.client.ack('leave-room', { roomName: 'Going', reason: null }) }],
    ['moves to spectating', async (p: Player) => {
      const [err] = await p.client.ack('update-player-slot', { roomName: 'Going', playerSlot: 8 })
      if (err !== null) throw new Error(`update-player-slot: ${JSON.stringify(err)}`)
    }],
    ['drops off the network (seat held for its grace)', async (p: Player) => { p.client.socket.io.engine.close() }]
  ] as const) {
    t.test(`carol ${how}`, async (t) => {
      const server = await startNetplay(t, withTokens({ rooms: { reconnectGraceMs: 60_000 } }))
      const [alice, bob, carol] = await lobby(server, 'Going', ['bob', 'carol']) as [Player, Player, Player]
      t.equal((await alice.client.ack('start-game', { roomName: 'Going' }))[0], null)
      await carol.client.inbox.take('prepare-start')
      t.equal((await ready(alice, 'Going'))[0], null)
      t.equal((await ready(bob, 'Going'))[0], null)
      await settle()
      t.equal(alice.client.inbox.count('start-game'), 0, 'waiting for carol')
      await go(carol)
      for (const member of [alice, bob]) t.match(await member.client.inbox.take('start-game'), { frame: START_FRAME }, `${member.sub} starts`)
      t.equal(roomOf(server, 'Going').roomPhase, 'running')
    })
  }
})

t.test('the owner leaving during prepare neither blocks nor cancels the start', async (t) => {
  const server = await startNetplay(t, withTokens())
  const [alice, bob, carol] = await lobby(server, 'Owner', ['bob', 'carol']) as [Player, Player, Player]
  t.equal((await alice.client.ack('start-game', { roomName: 'Owner' }))[0], null)
  t.equal((await ready(bob, 'Owner'))[0], null)
  t.equal((await ready(carol, 'Owner'))[0], null)
  await settle()
  t.equal(bob.client.inbox.count('start-game'), 0, 'waiting for the owner')
  await alice.client.ack('leave-room', { roomName: 'Owner', reason: null })
  for (const member of [bob, carol]) await member.client.inbox.take('start-game')
  t.equal(roomOf(server, 'Owner').ownerUserid, bob.userid)
})

t.test('a stuck player: the game starts anyway after prepareTimeoutMs (default PREPARE_TIMEOUT_MS)', async (t) => {
  t.equal(PREPARE_TIMEOUT_MS, 10_000)
  const timeoutMs = 1500
  const server = await startNetplay(t, withTokens({ rooms: { prepareTimeoutMs: timeoutMs } }))
  const [alice, bob] = await lobby(server, 'Stuck', ['bob']) as [Player, Player]
  const started = Date.now()
  t.equal((await alice.client.ack('start-game', { roomName: 'Stuck' }))[0], null)
  t.equal((await ready(alice, 'Stuck'))[0], null)
  const [, state] = await bob.client.ack('request-room-state', { roomName: 'Stuck' }) as [unknown, { room_phase: string }]
  t.equal(state.room_phase, 'prepare', 'the room reports its prepare phase, as romm-sfu-server does')
  // bob never answers.
  const start = await bob.client.inbox.take('start-game', () => true, timeoutMs + 3000)
  const waited = Date.now() - started
  t.ok(waited >= timeoutMs - 50, `not before the timeout (${waited} ms)`)
  t.match(start, { frame: START_FRAME, start_time: Number })
  await alice.client.inbox.take('start-game')
  t.equal(roomOf(server, 'Stuck').roomPhase, 'running')
})

t.test('a room closed during prepare leaves no timer behind; nor does app.close()', async (t) => {
  const server = await startNetplay(t, withTokens())
  const [alice, bob] = await lobby(server, 'Closing', ['bob']) as [Player, Player]
  await settle()
  const before = activeHandles()
  t.equal((await alice.client.ack('start-game', { roomName: 'Closing' }))[0], null)
  t.match(await handlesOpenedSince(before, 0), { Timeout: 1 }, 'the prepare deadline is a timer')
  const room = roomOf(server, 'Closing')
  for (const member of [alice, bob]) await member.client.ack('leave-room', { roomName: 'Closing', reason: null })
  t.equal(room.closed, true, 'the room closed with its last member')
  t.strictSame(await handlesOpenedSince(before), {}, 'its timer went with it')
  await settle()
  t.equal(alice.client.inbox.count('start-game') + bob.client.inbox.count('start-game'), 0)

  // A room still preparing when the app closes.
  const [host] = await lobby(server, 'Shutdown', []) as [Player]
  await settle()
  const beforeShutdown = activeHandles()
  t.equal((await host.client.ack('start-game', { roomName: 'Shutdown' }))[0], null)
  t.match(await handlesOpenedSince(beforeShutdown, 0), { Timeout: 1 })
  host.client.close()
  alice.client.close()
  bob.client.close()
  await server.app.close()
  t.notOk((await handlesOpenedSince(beforeShutdown)).Timeout, 'app.close() cleared it')
})
