// app.close() with live clients: it finishes promptly and leaves no handle
// open (no socket, no timer), whatever state the clients are in.
import t from 'tap'
import { activeHandles, handlesOpenedSince, startNetplay, TOKEN_AUTH, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient, wsClient } from '../helpers/netplay-clients.ts'

/**
 * A Socket.IO client over long-polling that went away without a word: it
 * handshakes and joins the namespace by hand, then never polls again (as a
 * browser tab that lost its network does).
 */
async function departedPollingClient (server: NetplayServer, token?: string): Promise<string> {
  const base = `${server.url}/socket.io/?EIO=4&transport=polling`
  const open = await (await fetch(base)).text()
  const { sid } = JSON.parse(open.slice(1)) as { sid: string }
  const connect = token === undefined ? '40' : `40${JSON.stringify({ token })}`
  await (await fetch(`${base}&sid=${sid}`, { method: 'POST', body: connect })).text()
  await (await fetch(`${base}&sid=${sid}`)).text() // reads the namespace connect ack; no further poll
  return sid
}

t.test('app.close() with Socket.IO and WebSocket clients in rooms finishes promptly and leaves nothing open', async (t) => {
  const before = activeHandles()
  const server = await startNetplay(t, { auth: TOKEN_AUTH, rooms: { reconnectGraceMs: 60_000 } })
  const extra = (userid: string): Record<string, unknown> => ({ room_name: 'Closing', userid, netplay_mode: 0 })

  const host = await ioClient(server, { token: await server.token('host') })
  await host.ack('open-room', { extra: extra('host'), maxPlayers: 8 })
  const polling = await ioClient(server, { token: await server.token('polling'), transports: ['polling'] })
  await polling.ack('join-room', { extra: extra('polling') })
  const websocket = await ioClient(server, { token: await server.token('websocket'), transports: ['websocket'] })
  await websocket.ack('join-room', { extra: extra('websocket') })
  const ws = await wsClient(server, { token: await server.token('ws') })
  await ws.request('join-room', { extra: extra('ws') })
  // A seat held in its reconnect grace (a grace timer is pending).
  const dropped = await ioClient(server, { token: await server.token('dropped'), transports: ['websocket'] })
  await dropped.ack('join-room', { extra: extra('dropped') })
  dropped.socket.io.engine.close()
  await host.inbox.take('users-updated', (u) => Object.values(u).some((entry: any) => entry.reconnecting === true))
  // A polling client in no room: its long-poll GET is pending when the server closes.
  const idle = await ioClient(server, { token: await server.token('idle'), transports: ['polling'] })
  // A polling client that went away without the server noticing, and one that never joined a namespace.
  await departedPollingClient(server, await server.token('departed'))
  await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`).then(async (r) => await r.text())
  t.equal(server.app.netplay.signaling.connectionCount, 6)

  const started = Date.now()
  await server.app.close()
  const took = Date.now() - started
  t.ok(took < 2000, `app.close() took ${took} ms`)

  t.match(await host.inbox.take('disconnect'), /server disconnect|transport close/, 'Socket.IO clients are disconnected')
  t.match(await polling.inbox.take('disconnect'), /server disconnect|transport (close|error)/)
  t.match(await websocket.inbox.take('disconnect'), /server disconnect|transport close/)
  // Its poll in flight carries the drain notice (ops); the disconnect packet after it may find no poll to ride on.
  t.match(await idle.inbox.take('server-shutdown'), { message: String }, 'a client with a poll in flight is told')
  t.match(await idle.inbox.take('disconnect'), /io server disconnect|transport (close|error)/)
  for (const client of [host, polling, websocket]) t.equal(client.inbox.count('server-shutdown'), 1, 'every Socket.IO client got the drain notice')
  t.match(ws.inbox.last('server-shutdown'), { message: String }, 'and the WebSocket client')
  t.ok((await ws.closed).code > 0, 'the WebSocket client is closed')
  t.equal(server.app.netplay.signaling.connectionCount, 0)
  t.equal([...server.app.netplay.rooms.all()].length, 0, 'rooms are closed')

  t.strictSame(await handlesOpenedSince(before), {}, 'no socket, server or timer left behind')
})
