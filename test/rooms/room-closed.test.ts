// A room closed by the server while members are still in it (the SFU does
// when a dead worker's room is never rebuilt): EmulatorJS-SFU clients of
// both generations are told with `room-closed`, which they know; upstream
// clients are not sent an event they do not know. With `disconnect` every
// connection is closed too: generation 1 leaves its room only when its
// socket drops.
import t, { type Test } from 'tap'
import { startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, settle, sfuExtra, type IoClient } from '../helpers/netplay-clients.ts'

async function roomOfThree (t: Test, server: NetplayServer, name: string): Promise<{ host: IoClient, gen1: IoClient, upstream: IoClient }> {
  const host = await ioClient(server, { transports: ['websocket'] })
  t.equal((await host.call('open-room', { extra: sfuExtra(name, { userid: 'host' }), maxPlayers: 4 })).err, null)
  t.equal((await host.call('join-room', { extra: sfuExtra(name, { userid: 'host' }) })).err, null)
  const gen1 = await ioClient(server, { transports: ['websocket'] })
  t.equal((await gen1.call('join-room', { extra: { room_name: name, domain: 'romm.example', game_id: 7, userid: 'gen1', player_slot: -1 } })).err, null)
  const upstream = await ioClient(server, { transports: ['websocket'] })
  t.equal((await upstream.call('join-room', { extra: { sessionid: name, domain: 'romm.example', game_id: 7, userid: 'upstream', player_name: 'Up' } })).err, null)
  return { host, gen1, upstream }
}

t.test('closing a room with members: EmulatorJS-SFU clients are told, then every connection is closed', async (t) => {
  const server = await startNetplay(t)
  const { host, gen1, upstream } = await roomOfThree(t, server, 'closing')
  const rooms = server.app.netplay.rooms
  rooms.close(rooms.get('closing')!, 'maintenance', { disconnect: true })

  for (const client of [host, gen1]) {
    t.same(await client.inbox.take('room-closed'), { roomName: 'closing', reason: 'maintenance' })
    t.equal(await client.inbox.take('disconnect'), 'io server disconnect', 'then disconnected by the server')
  }
  t.equal(await upstream.inbox.take('disconnect'), 'io server disconnect', 'upstream clients are disconnected too')
  t.equal(upstream.inbox.count('room-closed'), 0, 'but not sent an event they do not know')
  t.equal(rooms.get('closing'), undefined, 'the room is deleted')
  t.same((await server.get('/list')).body, {}, 'and gone from the list')
})

t.test('closing a room without disconnect: members are told and stay connected, outside any room', async (t) => {
  const server = await startNetplay(t)
  const { host, gen1 } = await roomOfThree(t, server, 'quiet')
  const rooms = server.app.netplay.rooms
  const room = rooms.get('quiet')!
  rooms.close(room, 'closed by an operator')
  rooms.close(room, 'again') // a closed room stays closed, nobody is told twice

  t.same(await host.inbox.take('room-closed'), { roomName: 'quiet', reason: 'closed by an operator' })
  t.same(await gen1.inbox.take('room-closed'), { roomName: 'quiet', reason: 'closed by an operator' })
  await settle()
  t.equal(host.inbox.count('room-closed'), 1)
  t.ok(host.socket.connected && gen1.socket.connected, 'still connected')
  t.equal((await host.call('request-room-state', { roomName: 'quiet' })).err, 'not in room')
  t.equal((await host.call('open-room', { extra: sfuExtra('quiet', { userid: 'host' }), maxPlayers: 4 })).err, null, 'the name is free again')
})

t.test('a room that closes because its last member left tells nobody', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server, { transports: ['websocket'] })
  await host.call('open-room', { extra: sfuExtra('alone', { userid: 'host' }), maxPlayers: 4 })
  await host.call('join-room', { extra: sfuExtra('alone', { userid: 'host' }) })
  t.equal((await host.call('leave-room', { roomName: 'alone' })).err, null)
  await settle()
  t.equal(server.app.netplay.rooms.get('alone'), undefined)
  t.equal(host.inbox.count('room-closed'), 0)
})
