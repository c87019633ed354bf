// Seats change under a client's feet: the data-message relay drops inputs
// that still name the sender's previous seat (or, for generation-1 clients,
// which never learn their seat, any other seat) without holding them against
// the sender, where it used to strike and cut the player off.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { io, type Socket } from 'socket.io-client'
import netplay from '../../index.ts'

async function server (t: Test, seatChangeGraceMs: number): Promise<string> {
  const app = Fastify()
  await app.register(netplay, { auth: false, signaling: { maxInvalidMessages: 10 }, datachannelGuard: { seatChangeGraceMs } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
}

function connect (t: Test, url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true })
  t.teardown(() => { socket.close() })
  return new Promise((resolve) => socket.on('connect', () => resolve(socket)))
}

const ack = (socket: Socket, event: string, data?: unknown): Promise<unknown[]> =>
  new Promise((resolve) => socket.emit(event, data, (...args: unknown[]) => resolve(args)))
const sync = (player: number, frame: number): unknown => ({ 'sync-control': [{ frame, connected_input: [player, 16, 0x7fff] }] })
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('upstream: after a guest leaves, the next one\'s inputs in flight with its old index are dropped, not struck', async (t) => {
  const url = await server(t, 500)
  const host = await connect(t, url)
  const first = await connect(t, url)
  const second = await connect(t, url)
  const extra = (userid: string): Record<string, unknown> => ({ domain: 'site', game_id: 1, room_name: 'r', player_name: userid, userid, sessionid: 'S' })
  t.same(await ack(host, 'open-room', { extra: extra('h'), maxPlayers: 4, password: '' }), [null, null])
  await ack(first, 'join-room', { extra: extra('g1'), password: null })
  const [, users] = await ack(second, 'join-room', { extra: extra('g2'), password: null }) as [unknown, Record<string, unknown>]
  t.same(Object.keys(users), ['h', 'g1', 'g2'], 'g2 is player 2 (its place in the users map)')
  const received: unknown[] = []
  host.on('data-message', (data: unknown) => received.push(data))
  t.same(await ack(second, 'data-message', sync(2, 1)), [null, null], 'player 2 while it is seat 2')

  first.emit('leave-room')
  first.disconnect()
  await pause(100)
  // The client learns its new index (1) from users-updated; until then a
  // gamepad keeps sending its old one, hundreds a second.
  const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await ack(second, 'data-message', sync(2, 10 + i)))[0]))
  t.same(new Set(answers), new Set(['stale_seat']), 'every in-flight input with the old index: stale_seat')
  t.ok(second.connected, 'not cut off (30 refusals, maxInvalidMessages 10)')
  t.same(await ack(second, 'data-message', sync(1, 50)), [null, null], 'its new index goes through')
  await pause(600)
  t.same(await ack(second, 'data-message', sync(2, 60)), ['wrong_seat'], 'after seatChangeGraceMs, the old index is a wrong seat again')
  await pause(100)
  t.same(received, [sync(2, 1), sync(1, 50)], 'only the inputs under the right seat reached the host')
})

t.test('generation 1: sync-control naming another player is dropped without a strike (it never learns its seat)', async (t) => {
  const url = await server(t, 500)
  const host = await connect(t, url)
  const guest = await connect(t, url)
  const extra = (userid: string): Record<string, unknown> => ({ room_name: 'g1room', player_name: userid, userid, player_slot: 0, input_mode: 'unorderedRelay', domain: 'site', game_id: 1 })
  t.same(await ack(host, 'open-room', { extra: extra('h'), maxPlayers: 2, password: null }), [null, null])
  const [err] = await ack(guest, 'join-room', { extra: extra('g'), password: null })
  t.equal(err, null)
  const received: unknown[] = []
  host.on('data-message', (data: unknown) => received.push(data))
  const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await ack(guest, 'data-message', sync(0, i)))[0]))
  t.same(new Set(answers), new Set(['wrong_seat']), 'refused: the host\'s own player')
  t.ok(guest.connected, 'not cut off')
  t.same(await ack(guest, 'data-message', sync(1, 40)), [null, null], 'its seat goes through')
  await pause(100)
  t.same(received, [sync(1, 40)])
})
