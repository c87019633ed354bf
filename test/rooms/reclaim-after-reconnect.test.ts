// EmulatorJS-SFU generation 2 reconnects its socket by itself after a network
// blip but never joins its room again: its seat ran out with the grace (the
// host's: the whole game) while the player was still there. A signed-in
// player's new connection now gets back the seat it holds in its grace.
import t from 'tap'
import { io } from 'socket.io-client'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNetplay } from '../helpers/netplay-server.ts'
import { asIoClient } from '../helpers/netplay-clients.ts'
import { hostRoom, sfuExtra, withTokens, type Users } from '../helpers/family-b.ts'

t.test('a signed-in player whose socket reconnects on its own is given its seat back, without joining again', async (t) => {
  const server = await startNetplay(t, withTokens({ rooms: { reconnectGraceMs: 1500 } }))
  const host = await hostRoom(server, 'hana', 'Blip Room')
  // The real client: Socket.IO's own reconnection on, the token as handshake auth.
  const token = await server.token('gus')
  const socket = io(server.url, { transports: ['websocket'], auth: { token }, reconnectionDelay: 100, reconnectionDelayMax: 200, forceNew: true })
  const guest = asIoClient(socket, () => { socket.disconnect() })
  server.track(guest)
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const [err] = await guest.ack('join-room', { extra: sfuExtra('Blip Room'), password: null })
  t.equal(err, null)
  const gusId = (await server.app.netplay.auth.verify(token)).userid

  socket.io.engine.close() // the network drops; the client reconnects by itself
  await host.client.inbox.take('users-updated', (u: Users) => u[gusId]?.reconnecting === true)
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const back = await host.client.inbox.take('users-updated', (u: Users) => u[gusId] !== undefined && u[gusId]?.reconnecting === undefined)
  t.equal(back[gusId]?.socketId, socket.id, 'the host sees the player back, on its new socket')
  const [stateErr, state] = await guest.ack('request-room-state', { roomName: 'Blip Room' }) as [unknown, { users: Users }]
  t.equal(stateErr, null, 'the new socket is in the room without a join-room')
  t.equal(state.users[gusId]?.player_slot, 1, 'same seat')
  await sleep(2000)
  t.ok(server.app.netplay.rooms.get('Blip Room')?.members.has(gusId), 'still seated after the grace would have run out')
  t.same(await guest.ack('netplay-host-paused', {}), ['not owner'], 'and acting as itself')
})

t.test('without auth nothing is given back: a userid proves nothing, the client must join again', async (t) => {
  const server = await startNetplay(t, { rooms: { reconnectGraceMs: 1500 } })
  const hostSocket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false })
  const host = asIoClient(hostSocket, () => { hostSocket.disconnect() })
  server.track(host)
  await new Promise<void>((resolve) => hostSocket.once('connect', () => resolve()))
  await host.ack('open-room', { extra: sfuExtra('Open Room', { userid: 'h' }), maxPlayers: 4, password: null })
  const socket = io(server.url, { transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200, forceNew: true })
  const guest = asIoClient(socket, () => { socket.disconnect() })
  server.track(guest)
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  await guest.ack('join-room', { extra: sfuExtra('Open Room', { userid: 'g' }), password: null })
  socket.io.engine.close()
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  t.same(await guest.ack('request-room-state', { roomName: 'Open Room' }), ['not in room'])
})
