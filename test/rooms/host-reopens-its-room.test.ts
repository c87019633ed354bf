// Regression: EmulatorJS-SFU generation 1 sends `open-room` (host) or
// `join-room` (guest) again on every Socket.IO reconnect. A guest was
// re-seated, but the host was told "room exists": its new socket was bound
// to nothing (every later event answered "not in room") and the game ended
// when its grace ran out. `open-room` from a member of the existing room now
// re-seats it as a re-join would; anyone else still gets "room exists".
import t from 'tap'
import { TOKEN_AUTH, startNetplay } from '../helpers/netplay-server.ts'
import { gen1Extra as realGen1Extra, ioClient, settle, type IoClient } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>

/** The `extra` generation 1 sends (emulator.js netplayOpenRoom / netplayJoinRoom). */
function gen1Extra (userid: string, slot = 0): Record<string, unknown> {
  return realGen1Extra('Reconnect Room', userid, { player_slot: slot })
}

async function dropTransport (client: IoClient): Promise<void> {
  client.socket.io.engine.close() // a network loss: the seat enters its grace
  await client.inbox.take('disconnect')
}

t.test('auth off: the host reconnects and its repeated open-room re-seats it', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 60_000 } })
  const host = await ioClient(server)
  const open = { extra: gen1Extra('host'), maxPlayers: 2, password: 'pw' }
  t.strictSame(await host.ack('open-room', open), [null, null])
  const guest = await ioClient(server, { transports: ['websocket'] })
  t.equal((await guest.ack('join-room', { extra: gen1Extra('guest'), password: 'pw' }))[0], null)
  const room = server.app.netplay.rooms.get('Reconnect Room')
  const member = room?.members.get('host')

  await dropTransport(host)
  await guest.inbox.take<Users>('users-updated', (u) => u.host?.reconnecting === true)

  const back = await ioClient(server)
  t.strictSame(await back.ack('open-room', { ...open, password: 'wrong' }), ['bad password'], 'the room password is still asked')
  t.strictSame(await back.ack('open-room', open), [null, null], 'the same open-room, sent again, is acknowledged')
  t.equal(room?.members.get('host'), member, 'the same member')
  t.equal(member?.connectionId, back.id, 'now on the new socket')
  t.equal(member?.slot, 0, 'its seat is kept')
  t.equal(room?.ownerUserid, 'host', 'and it still owns the room')
  const users = await guest.inbox.take<Users>('users-updated', (u) => u.host?.socketId === back.id)
  t.notOk(users.host?.reconnecting, 'the guest no longer sees it reconnecting')
  t.equal((await back.ack('netplay-host-paused', {}))[0], null, 'the new socket acts as the host')
  t.equal(server.app.netplay.rooms.bindingOf(back.id)?.member, member)

  // A live holder: a second socket naming the same userid is still refused.
  const impostor = await ioClient(server, { transports: ['websocket'] })
  t.strictSame(await impostor.ack('open-room', open), ['userid in use'], 'a connected host cannot be displaced')
  // Anyone who is not a member still gets "room exists".
  t.strictSame(await impostor.ack('open-room', { ...open, extra: gen1Extra('stranger') }), ['room exists'])
  await settle()
  t.equal(back.inbox.count('netplay-error'), 0, 'the host was not disturbed')
  t.equal(room?.members.get('host')?.connectionId, back.id)
})

t.test('auth on: the identity, not extra.userid, decides who may reopen', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH, rooms: { reconnectGraceMs: 60_000 } })
  const hostToken = await server.token('host-sub')
  const hostId = (await server.app.netplay.auth.verify(hostToken)).userid
  const host = await ioClient(server, { token: hostToken })
  t.strictSame(await host.ack('open-room', { extra: gen1Extra('random-1'), maxPlayers: 3 }), [null, null])
  const guest = await ioClient(server, { token: await server.token('guest-sub'), transports: ['websocket'] })
  t.equal((await guest.ack('join-room', { extra: gen1Extra('random-2') }))[0], null)
  const room = server.app.netplay.rooms.get('Reconnect Room')

  await dropTransport(host)
  const back = await ioClient(server, { token: hostToken })
  t.strictSame(await back.ack('open-room', { extra: gen1Extra('random-3'), maxPlayers: 3 }), [null, null], 'a new random extra.userid does not matter')
  t.equal(room?.members.get(hostId)?.connectionId, back.id)
  t.equal(room?.members.get(hostId)?.slot, 0)
  t.equal(room?.ownerUserid, hostId)
  t.equal(room?.members.size, 2, 'no one was added')

  const other = await ioClient(server, { token: await server.token('other-sub') })
  t.strictSame(await other.ack('open-room', { extra: gen1Extra('random-1'), maxPlayers: 3 }), ['room exists'], 'the host\'s old extra.userid is no key to its seat')
})

t.test('a guest who sends open-room for the room it is in changes nothing', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.ack('open-room', { extra: gen1Extra('host'), maxPlayers: 3 })
  const guest = await ioClient(server)
  await guest.ack('join-room', { extra: gen1Extra('guest') })
  t.strictSame(await guest.ack('open-room', { extra: gen1Extra('guest'), maxPlayers: 3 }), [null, null])
  const room = server.app.netplay.rooms.get('Reconnect Room')
  t.equal(room?.ownerUserid, 'host', 'ownership is not taken')
  t.equal(room?.members.get('guest')?.slot, 1, 'nor the host\'s seat')
})
