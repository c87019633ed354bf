// Placement: a node over capacity opens a room anyway while another live
// node could take it (capacity is soft: no client follows a redirect from
// open-room; the EmulatorJS-SFU generation-2 client reads any answer but an
// error as "created" and sat in a phantom room), and says "server full"
// when no live node can take it. Joins are still redirected (contract).
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { connectTo, hostRoom, joinRoom, listOf, rommSigner, startNode, waitFor } from '../helpers/cluster.ts'
import { ioClient, settle, sfuExtra } from '../helpers/netplay-clients.ts'
import { startNetplay } from '../helpers/netplay-server.ts'

t.test('a full node opens the room itself while another node is live, and answers "server full" when there is none', async (t) => {
  const redis = await startRedis(t)
  const [small, roomy] = await Promise.all([
    startNode(t, { redis: redis.url, nodeId: 'small', args: ['--capacity-rooms', '1'] }),
    startNode(t, { redis: redis.url, nodeId: 'roomy' })
  ])
  if (small === undefined || roomy === undefined) throw new Error('two nodes expected')
  const romm = rommSigner()
  const lister = romm.read('lister')

  const alice = await connectTo(t, small.url, { token: romm.read('alice') })
  await hostRoom(alice, 'First Room')
  // The small node must have seen the roomy one in a heartbeat: a room of the roomy node in its list proves it.
  const dave = await connectTo(t, roomy.url, { token: romm.read('dave') })
  await hostRoom(dave, 'Roomy Lobby')
  await waitFor('the small node to see the roomy one', async () => 'Roomy Lobby' in await listOf(small, lister), 2000)

  // Over capacity, with a live node that could take it: opened here, no redirect.
  const bob = await connectTo(t, small.url, { token: romm.read('bob') })
  const extra = sfuExtra('Second Room')
  t.strictSame(await bob.ack('open-room', { extra, maxPlayers: 4, password: null }), [null, null], 'open-room succeeds on the full node')
  await bob.inbox.take('users-updated')
  await settle()
  t.equal(bob.inbox.count('room-redirect'), 0, 'no room-redirect event')
  const [joinErr, state] = await bob.ack('join-room', { extra, password: null }) as [unknown, { users: Record<string, unknown> }]
  t.equal(joinErr, null, 'the host\'s own join finds its room')
  t.equal(Object.keys(state.users).length, 1)
  t.equal((await listOf(small, lister))['Second Room']?.current, 1, 'listed on the node that has it')
  await waitFor('the roomy node to list it too', async () => (await listOf(roomy, lister))['Second Room']?.current === 1, 2000)
  const carolOnRoomy = await connectTo(t, roomy.url, { token: romm.read('carol') })
  t.match(await joinRoom(carolOnRoomy, 'Second Room'), [null, { redirect: small.url, room_name: 'Second Room', nodeId: 'small' }], 'a join elsewhere is still redirected to it')

  // The roomy node leaves (SIGTERM: at once); the full node has nowhere to send rooms.
  t.strictSame(await roomy.stop(), { code: 0, signal: null })
  await waitFor('the small node to drop the roomy node', async () => !('Roomy Lobby' in await listOf(small, lister)), 2000)
  const erin = await connectTo(t, small.url, { token: romm.read('erin') })
  t.strictSame(await erin.ack('open-room', { extra: sfuExtra('Third Room'), maxPlayers: 4, password: null }), ['server full'])
  t.equal(erin.inbox.count('room-redirect'), 0, 'no redirect to a node that is gone')

  // Joining the rooms it has still works: only new rooms are refused.
  t.equal((await joinRoom(erin, 'First Room'))[0], null)
})

t.test('a draining node opens no new room, even one it would open itself', async (t) => {
  const redis = await startRedis(t)
  const server = await startNetplay(t, { redis: redis.url, rooms: { nodeId: 'leaving' }, cluster: { publicUrl: 'http://127.0.0.1:9' } })
  // Another live node that could take rooms, as in a rolling deploy.
  const other = await startNetplay(t, { redis: redis.url, rooms: { nodeId: 'staying' }, cluster: { publicUrl: 'http://127.0.0.1:10' } })
  const elsewhere = await ioClient(other)
  await elsewhere.ack('open-room', { extra: sfuExtra('Staying Room'), maxPlayers: 4, password: null })
  for (let i = 0; i < 100 && !('Staying Room' in await (await fetch(`${server.url}/list`)).json()); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const first = await ioClient(server)
  t.strictSame(await first.ack('open-room', { extra: sfuExtra('Before The Drain'), maxPlayers: 4, password: null }), [null, null])
  server.app.netplay.cluster?.drain()
  const late = await ioClient(server)
  t.strictSame(await late.ack('open-room', { extra: sfuExtra('During The Drain'), maxPlayers: 4, password: null }), ['server full'], 'it is going away')
  t.equal((await first.ack('join-room', { extra: sfuExtra('Before The Drain'), password: null }))[0], null, 'its rooms still serve')
})
