// What an open connection keeps: neither transport holds on to the HTTP
// requests it was opened with (headers, raw headers, parser state, the socket
// a polling request came on), which would cost every idle player 1-2 KB for
// as long as it stays. Checked the way it matters to a host: those requests
// become garbage while the connections stay open, and the connections keep
// working. Also: a Socket.IO client joining a second namespace on the same
// connection keeps the identity it proved on the first.
import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { Manager } from 'socket.io-client'
import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { asIoClient, connected, ioClient, sfuExtra, upgraded, wsClient } from '../helpers/netplay-clients.ts'
import { startNetplay, TOKEN_AUTH } from '../helpers/netplay-server.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Full collections until every tracked request is gone (or 10 tries): WeakRefs are only cleared between jobs. */
async function collected (requests: Array<{ url: string, ref: WeakRef<IncomingMessage> }>): Promise<string[]> {
  for (let i = 0; i < 10; i++) {
    await sleep(20)
    gc()
    if (requests.every((r) => r.ref.deref() === undefined)) break
  }
  return requests.filter((r) => r.ref.deref() !== undefined).map((r) => r.url.replace(/sid=[^&]+/, 'sid=…').replace(/([?&])t=[^&]+/, '$1t=…'))
}

t.test('open connections let their opening requests go, and keep working', async (t) => {
  const requests: Array<{ url: string, ref: WeakRef<IncomingMessage> }> = []
  const track = (request: IncomingMessage): void => {
    if (request.url?.includes('/socket.io/') === true || request.url?.startsWith('/ws') === true) requests.push({ url: request.url, ref: new WeakRef(request) })
  }
  const server = await startNetplay(t, {
    beforeListen: async (app) => {
      app.server.prependListener('request', track)
      app.server.prependListener('upgrade', track)
    }
  })
  const polling = await ioClient(server, { headers: { 'x-client': 'polling' } }) // polling, then upgraded
  await upgraded(polling)
  const direct = await ioClient(server, { transports: ['websocket'], headers: { 'x-client': 'direct' } })
  const ws = await wsClient(server)
  t.equal((await polling.ack('open-room', { extra: sfuExtra('Kept', { player_name: 'host' }) }))[0], null)
  t.equal((await direct.ack('join-room', { extra: sfuExtra('Kept', { player_slot: 1 }) }))[0], null)
  t.match(await ws.request('join-room', { extra: sfuExtra('Kept', { player_slot: 2 }) }), { ok: true })
  t.ok(requests.some((r) => r.url.includes('transport=polling')) && requests.some((r) => r.url.includes('transport=websocket')) && requests.some((r) => r.url.startsWith('/ws')),
    'the polling handshake, both Socket.IO upgrades and the /ws upgrade were seen')

  t.strictSame(await collected(requests), [], 'no opening request is still reachable')

  // Still connected and working, and the handshake a host may read is intact.
  const io = server.app.netplay.signaling.io
  t.strictSame([...(io?.of('/').sockets.values() ?? [])].map((s) => s.handshake.headers['x-client']).sort(), ['direct', 'polling'], 'socket.handshake keeps the headers')
  t.equal((await direct.ack('chat-message', { message: 'still here', roomName: 'Kept' }))[0], null)
  const heard = await ws.inbox.take('chat-message', (m: { message: string }) => m.message === 'still here')
  t.equal(heard.message, 'still here', 'a WebSocket client hears a Socket.IO client after the collection')
  t.match(await ws.request('request-room-state', { roomName: 'Kept' }), { ok: true })
  t.equal(server.app.netplay.signaling.connectionCount, 3, 'every connection is still open')
})

t.test('a second namespace on the same Socket.IO connection keeps the proven identity', async (t) => {
  const server = await startNetplay(t, { prefix: '/netplay', auth: TOKEN_AUTH })
  const token = await server.token('dana', 'Dana')
  // One engine.io connection (one Manager), two namespaces; the token travels
  // in a header, so the second namespace has no token of its own to show.
  const manager = new Manager(server.url, { path: '/socket.io', transports: ['websocket'], reconnection: false, extraHeaders: { authorization: `Bearer ${token}` } })
  const root = asIoClient(manager.socket('/'), () => { manager.engine?.close() })
  server.track(root)
  await connected(root)
  const prefixed = asIoClient(manager.socket('/netplay'), () => {})
  await connected(prefixed)
  t.equal(root.socket.io, prefixed.socket.io, 'both namespaces share one connection')

  t.equal((await prefixed.ack('open-room', { extra: sfuExtra('Two Doors', { player_name: 'claimed' }) }))[0], null, 'the second namespace is authenticated')
  const dana = await server.app.netplay.auth.verify(token)
  const users = await prefixed.inbox.take<Record<string, { netplay_username: string }>>('users-updated')
  t.strictSame(Object.keys(users), [dana.userid], 'as the identity the token proved')
  t.equal(users[dana.userid]?.netplay_username, 'Dana', 'with the token\'s name, not the client\'s')

  // Another connection without a token is still refused.
  const stranger = await ioClient(server, { namespace: '/netplay', transports: ['websocket'], wait: false })
  const failed = await stranger.inbox.take<Error>('connect_error')
  t.match(failed.message, /unauthorized/i)
})
