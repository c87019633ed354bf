// Placement: a node over capacity sends a family B client that opens a room
// to another live node (the same redirect as a misrouted join), and says
// "server full" when no live node can take it.
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { connectTo, hostRoom, listOf, rommSigner, startNode, waitFor } from '../helpers/cluster.ts'
import { sfuExtra } from '../helpers/netplay-clients.ts'

t.test('a full node redirects open-room to a live node, and answers "server full" when there is none', async (t) => {
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

  const bobToken = romm.read('bob')
  const bobOnSmall = await connectTo(t, small.url, { token: bobToken })
  const extra = sfuExtra('Second Room')
  t.strictSame(await bobOnSmall.ack('open-room', { extra, maxPlayers: 4, password: null }), [null, { redirect: roomy.url, room_name: 'Second Room', nodeId: 'roomy' }],
    'ack { redirect, room_name, nodeId } to the other node')
  t.strictSame(await bobOnSmall.inbox.take('room-redirect'), { room_name: 'Second Room', url: roomy.url, nodeId: 'roomy' }, 'and the room-redirect event')
  t.equal(bobOnSmall.inbox.count('users-updated'), 0, 'nothing was opened on the full node')

  // The client follows it: opens the room where it was sent.
  const bob = await connectTo(t, roomy.url, { token: bobToken })
  await hostRoom(bob, 'Second Room')
  await waitFor('the small node to list the room opened elsewhere', async () => (await listOf(small, lister))['Second Room']?.current === 1, 2000)

  // The roomy node leaves (SIGTERM: at once); the full node has nowhere to send rooms.
  t.strictSame(await roomy.stop(), { code: 0, signal: null })
  await waitFor('the small node to drop the roomy node', async () => !('Second Room' in await listOf(small, lister)), 2000)
  const carol = await connectTo(t, small.url, { token: romm.read('carol') })
  t.strictSame(await carol.ack('open-room', { extra: sfuExtra('Third Room'), maxPlayers: 4, password: null }), ['server full'])
  t.equal(carol.inbox.count('room-redirect'), 0, 'no redirect to a node that is gone')

  // Joining the room it has still works: only new rooms are refused.
  t.equal((await carol.ack('join-room', { extra: sfuExtra('First Room', { player_slot: undefined }), password: null }))[0], null)
})
