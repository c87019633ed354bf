// The guard in front of the Socket.IO data-message relay of P2P rooms, with
// real clients: known shapes pass, broken or owner-only ones are refused,
// counted and never reach the other players.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { io, type Socket } from 'socket.io-client'
import netplay from '../../index.ts'

async function server (t: Test): Promise<{ url: string, app: ReturnType<typeof Fastify> }> {
  const app = Fastify()
  await app.register(netplay, { auth: false, datachannelGuard: { relay: { allowUnknown: false } } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return { url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, app }
}

function connect (t: Test, url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true })
  t.teardown(() => { socket.close() })
  return new Promise((resolve) => socket.on('connect', () => resolve(socket)))
}

const ack = (socket: Socket, event: string, data: unknown): Promise<unknown[]> =>
  new Promise((resolve) => socket.emit(event, data, (...args: unknown[]) => resolve(args)))

t.test('the data-message relay passes known shapes and refuses the rest', async (t) => {
  const { url, app } = await server(t)
  const host = await connect(t, url)
  const guest = await connect(t, url)
  t.same(await ack(host, 'open-room', { extra: { sessionid: 's1', room_name: 'r', userid: 'h' }, maxPlayers: 4 }), [null, null])
  await ack(guest, 'join-room', { extra: { sessionid: 's1', userid: 'g' } })
  const received: unknown[] = []
  host.on('data-message', (data: unknown) => received.push(data))

  t.same(await ack(guest, 'data-message', { 'chat-message': { text: 'hi' } }), [null, null], 'a chat message is relayed')
  t.same(await ack(guest, 'data-message', { pause: 'yes' }), ['malformed'], 'pause must be a boolean')
  t.same(await ack(guest, 'data-message', { type: 'host-left' }), ['not_owner'], 'only the owner says the host left')
  t.same(await ack(guest, 'data-message', { whatever: 1 }), ['unknown_shape'], 'unknown shapes refused when allowUnknown is off')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.same(received, [{ 'chat-message': { text: 'hi', player_name: 'Player', from: 'g' } }], 'only the valid message reached the host')
  t.same(app.netplay.datachannelGuard.stats().rejects, { 'relay:malformed': 1, 'relay:not_owner': 1, 'relay:unknown_shape': 1 })
  const metrics = await app.inject('/metrics')
  t.match(metrics.body, /netplay_input_rejects_total\{reason="relay:not_owner"\} 1/)
})

t.test('refused relays count as invalid messages and cut the sender off', async (t) => {
  const { url } = await server(t)
  const host = await connect(t, url)
  const guest = await connect(t, url)
  await ack(host, 'open-room', { extra: { sessionid: 's2', room_name: 'r', userid: 'h' }, maxPlayers: 4 })
  await ack(guest, 'join-room', { extra: { sessionid: 's2', userid: 'g' } })
  const closed = new Promise((resolve) => guest.on('disconnect', resolve))
  for (let i = 0; i < 11; i++) guest.emit('data-message', { pause: 1 })
  t.equal(await closed, 'io server disconnect', 'maxInvalidMessages (10) refused relays close the connection')
})
