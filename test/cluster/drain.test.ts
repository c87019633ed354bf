// SIGTERM is the orderly way out (a rolling deploy): clients are told, the
// node leaves the registry at once instead of waiting for its lease to run
// out, and the process exits 0 within the drain timeout.
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { HEARTBEAT_MS, connectTo, get, hostRoom, joinRoom, listOf, rommSigner, startNode, waitFor } from '../helpers/cluster.ts'

const LONG_LEASE_MS = 5000
const DRAIN_TIMEOUT_MS = 3000

t.test('SIGTERM: clients get server-shutdown, the node leaves the registry at once, exit 0 within the drain timeout', async (t) => {
  const redis = await startRedis(t)
  // A long lease: leaving "at once" must not be the lease running out.
  const [node1, node2] = await Promise.all(['node-1', 'node-2'].map((nodeId) => startNode(t, {
    redis: redis.url, nodeId, leaseMs: LONG_LEASE_MS, args: ['--drain-timeout-ms', String(DRAIN_TIMEOUT_MS)]
  })))
  if (node1 === undefined || node2 === undefined) throw new Error('two nodes expected')
  const romm = rommSigner()
  const lister = romm.read('lister')

  const alice = await connectTo(t, node1.url, { token: romm.read('alice') })
  await hostRoom(alice, 'Last Round')
  const bob = await connectTo(t, node1.url, { token: romm.read('bob') })
  t.equal((await joinRoom(bob, 'Last Round'))[0], null)
  const idle = await connectTo(t, node1.url, { token: romm.read('idle') }) // connected, in no room
  const elsewhere = await connectTo(t, node2.url, { token: romm.read('elsewhere') })
  await hostRoom(elsewhere, 'Other Node Room')
  await waitFor('node 2 to list node 1\'s room', async () => 'Last Round' in await listOf(node2, lister), 2000)

  const sentAt = Date.now()
  node1.child.kill('SIGTERM')
  const goneAfter = waitFor('node 2 to drop node 1\'s room', async () => 'Last Round' in await listOf(node2, lister) ? undefined : Date.now() - sentAt, LONG_LEASE_MS)

  for (const [name, client] of [['host', alice], ['guest', bob], ['idle client', idle]] as const) {
    const notice = await client.inbox.take('server-shutdown', () => true, DRAIN_TIMEOUT_MS)
    t.match(notice, { message: String, reconnectAfterMs: Number }, `the ${name} is told the node is going away`)
    await client.inbox.take('disconnect', () => true, DRAIN_TIMEOUT_MS)
  }
  t.equal(elsewhere.inbox.count('server-shutdown'), 0, 'clients of the other node are not told')

  const gone = await goneAfter
  t.comment(`node 2 stopped listing the room ${gone} ms after SIGTERM (lease ${LONG_LEASE_MS} ms, heartbeat ${HEARTBEAT_MS} ms)`)
  t.ok(gone < LONG_LEASE_MS / 4, `left the registry at once (${gone} ms), not when the lease ran out`)
  t.equal((await get(node2.url, '/resolve?room=Last%20Round', lister)).status, 404, 'nobody is redirected to the leaving node')

  let timer: NodeJS.Timeout | undefined
  const exit = await Promise.race([node1.exited, new Promise<null>((resolve) => { timer = setTimeout(resolve, DRAIN_TIMEOUT_MS + 2000, null) })])
  clearTimeout(timer)
  const exitedAfter = Date.now() - sentAt
  t.strictSame(exit, { code: 0, signal: null }, 'exit code 0')
  t.ok(exitedAfter <= DRAIN_TIMEOUT_MS, `exited within the drain timeout (${exitedAfter} <= ${DRAIN_TIMEOUT_MS} ms)`)
  t.equal(await redis.client().exists('netplay:cluster:node:node-1', 'netplay:cluster:rooms:node-1', 'netplay:cluster:claim:Last Round'), 0, 'its node, room and claim keys are gone from Redis')
  t.equal(await redis.client().zscore('netplay:cluster:nodes', 'node-1'), null, 'and it is out of the node set')

  t.ok('Other Node Room' in await listOf(node2, lister), 'the other node goes on')
})
