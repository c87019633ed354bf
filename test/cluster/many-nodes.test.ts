// Three standalone nodes on one Redis, as a RomM admin would run them behind
// one hostname: one room list, redirects to the node that has a room, room
// names unique across nodes, one-time write tokens and HTTP limits shared.
import t from 'tap'
import { startRedis } from '../helpers/redis.ts'
import {
  CLUSTER_SECRET, clientAddress, connectTo, get, hostRoom, http, joinRoom, listOf, rommSigner, startNode, waitFor
} from '../helpers/cluster.ts'
import { sfuExtra } from '../helpers/netplay-clients.ts'

const redis = await startRedis(t)
const [node1, node2, node3] = await Promise.all(['node-1', 'node-2', 'node-3'].map((nodeId) => startNode(t, { redis: redis.url, nodeId })))
if (node1 === undefined || node2 === undefined || node3 === undefined) throw new Error('three nodes expected')
const romm = rommSigner(CLUSTER_SECRET)
const lister = romm.read('lister')

t.test('a room opened on node 1 is listed, the same, by nodes 2 and 3, and filtered by game_id', async (t) => {
  const alice = await connectTo(t, node1.url, { token: romm.read('alice') })
  await hostRoom(alice, 'Kart Night', { game_id: 7 })
  const carol = await connectTo(t, node1.url, { token: romm.read('carol') })
  await hostRoom(carol, 'Puzzle Hour', { game_id: 8 })

  const local = await listOf(node1, lister)
  t.match(local['Kart Night'], { room_name: 'Kart Night', current: 1, max: 4, hasPassword: false, netplay_mode: 'live_stream' })
  for (const node of [node2, node3]) {
    const remote = await waitFor(`${node.nodeId} to list both rooms`, async () => {
      const list = await listOf(node, lister)
      return 'Kart Night' in list && 'Puzzle Hour' in list ? list : undefined
    }, 2000)
    t.strictSame(remote['Kart Night'], local['Kart Night'], `${node.nodeId} lists the room exactly as its node does`)
    t.strictSame(Object.keys(await listOf(node, lister, '?game_id=7')).filter((k) => ['Kart Night', 'Puzzle Hour'].includes(k)), ['Kart Night'], `${node.nodeId} filters by game_id 7`)
    t.strictSame(Object.keys(await listOf(node, lister, '?game_id=8')).filter((k) => ['Kart Night', 'Puzzle Hour'].includes(k)), ['Puzzle Hour'], `${node.nodeId} filters by game_id 8`)
    t.notOk('Kart Night' in await listOf(node, lister, '?game_id=9'), 'another game lists neither')
  }

  // A guest joining on node 1 is seen by the other nodes too (pub/sub upsert).
  const bob = await connectTo(t, node1.url, { token: romm.read('bob') })
  t.equal((await joinRoom(bob, 'Kart Night'))[0], null)
  await waitFor('node 3 to see two players', async () => (await listOf(node3, lister))['Kart Night']?.current === 2, 2000)
})

t.test('request-room-list on node 2 follows rooms opened and closed on node 1 (rooms-updated)', async (t) => {
  const lobby = await connectTo(t, node2.url, { token: romm.read('lobby') })
  t.strictSame(await lobby.ack('request-room-list', { game_id: 11 }), [null, null])
  t.strictSame(await lobby.inbox.take('rooms-updated'), [], 'nothing for game 11 yet')
  const dave = await connectTo(t, node1.url, { token: romm.read('dave') })
  await hostRoom(dave, 'Remote Rally', { game_id: 11 })
  const listed = await lobby.inbox.take<Array<Record<string, unknown>>>('rooms-updated', (list) => list.length === 1, 3000)
  t.match(listed[0], { id: 'Remote Rally', name: 'Remote Rally', current: 1 }, 'pushed by node 2 for a node 1 room')
  t.strictSame(await dave.ack('leave-room', { roomName: 'Remote Rally' }), [null, null])
  t.strictSame(await lobby.inbox.take('rooms-updated', (list) => list.length === 0, 3000), [], 'and its closing')
})

t.test('join-room on the wrong node: room-redirect event and { redirect, room_name, nodeId } ack, then the join on node 1 works', async (t) => {
  const alice = await connectTo(t, node1.url, { token: romm.read('alice-r') })
  await hostRoom(alice, 'Redirect Me')
  await waitFor('node 2 to list the room', async () => 'Redirect Me' in await listOf(node2, lister), 2000)

  const bobToken = romm.read('bob-r')
  const misrouted = await connectTo(t, node2.url, { token: bobToken })
  const ack = await joinRoom(misrouted, 'Redirect Me')
  t.strictSame(ack, [null, { redirect: node1.url, room_name: 'Redirect Me', nodeId: 'node-1' }], 'the ack is exactly the family B redirect')
  t.strictSame(await misrouted.inbox.take('room-redirect'), { room_name: 'Redirect Me', url: node1.url, nodeId: 'node-1' }, 'the event is exactly the contract')
  t.equal(misrouted.inbox.count('users-updated'), 0, 'node 2 seated nobody')

  // What the client does: reconnect to the url it was given and join there.
  const [, redirect] = ack as [null, { redirect: string }]
  const bob = await connectTo(t, redirect.redirect, { token: bobToken })
  const [err, state] = await joinRoom(bob, 'Redirect Me') as [unknown, { users: Record<string, unknown> }]
  t.equal(err, null, 'the join on node 1 succeeds')
  t.equal(Object.keys(state.users).length, 2)
  const users = await alice.inbox.take<Record<string, { socketId: string }>>('users-updated', (u) => Object.keys(u).length === 2)
  t.ok(Object.values(users).some((u) => u.socketId === bob.id), 'the host sees the guest that followed the redirect')
})

t.test('GET /resolve on node 3 answers node 1 for a node 1 room; 404 for no room', async (t) => {
  const alice = await connectTo(t, node1.url, { token: romm.read('alice-s') })
  await hostRoom(alice, 'Where Am I')
  const resolved = await waitFor('node 3 to resolve the room', async () => {
    const reply = await get(node3.url, '/resolve?room=Where%20Am%20I', lister)
    return reply.status === 200 ? reply.body : undefined
  }, 2000)
  t.strictSame(resolved, { room_name: 'Where Am I', url: node1.url, nodeId: 'node-1' })
  const missing = await get(node3.url, '/resolve?room=Nowhere', lister)
  t.equal(missing.status, 404)
  t.equal(missing.body.error, 'FST_NETPLAY_ROOMS_NOT_FOUND')
})

t.test('two nodes racing to open the same room name: exactly one wins, 10 rounds at once', async (t) => {
  const rounds = Array.from({ length: 10 }, (_, i) => `Race ${i}`)
  const contenders = await Promise.all(rounds.map(async (name, i) => {
    const [a, b] = await Promise.all([
      connectTo(t, node2.url, { token: romm.read(`racer-a-${i}`) }),
      connectTo(t, node3.url, { token: romm.read(`racer-b-${i}`) })
    ])
    return { name, a, b }
  }))
  const outcomes = await Promise.all(contenders.map(async ({ name, a, b }) => {
    const extra = sfuExtra(name)
    const [onA, onB] = await Promise.all([
      a.ack('open-room', { extra, maxPlayers: 4, password: null }),
      b.ack('open-room', { extra, maxPlayers: 4, password: null })
    ])
    return { name, onA, onB }
  }))
  for (const { name, onA, onB } of outcomes) {
    const wins = [onA, onB].filter((ack) => ack[0] === null)
    t.equal(wins.length, 1, `${name}: exactly one node created it`)
    const loser = onA[0] === null ? onB : onA
    t.strictSame(loser, ['room exists'], `${name}: the other got "room exists"`)
    const winner = onA[0] === null ? node2 : node3
    const resolved = await get(node1.url, `/resolve?room=${encodeURIComponent(name)}`, lister)
    if (resolved.status !== 200) {
      // node 1 learns of it through pub/sub; give it one heartbeat.
      await waitFor(`node 1 to resolve ${name}`, async () => (await get(node1.url, `/resolve?room=${encodeURIComponent(name)}`, lister)).status === 200, 1000)
    }
    t.equal((await get(node1.url, `/resolve?room=${encodeURIComponent(name)}`, lister)).body.nodeId, winner.nodeId, `${name}: every node points at the winner`)
  }
})

t.test('a one-time write token used on node 1 is refused on node 2', async (t) => {
  const store = redis.client()
  const { token, jti } = romm.write('alice-w')
  await store.set(`sfu:auth:jti:${jti}`, '0', 'EX', 30) // what RomM does when it mints
  const body = { room_name: 'Made Over HTTP', max_players: 2, game_id: 7, domain: 'romm.example' }
  const first = await http(`${node1.url}/create`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body })
  t.equal(first.status, 201, 'node 1 consumes it')
  t.match(first.body, { room_id: 'Made Over HTTP', room: { room_name: 'Made Over HTTP', max: 2 } })
  const replay = await http(`${node2.url}/create`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: { ...body, room_name: 'Replayed' } })
  t.equal(replay.status, 401, 'node 2 refuses the replay')
  t.equal(replay.body.error, 'FST_NETPLAY_AUTH_TOKEN_USED')
  t.equal(await store.exists(`sfu:auth:jti:${jti}`), 0, 'the jti is gone from Redis')
  t.notOk('Replayed' in await listOf(node2, lister), 'no room was made with the replayed token')
})

t.test('the HTTP rate limit spent on node 1 is spent on node 2', async (t) => {
  const from = clientAddress()
  let allowed = 0
  let refused = false
  const started = Date.now()
  for (let i = 0; i < 200 && !refused; i++) {
    const reply = await get(node1.url, '/healthz', null, from)
    if (reply.status === 200) allowed++
    else if (reply.status === 429) refused = true
    else t.fail(`unexpected ${reply.status}`)
  }
  // The bucket refills 20 tokens a second while it is being spent.
  const refill = Math.ceil((Date.now() - started) / 1000 * 20)
  t.ok(refused, 'node 1 refuses once the bucket is empty')
  t.ok(allowed >= 40 && allowed <= 40 + refill, `the capacity (40) plus the refill (${refill}) went through on node 1 (${allowed})`)
  // The shared bucket keeps refilling (one token per 50 ms), so on a busy
  // machine node 2 may let through the few tokens refilled since node 1's
  // refusal, but never a fresh bucket of 40.
  const refusedAt = Date.now()
  let allowedOnNode2 = 0
  let onNode2 = await get(node2.url, '/healthz', null, from)
  while (onNode2.status === 200 && allowedOnNode2 < 40) {
    allowedOnNode2++
    onNode2 = await get(node2.url, '/healthz', null, from)
  }
  const refilledSince = Math.ceil((Date.now() - refusedAt) / 1000 * 20) + 1
  t.equal(onNode2.status, 429, 'node 2 refuses the same client')
  t.ok(allowedOnNode2 <= refilledSince, `node 2 let through only what refilled since (${allowedOnNode2} <= ${refilledSince})`)
  t.equal(onNode2.body.error, 'rate_limited')
  t.equal(onNode2.headers['ratelimit-limit'], '40')
  t.equal((await get(node2.url, '/healthz')).status, 200, 'another client is served')
})
