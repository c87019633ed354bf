// Regression: a client that disconnected while its room password was being
// hashed (open-room) or checked (join-room) was seated anyway, on a
// connection already gone: the seat, and an opened room, were never freed
// (no disconnect was coming any more), so such rooms piled up forever.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

const extra = (userid: string, sessionid: string): Record<string, unknown> => ({ room_name: `room ${sessionid}`, userid, player_name: userid, sessionid })

t.test('a client gone during the password work holds no seat and no room', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 50 } })
  const host = await ioClient(server)
  t.equal((await host.ack('open-room', { extra: extra('host', 'locked'), password: 'pw' }))[0], null)

  // The scrypt work takes tens of milliseconds; drop the transport at several
  // points inside it (the message has reached the server by then).
  for (const delay of [2, 5, 10, 15, 20, 30]) {
    const opener = await ioClient(server, { transports: ['websocket'] })
    opener.socket.emit('open-room', { extra: extra(`opener-${delay}`, `s-${delay}`), password: 'pw' }, () => {})
    const joiner = await ioClient(server, { transports: ['websocket'] })
    joiner.socket.emit('join-room', { extra: extra(`joiner-${delay}`, 'locked'), password: 'pw' }, () => {})
    await sleep(delay)
    opener.socket.io.engine.close()
    joiner.socket.io.engine.close()
  }
  await sleep(300) // every hash done, every grace (50 ms) over

  const rooms = [...server.app.netplay.rooms.all()]
  t.strictSame(rooms.map((r) => r.key), ['locked'], 'no room of a departed opener is left')
  const locked = server.app.netplay.rooms.get('locked')
  t.strictSame([...locked?.members.keys() ?? []], ['host'], 'no seat of a departed joiner is left')
  t.strictSame(Object.keys((await server.get('/list')).body as object), ['locked'])
  t.equal(server.app.netplay.signaling.connectionCount, 1)
})
