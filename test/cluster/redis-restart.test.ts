// Redis goes away in the middle of a game and comes back empty on the same
// port. Games are in memory, so play goes on; readiness says why the node
// should get no new traffic; when Redis returns the registry is rebuilt
// from the nodes' own state.
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { HEARTBEAT_MS, LEASE_MS, connectTo, get, hostRoom, joinRoom, listOf, rommSigner, startNode, waitFor } from '../helpers/cluster.ts'

t.test('Redis down, then back on the same port: play continues, /readyz flips and recovers, the registry is rebuilt', async (t) => {
  const redis = await startRedis(t)
  const [node1, node2] = await Promise.all(['node-1', 'node-2'].map((nodeId) => startNode(t, { redis: redis.url, nodeId })))
  if (node1 === undefined || node2 === undefined) throw new Error('two nodes expected')
  const romm = rommSigner()
  const lister = romm.read('lister')

  const alice = await connectTo(t, node1.url, { token: romm.read('alice') })
  await hostRoom(alice, 'Before The Outage')
  const bob = await connectTo(t, node1.url, { token: romm.read('bob') })
  t.equal((await joinRoom(bob, 'Before The Outage'))[0], null)
  await waitFor('node 2 to list the room', async () => 'Before The Outage' in await listOf(node2, lister), 2000)
  t.equal((await get(node1.url, '/readyz')).status, 200)

  await redis.stop()
  const downAt = Date.now()

  // Play goes on: the relay between two players of node 1 never touches Redis.
  t.strictSame(await bob.ack('data-message', { 'sync-control': [{ frame: 300, connected_input: [1, 0, 1] }] }), [null, null])
  t.strictSame(await alice.inbox.take('data-message'), { 'sync-control': [{ frame: 300, connected_input: [1, 0, 1] }] }, 'guest -> host while Redis is down')
  t.strictSame(await alice.ack('data-message', { pause: true }), [null, null])
  t.strictSame(await bob.inbox.take('data-message'), { pause: true }, 'host -> guest while Redis is down')
  t.strictSame(await alice.ack('chat-message', { message: 'is the server ok?' }), [null, null])
  t.match(await bob.inbox.take('chat-message'), { message: 'is the server ok?' }, 'chat while Redis is down')

  const notReady = await waitFor('node 1 to report not ready', async () => {
    const reply = await get(node1.url, '/readyz')
    return reply.status === 503 ? reply : undefined
  }, 3000)
  t.equal(notReady.body.ready, false)
  t.match(notReady.body.reasons.redis, /redis/i, 'the reason names redis')
  t.comment(`/readyz 503 ${Date.now() - downAt} ms after Redis went down: ${JSON.stringify(notReady.body.reasons)}`)
  t.equal((await get(node1.url, '/healthz')).status, 200, 'still alive: a load balancer must not restart it')

  // Without heartbeats node 2 drops node 1 (and its room) when the lease ends.
  await waitFor('node 2 to drop the unreachable node\'s room', async () => !('Before The Outage' in await listOf(node2, lister)), LEASE_MS + HEARTBEAT_MS + 2000)
  t.pass('node 2 stopped listing it during the outage')

  await redis.start()
  const upAt = Date.now()
  t.equal(await redis.client().dbsize(), 0, 'Redis came back empty')

  const ready = await waitFor('node 1 to be ready again', async () => {
    const reply = await get(node1.url, '/readyz')
    return reply.status === 200 ? reply : undefined
  }, 8000, 10)
  t.strictSame(ready.body, { ready: true, reasons: {} })
  t.comment(`/readyz 200 again ${Date.now() - upAt} ms after Redis returned`)
  // Ready means registered: a node that answers 200 before its heartbeat
  // reached Redis again would be sent traffic the cluster cannot route.
  t.equal(await redis.client().exists('netplay:cluster:node:node-1'), 1, 'ready again only once its heartbeat is back in Redis')
  const relisted = await waitFor('node 2 to list the room again', async () => (await listOf(node2, lister))['Before The Outage'], 5000)
  t.match(relisted, { room_name: 'Before The Outage', current: 2 }, 'node 2 lists it again, with its players')
  t.comment(`listed again by node 2 ${Date.now() - upAt} ms after Redis returned`)
  t.equal(await redis.client().hexists('netplay:cluster:rooms:node-1', 'Before The Outage'), 1, 'node 1 republished its room')
  t.equal(await redis.client().get('netplay:cluster:claim:Before The Outage'), 'node-1', 'and claimed its name again')
  const resolved = await get(node2.url, '/resolve?room=Before%20The%20Outage', lister)
  t.strictSame(resolved.body, { room_name: 'Before The Outage', url: node1.url, nodeId: 'node-1' })

  // A new player follows the redirect from node 2 into the old game.
  const carolToken = romm.read('carol')
  const misrouted = await connectTo(t, node2.url, { token: carolToken })
  t.strictSame(await joinRoom(misrouted, 'Before The Outage'), [null, { redirect: node1.url, room_name: 'Before The Outage', nodeId: 'node-1' }])
  const carol = await connectTo(t, node1.url, { token: carolToken })
  t.equal((await joinRoom(carol, 'Before The Outage'))[0], null)
  t.strictSame(await bob.ack('data-message', { play: true }), [null, null])
  t.strictSame(await alice.inbox.take('data-message'), { play: true })
  t.strictSame(await carol.inbox.take('data-message'), { play: true }, 'play continues with the new player')
})
