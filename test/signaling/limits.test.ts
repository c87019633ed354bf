// Size caps, rate limits and the abuse cut-offs, from real clients: an error
// answer below the limits, a closed connection past them, never a crash and
// never a changed room.
import t from 'tap'
import { roomsSnapshot, startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, settle, wsClient, type IoClient } from '../helpers/netplay-clients.ts'

const extra = (roomName: string, userid: string): Record<string, unknown> => ({ room_name: roomName, userid, player_name: userid, netplay_mode: 0 })

async function room (server: NetplayServer): Promise<{ host: IoClient, guest: IoClient }> {
  const host = await ioClient(server)
  await host.ack('open-room', { extra: extra('Limits', 'host') })
  const guest = await ioClient(server, { transports: ['websocket'] })
  await guest.ack('join-room', { extra: extra('Limits', 'guest') })
  await host.inbox.take('users-updated', (u) => 'guest' in u)
  return { host, guest }
}

/** Emits `n` messages at once and collects their acks. */
async function burst (client: IoClient, n: number, event: string, payload: (i: number) => unknown): Promise<unknown[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => client.ack(event, payload(i)).then(([err]) => err)))
}

t.test('messages over maxMessageBytes close the connection; relayed ones over maxDataMessageBytes are refused', async (t) => {
  const server = await startNetplay(t, { signaling: { maxMessageBytes: 8192 }, rooms: { maxDataMessageBytes: 1024 } })
  const { host, guest } = await room(server)
  const before = await roomsSnapshot(server)

  t.strictSame(await guest.ack('data-message', { blob: 'd'.repeat(2000) }), ['message too large'], 'a data-message over maxDataMessageBytes')
  t.strictSame(await guest.ack('webrtc-signal', { target: host.id, offer: { sdp: 's'.repeat(2000) } }), ['message too large'], 'a webrtc-signal too')
  t.strictSame(await guest.ack('data-message', { blob: 'd'.repeat(900) }), [null, null], 'under the cap it is relayed')
  t.equal((await host.inbox.take('data-message')).blob.length, 900)
  await settle()
  t.equal(host.inbox.count('data-message') + host.inbox.count('webrtc-signal'), 1, 'refused messages reached nobody')

  for (const transports of [['polling' as const], ['websocket' as const], undefined]) {
    const outsider = await ioClient(server, transports === undefined ? {} : { transports })
    outsider.socket.emit('request-room-state', { roomName: 'r'.repeat(10_000) })
    const reason = await outsider.inbox.take<string>('disconnect')
    t.match(reason, /^transport (close|error)$/, `Socket.IO (${transports?.join() ?? 'polling, then websocket'}): closed (${reason})`)
  }
  const ws = await wsClient(server)
  ws.send(JSON.stringify({ id: 1, event: 'request-room-state', data: { roomName: 'r'.repeat(10_000) } }))
  t.equal((await ws.closed).code, 1009, 'WebSocket: closed with 1009 (message too big)')

  t.strictSame(await roomsSnapshot(server), before, 'no room changed')
  t.ok(host.socket.connected && guest.socket.connected)
})

t.test('a flood past the signaling burst is refused with "rate limited", then served again', async (t) => {
  // Slow refills, so a loaded machine sending the burst slowly still overruns it.
  const server = await startNetplay(t, { rateLimit: { limits: { signaling: { capacity: 20, refillPerSecond: 4 }, data: { capacity: 60, refillPerSecond: 4 } } } })
  const { host, guest } = await room(server)
  const before = await roomsSnapshot(server)
  const { capacity, refillPerSecond } = server.app.netplay.rateLimit.limit('signaling')

  const answers = await burst(guest, capacity + 15, 'request-room-state', () => ({ roomName: 'Limits' }))
  const limited = answers.filter((a) => a === 'rate limited').length
  const answered = answers.filter((a) => a === null).length
  t.ok(limited >= 5, `refused past the burst (${limited} of ${answers.length})`)
  t.ok(answered <= capacity, `no more than the burst served (${answered})`)
  t.equal(answered + limited, answers.length, 'every message answered one way or the other')
  t.ok(guest.socket.connected, 'below abuse.maxDrops the connection stays')

  // data-message has its own, larger burst (the `data` limit): what is accepted is relayed, exactly once.
  const relay = server.app.netplay.rateLimit.limit('data')
  const relayed = await burst(host, relay.capacity + 15, 'data-message', (i) => ({ seq: i }))
  const accepted = relayed.filter((a) => a === null).length
  t.ok(accepted < relayed.length, `the relay burst is enforced (${accepted} of ${relayed.length})`)
  await settle(100)
  t.equal(guest.inbox.count('data-message'), accepted, 'every accepted message relayed, no refused one')

  await settle(Math.ceil(2000 / refillPerSecond))
  t.equal((await guest.ack('request-room-state', {}))[0], null, 'served again after the refill')
  t.strictSame(await roomsSnapshot(server), before, 'the floods changed no room')
})

t.test('past abuse.maxDrops or maxInvalidMessages the connection is closed', async (t) => {
  const server = await startNetplay(t, { signaling: { maxInvalidMessages: 5 }, rateLimit: { abuse: { maxDrops: 8 } } })
  const { host } = await room(server)
  const before = await roomsSnapshot(server)
  const { capacity } = server.app.netplay.rateLimit.limit('signaling')

  // A burst passes, one more burst is dropped without a strike (real clients
  // overshoot), and what goes beyond that strikes: maxDrops + 1 closes.
  const flooder = await ioClient(server, { transports: ['websocket'] })
  for (let i = 0; i < 2 * capacity + 20; i++) flooder.socket.emit('request-room-state', {})
  t.strictSame(await flooder.inbox.take('netplay-error'), { error: 'FST_NETPLAY_SIGNALING_CLOSED', message: 'rate limit exceeded' })
  t.equal(await flooder.inbox.take('disconnect'), 'io server disconnect', 'Socket.IO flooder cut off')

  const invalid = await ioClient(server)
  const answers: unknown[] = []
  for (let i = 0; i < 5; i++) answers.push((await invalid.ack('update-player-slot', { playerSlot: 'x' }))[0])
  t.strictSame(answers, Array(5).fill('invalid payload'), 'up to the limit: error acks')
  t.ok(invalid.socket.connected)
  invalid.socket.emit('update-player-slot', { playerSlot: 'x' })
  t.strictSame(await invalid.inbox.take('netplay-error'), { error: 'FST_NETPLAY_SIGNALING_CLOSED', message: 'too many invalid messages' })
  t.equal(await invalid.inbox.take('disconnect'), 'io server disconnect', 'one more closes it')

  const wsFlooder = await wsClient(server)
  for (let i = 0; i < 2 * capacity + 20; i++) wsFlooder.send(JSON.stringify({ id: i, event: 'request-room-state', data: {} }))
  t.match(await wsFlooder.closed, { code: 1008, reason: 'rate limit exceeded' })
  t.match(await wsFlooder.inbox.take('netplay-error'), { error: 'FST_NETPLAY_SIGNALING_CLOSED' })
  const wsInvalid = await wsClient(server)
  for (let i = 0; i < 6; i++) wsInvalid.send('not json')
  t.match(await wsInvalid.closed, { code: 1008, reason: 'too many invalid messages' })

  t.strictSame(await roomsSnapshot(server), before, 'no room changed')
  t.ok(host.socket.connected, 'the room members were not touched')
  const fresh = await ioClient(server)
  t.equal((await fresh.ack('join-room', { extra: extra('Limits', 'fresh') }))[0], null, 'the server still serves')
})

t.test('over a limit: "rate limited" acks and no strike up to the abuse ceiling; the connection stays', async (t) => {
  const server = await startNetplay(t, { rateLimit: { abuse: { maxDrops: 1 } } })
  const { capacity } = server.app.netplay.rateLimit.limit('signaling')
  const client = await ioClient(server, { transports: ['websocket'] })
  const answers = await Promise.all(Array.from({ length: 2 * capacity }, async () => (await client.ack('request-room-state', {}))[0]))
  t.equal(answers.filter((a) => a === 'not in room').length, capacity, 'a burst served')
  t.equal(answers.filter((a) => a === 'rate limited').length, capacity, 'one more burst refused')
  t.ok(client.socket.connected, 'not cut off')
  t.same(server.app.netplay.rateLimit.stats().strikes, {}, 'no strike')
})

t.test('an event the server does not serve is answered, not held against the client (sfu-* without the SFU plugin)', async (t) => {
  // EmulatorJS-SFU asks sfu-available on every setup retry and polls
  // sfu-get-producers every 2 s: a server without the SFU must not count
  // those as invalid messages and cut it off (ten of them used to).
  const server = await startNetplay(t, { signaling: { maxInvalidMessages: 2 } })
  const client = await ioClient(server)
  for (let i = 0; i < 12; i++) {
    t.equal((await client.ack(i % 2 === 0 ? 'sfu-available' : 'sfu-get-producers', {}))[0], 'unknown event')
  }
  t.ok(client.socket.connected, 'still connected after 12')
  t.same(server.app.netplay.rateLimit.stats().strikes, {}, 'no strike')
})

t.test('invalid messages spread over a long session are forgiven (abuse.forgiveMs); a burst is not', async (t) => {
  const server = await startNetplay(t, { signaling: { maxInvalidMessages: 3 }, rateLimit: { abuse: { forgiveMs: 100 } } })
  const client = await ioClient(server)
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 3; i++) t.equal((await client.ack('update-player-slot', { playerSlot: 'x' }))[0], 'invalid payload')
    // Three slips forgiven before the next three: nine in all, three over the limit.
    await new Promise((resolve) => setTimeout(resolve, 350))
  }
  t.ok(client.socket.connected, 'nine invalid messages in three spaced rounds: still connected')
  for (let i = 0; i < 4; i++) client.socket.emit('update-player-slot', { playerSlot: 'x' })
  t.strictSame(await client.inbox.take('netplay-error'), { error: 'FST_NETPLAY_SIGNALING_CLOSED', message: 'too many invalid messages' })
  t.equal(await client.inbox.take('disconnect'), 'io server disconnect', 'four at once: closed')
})
