// Malformed payloads, unknown events and garbage frames from real clients:
// every one gets an error answer (never a crash), and no room changes.
import t from 'tap'
import { roomsSnapshot, startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, settle, wsClient, type IoClient } from '../helpers/netplay-clients.ts'

const extra = (roomName: string, userid: string, over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ room_name: roomName, userid, player_name: userid, netplay_mode: 0, room_phase: 'lobby', spectator_mode: 1, ...over })

/** A room with a host, a guest and a WebSocket guest; the invalid-message cut-off is out of the way here. */
async function populated (t: Parameters<typeof startNetplay>[0]): Promise<{ server: NetplayServer, host: IoClient, guest: IoClient }> {
  const server = await startNetplay(t, {
    signaling: { maxInvalidMessages: 10_000 },
    rateLimit: { limits: { signaling: { capacity: 10_000, refillPerSecond: 10_000 } } }
  })
  const host = await ioClient(server)
  await host.ack('open-room', { extra: extra('Target', 'host'), maxPlayers: 4, password: 'pw' })
  const guest = await ioClient(server, { transports: ['websocket'] })
  await guest.ack('join-room', { extra: extra('Target', 'guest'), password: 'pw' })
  const ws = await wsClient(server)
  await ws.request('join-room', { extra: extra('Target', 'ws'), password: 'pw' })
  await host.inbox.take('users-updated', (u) => Object.keys(u).length === 3)
  return { server, host, guest }
}

const huge = 'x'.repeat(60_000)

/** [event, payload] pairs that fail validation (payload `undefined` = no payload at all). */
const MALFORMED: Array<[string, unknown]> = [
  ['open-room', undefined],
  ['open-room', 'Target'],
  ['open-room', 42],
  ['open-room', [extra('Other', 'x')]],
  ['open-room', { extra: 'Target' }],
  ['open-room', { extra: null }],
  ['open-room', { extra: extra('Other', 'x'), maxPlayers: { n: 2 } }],
  ['open-room', { extra: extra('Other', 'x'), maxPlayers: '99999' }],
  ['open-room', { extra: extra('Other', 'x'), password: huge }],
  ['join-room', {}],
  ['join-room', { extra: extra('Target', 'x'), password: 1234 }],
  ['join-room', { extra: extra('Target', 'x'), password: huge }],
  ['leave-room', 'now'],
  ['leave-room', { roomName: 42 }],
  ['chat-message', {}],
  ['chat-message', { message: 42 }],
  ['chat-message', { message: huge }],
  ['webrtc-signal', { target: 42, offer: {} }],
  ['webrtc-signal', { target: huge, offer: {} }],
  ['webrtc-signal', { target: 'host', requestRenegotiate: 'yes' }],
  ['data-message', 'pause'],
  ['data-message', [1, 2, 3]],
  ['data-message', 7],
  ['update-player-slot', {}],
  ['update-player-slot', { playerSlot: '0' }],
  ['update-player-slot', { playerSlot: 1.5 }],
  ['toggle-ready', { ready: 'yes' }],
  ['start-game', { roomName: ['Target'] }],
  ['update-room-metadata', { metadata: 'big' }],
  ['join-info', { romHash: huge }],
  ['ready-at-frame-1', { frame: -1 }],
  ['request-room-state', { roomName: { $ne: null } }]
]

const UNKNOWN = ['made-up-event', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'users-updated', 'connect', '']

t.test('Socket.IO: malformed payloads and unknown events get error acks and change nothing', async (t) => {
  const { server, host, guest } = await populated(t)
  const outsider = await ioClient(server)
  const before = await roomsSnapshot(server)

  for (const sender of [guest, host, outsider]) {
    for (const [event, payload] of MALFORMED) {
      const answer = payload === undefined ? await sender.ack(event) : await sender.ack(event, payload)
      t.strictSame(answer, ['invalid payload'], `${event} ${JSON.stringify(payload)?.slice(0, 60)}`)
    }
    for (const event of UNKNOWN) {
      if (event === 'connect') continue // reserved: socket.io-client refuses to emit it
      t.strictSame(await sender.ack(event, { extra: extra('Target', 'x') }), ['unknown event'], `unknown event "${event}"`)
    }
  }
  // The outsider pokes at the room with valid shapes it has no right to.
  t.strictSame(await outsider.ack('join-room', { extra: extra('Target', 'mallory') }), ['bad password'])
  t.strictSame(await outsider.ack('join-room', { extra: extra('Target', 'host'), password: 'pw' }), ['userid in use'])
  t.strictSame(await outsider.ack('join-room', { extra: { ...extra('Nowhere', huge.slice(0, 5000)), player_name: huge.slice(0, 20_000) } }), ['no such room'], 'huge strings in extra')
  const polluting = JSON.parse('{"extra": {"__proto__": {"polluted": true}, "room_name": "Nowhere", "netplay_mode": 0}}')
  t.strictSame(await outsider.ack('join-room', polluting), ['no such room'])
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution')
  t.strictSame(await outsider.ack('webrtc-signal', { target: host.id, offer: {} }), ['not in room'])
  t.strictSame(await outsider.ack('data-message', { pause: true }), ['not in room'])
  t.strictSame(await outsider.ack('start-game', {}), ['not in room'])

  await settle()
  t.strictSame(await roomsSnapshot(server), before, 'rooms and /list unchanged')
  t.equal(host.inbox.count('data-message') + host.inbox.count('webrtc-signal'), 0, 'nothing was relayed')
  t.ok(host.socket.connected && guest.socket.connected && outsider.socket.connected, 'nobody was cut off below the limits')
  t.equal(server.app.netplay.signaling.connectionCount, 4)
})

t.test('WebSocket: garbage frames and malformed payloads change nothing', async (t) => {
  const { server, host } = await populated(t)
  const attacker = await wsClient(server)
  await attacker.request('join-room', { extra: extra('Target', 'attacker'), password: 'pw' })
  await host.inbox.take('users-updated', (u) => 'attacker' in u)
  const before = await roomsSnapshot(server)

  for (const [event, payload] of MALFORMED) {
    t.match(await attacker.request(event, payload), { ok: false, error: { code: 'FST_NETPLAY_SIGNALING_INVALID_PAYLOAD', message: 'invalid payload' } }, event)
  }
  for (const event of UNKNOWN) {
    t.match(await attacker.request(event, {}), { ok: false, error: { code: 'FST_NETPLAY_SIGNALING_UNKNOWN_EVENT' } }, `unknown "${event}"`)
  }
  // Frames that are not the protocol at all: no id to answer, so no reply, and no harm.
  for (const raw of ['not json', '{"event":', 'null', '[]', '42', '"join-room"', '{"id":{},"event":"no-such-event"}', '{"event":["leave-room"]}']) attacker.send(raw)
  attacker.send(Buffer.from(JSON.stringify({ id: 99, event: 'leave-room', data: {} })))
  t.match(await attacker.request('request-room-state', {}), { ok: true }, 'still served after garbage; binary frames are ignored')

  await settle()
  t.strictSame(await roomsSnapshot(server), before, 'rooms and /list unchanged')
  t.equal(attacker.socket.readyState, attacker.socket.OPEN)
})

t.test('an event guard that throws answers internal error and leaves the connection up', async (t) => {
  // Guards are other plugins' code (datachannel-guard, a host's own): one
  // that throws must not reach the transport any more than a handler may.
  const server = await startNetplay(t, {
    beforeListen: async (app) => {
      app.netplay.signaling.guard('chat-message', (payload) => {
        if ((payload as { message?: string }).message === 'boom') throw new Error('guard bug')
        return null
      })
    }
  })
  const host = await ioClient(server)
  await host.ack('open-room', { extra: { room_name: 'Guarded', userid: 'host', netplay_mode: 0 } })
  t.strictSame(await host.ack('chat-message', { message: 'boom' }), ['internal error'], 'an error ack, not a crash')
  t.equal(host.socket.connected, true)
  const [err] = await host.ack('chat-message', { message: 'fine' })
  t.equal(err, null, 'the next message goes through')
})
