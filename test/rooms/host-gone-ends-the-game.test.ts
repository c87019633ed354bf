// Regression: when the host of an upstream (family A) or generation-1
// (family C) room went for good, ownership passed to a guest. Neither client
// can take over (upstream ignores is_host and a promoted guest has no
// emulator running; a generation-1 guest only watches the host's stream),
// so the guests sat on a frozen picture in a room still listed and
// joinable. Now the room closes: the guests see users-updated without the
// host, then their sockets are closed, which is how both clients leave.
// EmulatorJS-SFU generation-2 rooms keep passing ownership on.
import t, { type Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, settle, sfuExtra, type IoClient } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>
type Family = 'upstream' | 'sfu-gen1'

function extraOf (family: Family, userid: string): Record<string, unknown> {
  return family === 'upstream'
    ? { domain: 'games.example', game_id: 42, room_name: 'Ends', player_name: userid, userid, sessionid: 'ends' }
    : { domain: 'games.example', game_id: 42, room_name: 'Ends', player_name: userid, player_slot: 0, userid, sessionid: `s-${userid}`, input_mode: 'unorderedRelay' }
}
const keyOf = (family: Family): string => family === 'upstream' ? 'ends' : 'Ends'

async function roomOfThree (t: Test, server: NetplayServer, family: Family): Promise<{ host: IoClient, guests: IoClient[] }> {
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: extraOf(family, 'host'), maxPlayers: 4 }))[0], null)
  const guests: IoClient[] = []
  for (const id of ['g1', 'g2']) {
    const guest = await ioClient(server, { transports: ['websocket'] })
    t.equal((await guest.ack('join-room', { extra: extraOf(family, id) }))[0], null)
    guests.push(guest)
  }
  t.equal(server.app.netplay.rooms.get(keyOf(family))?.style, family)
  return { host, guests }
}

async function assertGameOver (t: Test, server: NetplayServer, family: Family, guests: IoClient[]): Promise<void> {
  for (const [i, guest] of guests.entries()) {
    const users = await guest.inbox.take<Users>('users-updated', (u) => !('host' in u))
    t.strictSame(Object.keys(users), ['g1', 'g2'], `guest ${i + 1}: users-updated without the host`)
    t.notOk(Object.values(users).some((u) => u.is_host === true), 'nobody was made host')
    if (family === 'sfu-gen1') t.same(await guest.inbox.take('room-closed'), { roomName: 'Ends', reason: 'host left' }, 'room-closed, which generation 1 knows')
    else t.equal(guest.inbox.count('room-closed'), 0, 'upstream is sent no event it does not know')
    t.equal(await guest.inbox.take('disconnect'), 'io server disconnect', `guest ${i + 1} is disconnected`)
  }
  t.equal(server.app.netplay.rooms.get(keyOf(family)), undefined, 'the room is gone')
  t.notOk(keyOf(family) in ((await server.get('/list')).body as object), 'and unlisted')
  const late = await ioClient(server)
  t.equal((await late.ack('join-room', { extra: extraOf(family, 'late') }))[0], family === 'upstream' ? 'Room not found' : 'no such room', 'nobody can join it any more')
}

for (const family of ['upstream', 'sfu-gen1'] as const) {
  t.test(`${family}: the host leaves (leave-room, then disconnect)`, async (t) => {
    const server = await startNetplay(t, { rooms: { reconnectGraceMs: 60_000 } })
    const { host, guests } = await roomOfThree(t, server, family)
    host.socket.emit('leave-room', {})
    host.close()
    await assertGameOver(t, server, family, guests)
  })

  t.test(`${family}: the host opens another room`, async (t) => {
    const server = await startNetplay(t)
    const { host, guests } = await roomOfThree(t, server, family)
    const elsewhere = { ...extraOf(family, 'host'), room_name: 'Another', sessionid: 'another' }
    t.equal((await host.ack('open-room', { extra: elsewhere, maxPlayers: 2 }))[0], null)
    await assertGameOver(t, server, family, guests)
    t.ok(host.socket.connected, 'the host itself stays connected, in its new room')
  })
}

t.test('upstream: a host whose network drops ends the game at once (no grace)', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 60_000 } })
  const { host, guests } = await roomOfThree(t, server, 'upstream')
  host.socket.io.engine.close()
  await assertGameOver(t, server, 'upstream', guests)
})

t.test('generation 1: the host keeps its grace, and the game ends when it runs out', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 300 } })
  const { host, guests } = await roomOfThree(t, server, 'sfu-gen1')
  const room = server.app.netplay.rooms.get('Ends')
  host.socket.io.engine.close()
  const [g1] = guests as [IoClient]
  const waiting = await g1.inbox.take<Users>('users-updated', (u) => u.host?.reconnecting === true)
  t.equal(waiting.host?.is_host, true, 'within its grace it is still the host')
  t.equal(room?.closed, false, 'and the room is open')
  await sleep(350)
  await assertGameOver(t, server, 'sfu-gen1', guests)
})

t.test('a guest leaving ends nothing', async (t) => {
  const server = await startNetplay(t)
  const { host, guests } = await roomOfThree(t, server, 'sfu-gen1')
  const [g1, g2] = guests as [IoClient, IoClient]
  g1.socket.emit('leave-room', {})
  g1.close()
  await host.inbox.take<Users>('users-updated', (u) => !('g1' in u) && 'g2' in u)
  await settle()
  t.ok(host.socket.connected && g2.socket.connected)
  t.equal(server.app.netplay.rooms.get('Ends')?.ownerUserid, 'host')
})

t.test('generation 2 (EmulatorJS-SFU): ownership still passes on', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.ack('open-room', { extra: sfuExtra('Goes On', { userid: 'host' }), maxPlayers: 4 })
  const guest = await ioClient(server)
  t.equal((await guest.ack('join-room', { extra: sfuExtra('Goes On', { userid: 'g1', player_slot: undefined }) }))[0], null)
  host.socket.emit('leave-room', {})
  host.close()
  const users = await guest.inbox.take<Users>('users-updated', (u) => !('host' in u))
  t.equal(users.g1?.is_host, true, 'the guest is the host now')
  await settle()
  t.ok(guest.socket.connected, 'and stays connected')
  t.equal(guest.inbox.count('room-closed'), 0)
  t.equal(server.app.netplay.rooms.get('Goes On')?.ownerUserid, 'g1')
})
