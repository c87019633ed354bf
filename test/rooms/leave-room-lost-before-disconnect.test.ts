// Regression: upstream EmulatorJS leaves with `leave-room` and disconnects
// in the same tick. Socket.IO drops events that arrive in the same batch as
// the disconnect, so the seat went into the reconnect grace (60 s by
// default): the others saw the player "reconnecting" and a host kept owning
// the room. A client's own disconnect (or a WebSocket close with 1000) now
// leaves the room at once; a dropped transport still gets the grace.
// Upstream members now get no grace at all (see upstream-no-grace.test.ts),
// so this is checked in an EmulatorJS-SFU room, where the difference stays.
import t from 'tap'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient, sfuExtra, wsClient, type IoClient } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>
const extra = (userid: string): Record<string, unknown> => sfuExtra('Leavers', { userid, player_name: userid, player_slot: undefined })

t.test('leave-room then disconnect() leaves at once; a dropped transport keeps the seat', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 60_000 } })
  const host = await ioClient(server)
  await host.ack('open-room', { extra: extra('host'), maxPlayers: 5 })
  const guests = []
  for (const id of ['g1', 'g2', 'g3']) {
    const guest = await ioClient(server, id === 'g2' ? { transports: ['websocket'] } : {})
    await guest.ack('join-room', { extra: extra(id) })
    guests.push(guest)
  }
  const ws = await wsClient(server)
  t.match(await ws.request('join-room', { extra: extra('ws') }), { ok: true })
  const room = server.app.netplay.rooms.get('Leavers')
  const [g1, g2, g3] = guests as [IoClient, IoClient, IoClient]

  // Leaving the way upstream EmulatorJS does: leave-room, then disconnect, in one tick.
  host.socket.emit('leave-room', {})
  host.socket.disconnect()
  const withoutHost = await g1.inbox.take<Users>('users-updated', (u) => !('host' in u))
  t.notOk(Object.values(withoutHost).some((u) => u.reconnecting === true), 'nobody shown reconnecting')
  t.equal(room?.ownerUserid, 'g1', 'ownership passed at once')

  g2.socket.disconnect()
  await g1.inbox.take<Users>('users-updated', (u) => !('g2' in u))
  t.equal(room?.members.has('g2'), false, 'a plain disconnect() leaves too')

  ws.socket.close(1000)
  await g1.inbox.take<Users>('users-updated', (u) => !('ws' in u))
  t.equal(room?.members.has('ws'), false, 'a WebSocket closed normally (1000) leaves')

  g3.socket.io.engine.close()
  const dropped = await g1.inbox.take<Users>('users-updated', (u) => u.g3?.reconnecting === true)
  t.equal(dropped.g3?.socketId, null, 'a dropped transport keeps the seat for the grace')
  t.equal(room?.members.get('g3')?.slot, 3, 'its seat')
  t.strictSame(Object.keys(dropped), ['g1', 'g3'], 'still listed at its place')
})
