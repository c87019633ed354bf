// A node killed with SIGKILL says goodbye to no one: its rooms must vanish
// from every other node's /list when its lease ends, and the games on the
// surviving nodes must not notice.
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import { HEARTBEAT_MS, LEASE_MS, connectTo, get, hostRoom, joinRoom, listOf, rommSigner, startNode, waitFor } from '../helpers/cluster.ts'
import { sfuExtra } from '../helpers/netplay-clients.ts'

t.test('SIGKILL: the dead node\'s rooms leave every list within one lease; the others keep playing', async (t) => {
  const redis = await startRedis(t)
  const [node1, node2, node3] = await Promise.all(['node-1', 'node-2', 'node-3'].map((nodeId) => startNode(t, { redis: redis.url, nodeId })))
  if (node1 === undefined || node2 === undefined || node3 === undefined) throw new Error('three nodes expected')
  const romm = rommSigner()
  const lister = romm.read('lister')

  // Room "Doomed" on node 1; room "Survivor" on node 2 with a host and a guest.
  const doomedHost = await connectTo(t, node1.url, { token: romm.read('doomed-host') })
  await hostRoom(doomedHost, 'Doomed')
  const carol = await connectTo(t, node2.url, { token: romm.read('carol') })
  await hostRoom(carol, 'Survivor')
  const dave = await connectTo(t, node2.url, { token: romm.read('dave') })
  t.equal((await joinRoom(dave, 'Survivor'))[0], null)
  for (const node of [node2, node3]) {
    await waitFor(`${node.nodeId} to list both rooms`, async () => {
      const list = await listOf(node, lister)
      return 'Doomed' in list && 'Survivor' in list
    }, 10_000)
  }

  const killedAt = Date.now()
  node1.child.kill('SIGKILL')
  const bound = LEASE_MS + HEARTBEAT_MS
  let survivorMissing = 0
  const [gone2, gone3] = await Promise.all([node2, node3].map((node) => waitFor(`${node.nodeId} to drop "Doomed"`, async () => {
    const list = await listOf(node, lister)
    if (!('Survivor' in list)) survivorMissing++
    return 'Doomed' in list ? undefined : Date.now() - killedAt
  }, bound + 2000)))
  t.comment(`"Doomed" vanished ${gone2} ms (node 2) and ${gone3} ms (node 3) after SIGKILL; lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_MS} ms`)
  t.ok((gone2 as number) <= bound, `node 2 dropped it within lease + heartbeat (${gone2} <= ${bound} ms)`)
  t.ok((gone3 as number) <= bound, `node 3 dropped it within lease + heartbeat (${gone3} <= ${bound} ms)`)
  t.equal(survivorMissing, 0, 'node 2\'s room stayed listed on nodes 2 and 3 all along')
  t.equal((await node1.exited).signal, 'SIGKILL')

  // Nobody is sent to the dead node any more.
  const lost = await connectTo(t, node3.url, { token: romm.read('late') })
  t.strictSame(await joinRoom(lost, 'Doomed'), ['no such room'], 'no redirect to a dead node')
  t.equal((await get(node3.url, '/resolve?room=Doomed', lister)).status, 404)
  // Its name is free again once its claim has expired with the lease.
  await waitFor('the name "Doomed" to be free', async () => {
    const [err] = await lost.ack('open-room', { extra: sfuExtra('Doomed'), maxPlayers: 4, password: null })
    return err === null
  }, 5000, 50)

  // The surviving room still relays and still admits players.
  const input = { 'sync-control': [{ frame: 120, connected_input: [1, 4, 1] }] } // dave sits in seat 1
  t.strictSame(await dave.ack('data-message', input), [null, null])
  t.strictSame(await carol.inbox.take('data-message'), input, 'guest -> host relay')
  t.strictSame(await carol.ack('data-message', { pause: true }), [null, null])
  t.strictSame(await dave.inbox.take('data-message'), { pause: true }, 'host -> guest relay')
  const eve = await connectTo(t, node2.url, { token: romm.read('eve') })
  t.equal((await joinRoom(eve, 'Survivor'))[0], null, 'a new guest joins the surviving room')
  for (const member of [carol, dave]) {
    const users = await member.inbox.take<Record<string, unknown>>('users-updated', (u) => Object.keys(u).length === 3)
    t.equal(Object.keys(users).length, 3, 'users-updated reaches every member')
  }
  await waitFor('node 3 to see three players in "Survivor"', async () => (await listOf(node3, lister)).Survivor?.current === 3, 10_000)
})
