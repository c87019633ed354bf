// A host with WebSockets of its own beside netplay: upgrades netplay does not
// serve are left to the host's listener instead of being answered 404, while
// netplay's /ws and Socket.IO keep working on the same server.
import t from 'tap'
import { WebSocket, WebSocketServer } from 'ws'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient, wsClient, wsUpgradeStatus } from '../helpers/netplay-clients.ts'

t.test('the host\'s own upgrade listener gets the upgrades netplay does not serve', async (t) => {
  const hostSockets = new WebSocketServer({ noServer: true })
  t.teardown(() => hostSockets.close())
  const server = await startNetplay(t, {
    beforeListen: async (app) => {
      // The ws documentation's pattern for several WebSocket servers on one HTTP server.
      app.server.on('upgrade', (request, socket, head) => {
        if (request.url === '/host/chat') hostSockets.handleUpgrade(request, socket, head, (ws) => ws.send('hello from the host'))
      })
    }
  })
  const hostClient = new WebSocket(`${server.wsUrl}/host/chat`)
  t.teardown(() => hostClient.terminate())
  const greeting = await new Promise<string>((resolve, reject) => {
    hostClient.once('message', (data: Buffer) => resolve(data.toString()))
    hostClient.once('error', reject)
    hostClient.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)))
  })
  t.equal(greeting, 'hello from the host', 'the host\'s WebSocket opened and spoke')

  const ws = await wsClient(server)
  t.match(await ws.request('open-room', { extra: { room_name: 'Beside the host', userid: 'w', netplay_mode: 0 } }), { ok: true }, 'netplay\'s /ws still works')
  const io = await ioClient(server, { transports: ['websocket'] })
  t.equal((await io.ack('join-room', { extra: { room_name: 'Beside the host', userid: 'i', netplay_mode: 0 } }))[0], null, 'and Socket.IO over websocket')
})

t.test('without a host listener, an unknown upgrade path is answered 404', async (t) => {
  const server = await startNetplay(t)
  t.equal((await wsUpgradeStatus(server, '/host/chat')).status, 404)
})
