// What the real EmulatorJS-SFU clients do to the SFU over a long session
// that the protocol tests do not: each test replays a client behaviour that
// broke something, against a real worker and, where only a DTLS peer can
// show it, mediasoup-client in Chromium.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { activeHandles, handlesOpenedSince } from '../helpers/netplay-server.ts'
import type { IoClient } from '../helpers/netplay-clients.ts'
import { browserSkip, launchBrowser } from '../helpers/browser.ts'
import { captureLogs } from '../helpers/logs.ts'
import { BrowserPeer, SCTP, UNHURRIED, VP8, WORKER_SKIP, member, needsWorker, ok, sfuServer, workerBinary, workerPids } from '../helpers/mediasoup.ts'

/** A guest's input channel as EmulatorJS-SFU opens it; returns the relay id the host is told. */
async function inputChannel (guest: IoClient, host: IoClient): Promise<string> {
  const send = await ok(guest, 'sfu-create-transport', { direction: 'send' })
  await ok(guest, 'producedata', { transportId: send.id, sctpStreamParameters: SCTP(1), label: 'netplay-input', protocol: '' })
  return (await host.inbox.take('new-data-producer')).id
}

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

const noBrowser = browserSkip()
const withBrowser = { skip: workerBinary() === null ? WORKER_SKIP : noBrowser }

t.test('with a real mediasoup worker', needsWorker(), async (t) => {
  t.test('the host page consuming every channel again every 5 s keeps the newest two of each, never hits the limit', async (t) => {
    const server = await sfuServer(t, {}, { rateLimit: UNHURRIED })
    const host = await member(server, 'host', 'again', { open: true })
    const guest = await member(server, 'guest', 'again')
    const relay = await inputChannel(guest, host)
    const recv = await ok(host, 'sfu-create-transport', { direction: 'recv' })

    // 35 runs of the generation-2 page's setup: list, then consume every listed channel twice.
    const consumed: Array<{ id: string }> = []
    for (let run = 0; run < 35; run++) {
      for (const { id } of await ok(host, 'sfu-get-data-producers')) {
        consumed.push(await ok(host, 'consumedata', { dataProducerId: id, transportId: recv.id }))
        consumed.push(await ok(host, 'consumedata', { dataProducerId: id, transportId: recv.id }))
      }
    }
    t.equal(consumed.length, 70, 'past the per-connection limit (64), never refused')
    t.equal(server.app.netplay.sfu.stats().dataConsumers, 2, 'two consumers of the channel held')
    t.same(host.inbox.all('data-consumer-closed'), consumed.slice(0, 68).map(({ id }) => ({ dataConsumerId: id, dataProducerId: relay })), 'the oldest retired first, each one told')

    // Concurrent consumes (the page does not wait for one ack before the next) settle on two as well.
    await Promise.all(Array.from({ length: 10 }, () => ok(host, 'sfu-consume-data', { dataProducerId: relay, transportId: recv.id })))
    t.equal(server.app.netplay.sfu.stats().dataConsumers, 2)
    t.equal(host.inbox.count('data-consumer-closed'), 78)

    // Per producer: another channel keeps two of its own.
    const guestSend = await ok(guest, 'sfu-create-transport', { direction: 'send' })
    const chat = await ok(guest, 'producedata', { transportId: guestSend.id, sctpStreamParameters: SCTP(2), label: 'chat', protocol: 'json' })
    for (let i = 0; i < 3; i++) await ok(host, 'consumedata', { dataProducerId: chat, transportId: recv.id })
    t.equal(server.app.netplay.sfu.stats().dataConsumers, 4, 'two of each channel')

    // Media: a guest consuming the host's video again and again.
    const caps = await ok(host, 'sfu-get-router-rtp-capabilities')
    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    const video = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    const guestRecv = await ok(guest, 'sfu-create-transport', { direction: 'recv' })
    const consumers: Array<{ id: string }> = []
    for (let i = 0; i < 70; i++) consumers.push(await ok(guest, 'sfu-consume', { producerId: video, transportId: guestRecv.id, rtpCapabilities: caps }))
    t.equal(server.app.netplay.sfu.stats().consumers, 2, 'two consumers of the video held')
    t.same(guest.inbox.all('consumer-closed'), consumers.slice(0, 68).map(({ id }) => ({ consumerId: id, producerId: video, kind: 'video' })), 'the oldest retired first, each one told')
    t.equal((await guest.call('sfu-consume', { producerId: video, transportId: guestRecv.id, rtpCapabilities: { codecs: [] } })).err, 'cannot consume')
    t.equal(server.app.netplay.sfu.stats().consumers, 2, 'a refused consume retires nothing')
  })

  t.test('consumersPerProducer: 1 keeps only the newest', async (t) => {
    const server = await sfuServer(t, { limits: { consumersPerProducer: 1 } })
    const host = await member(server, 'host', 'one', { open: true })
    const guest = await member(server, 'guest', 'one')
    const relay = await inputChannel(guest, host)
    const recv = await ok(host, 'sfu-create-transport', { direction: 'recv' })
    const first = await ok(host, 'consumedata', { dataProducerId: relay, transportId: recv.id })
    await ok(host, 'consumedata', { dataProducerId: relay, transportId: recv.id })
    t.same(host.inbox.all('data-consumer-closed'), [{ dataConsumerId: first.id, dataProducerId: relay }])
    t.equal(server.app.netplay.sfu.stats().dataConsumers, 1)
  })

  t.test('input relays are the owner\'s: other members can neither list nor consume them; ownership moves with the host', async (t) => {
    const server = await sfuServer(t)
    const host = await member(server, 'host', 'owned', { open: true })
    const second = await member(server, 'second', 'owned') // slot 1: the next owner
    const sender = await member(server, 'sender', 'owned') // slot 2
    const relay = await inputChannel(sender, host)
    const senderSend = await ok(sender, 'sfu-create-transport', { direction: 'send' })
    const chat = await ok(sender, 'producedata', { transportId: senderSend.id, sctpStreamParameters: SCTP(2), label: 'chat', protocol: 'json' })
    await host.inbox.take('new-data-producer', (d) => d.id === chat)
    await second.inbox.take('new-data-producer', (d) => d.id === chat)
    t.notOk(second.inbox.all('new-data-producer').some((d) => d.id === relay), 'a guest is not told of another guest\'s input relay')

    const recv = await ok(second, 'sfu-create-transport', { direction: 'recv' })
    t.equal((await second.call('consumedata', { dataProducerId: relay, transportId: recv.id })).err, 'not owner', 'a guest cannot read another guest\'s inputs')
    t.equal((await second.call('sfu-consume-data', { dataProducerId: relay, transportId: recv.id })).err, 'not owner', 'nor through the generation-1 name')
    t.same(await ok(second, 'sfu-get-data-producers'), [{ id: chat, kind: 'data' }], 'other channels stay visible to everyone')
    t.type((await ok(second, 'consumedata', { dataProducerId: chat, transportId: recv.id })).id, 'string', 'and consumable')
    t.same(await ok(sender, 'sfu-get-data-producers'), [{ id: chat, kind: 'data' }], 'the sender is not the owner either')
    t.equal(server.app.netplay.sfu.stats().dataConsumers, 1, 'a refused consume changes nothing')

    const hostRecv = await ok(host, 'sfu-create-transport', { direction: 'recv' })
    t.same((await ok(host, 'sfu-get-data-producers')).map((d: { id: string }) => d.id).sort(), [chat, relay].sort(), 'the owner lists every channel')
    t.equal((await ok(host, 'consumedata', { dataProducerId: relay, transportId: hostRecv.id })).dataProducerId, relay, 'the owner consumes inputs')

    await ok(host, 'leave-room', { roomName: 'owned', reason: 'host left' })
    await second.inbox.take('users-updated', (users) => Object.values(users).some((u: any) => u.is_host === true && u.socketId === second.id))
    t.same((await ok(second, 'sfu-get-data-producers')).map((d: { id: string }) => d.id).sort(), [chat, relay].sort(), 'the next owner lists the input relay')
    t.equal((await ok(second, 'consumedata', { dataProducerId: relay, transportId: recv.id })).dataProducerId, relay, 'and consumes it')
  })

  t.test('a room whose media nobody rebuilds after its worker died is closed; one that rebuilds lives on', async (t) => {
    const server = await sfuServer(t, { workerRespawnDelayMs: 100, mediaLostGraceMs: 1500 })
    const lostHost = await member(server, 'lost-host', 'lost', { open: true })
    const lostGuest = await member(server, 'lost-guest', 'lost', { gen1: true })
    const keptHost = await member(server, 'kept-host', 'kept', { open: true })
    const keptGuest = await member(server, 'kept-guest', 'kept')
    for (const host of [lostHost, keptHost]) {
      const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
      await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    }
    const [pid] = await workerPids()
    process.kill(pid as number, 'SIGKILL')
    for (const client of [lostHost, lostGuest, keptHost, keptGuest]) {
      t.same(await client.inbox.take('sfu-media-reset', () => true, 5000), { reason: 'media server restarted' })
    }
    await until('a replacement worker', () => server.app.netplay.sfu.available)
    await ok(keptHost, 'sfu-create-transport', { direction: 'send' }) // a client able to rebuild does

    for (const client of [lostHost, lostGuest]) {
      t.same(await client.inbox.take('room-closed', () => true, 5000), { roomName: 'lost', reason: 'media server restarted' }, 'families B and C are told')
      await client.inbox.take('disconnect', () => true, 5000)
      const order = ['sfu-media-reset', 'room-closed', 'disconnect'].map((event) => client.inbox.pushed.findIndex((p) => p.event === event))
      t.same([...order].sort((a, b) => a - b), order, 'media reset, then room closed, then disconnected by the server')
      t.equal(client.inbox.last('disconnect'), 'io server disconnect', 'the server closed the connection (generation 1 then leaves the room)')
    }
    t.equal(server.app.netplay.rooms.get('lost'), undefined, 'the room is deleted')
    const list = (await server.get('/list', { authorization: `Bearer ${await server.token('lister')}` })).body as Record<string, unknown>
    t.same(Object.keys(list), ['kept'], 'and gone from the list')

    await sleep(1700) // past the grace of the room that rebuilt
    t.ok(keptHost.socket.connected && keptGuest.socket.connected, 'members of the rebuilt room stay connected')
    t.equal(keptHost.inbox.count('room-closed') + keptGuest.inbox.count('room-closed'), 0)
    t.ok(server.app.netplay.rooms.get('kept'), 'the rebuilt room lives on')
    t.match(server.app.netplay.sfu.stats(), { rooms: 1, transports: 1 })
  })

  t.test('mediaLostGraceMs: 0 closes the rooms of a dead worker at once', async (t) => {
    const server = await sfuServer(t, { workerRespawnDelayMs: 100, mediaLostGraceMs: 0 })
    const host = await member(server, 'host', 'gone', { open: true })
    await ok(host, 'sfu-create-transport', { direction: 'send' })
    const [pid] = await workerPids()
    process.kill(pid as number, 'SIGKILL')
    await host.inbox.take('sfu-media-reset', () => true, 5000)
    t.same(await host.inbox.take('room-closed'), { roomName: 'gone', reason: 'media server restarted' })
    await host.inbox.take('disconnect')
    t.same((await server.get('/list', { authorization: `Bearer ${await server.token('lister')}` })).body, {})
  })

  t.test('a room waiting for its media leaves no timer behind when the app closes', async (t) => {
    const before = activeHandles()
    const server = await sfuServer(t, { workerRespawnDelayMs: 100, mediaLostGraceMs: 600_000 })
    const host = await member(server, 'host', 'waiting', { open: true })
    await ok(host, 'sfu-create-transport', { direction: 'send' })
    const [pid] = await workerPids()
    process.kill(pid as number, 'SIGKILL')
    await host.inbox.take('sfu-media-reset', () => true, 5000)
    host.close()
    await server.app.close()
    t.same(await handlesOpenedSince(before, 3000), {}, 'no handle left open')
  })
})

t.test('with a real DTLS peer (mediasoup-client in Chromium)', withBrowser, async (t) => {
  t.test('the newest of many consumers of an input channel carries the inputs', async (t) => {
    const server = await sfuServer(t, {}, { rateLimit: UNHURRIED })
    const host = await member(server, 'host', 'live', { open: true })
    const guest = await member(server, 'guest', 'live')
    const context = await (await launchBrowser(t)).newContext()
    const [hostPeer, guestPeer] = await Promise.all([BrowserPeer.open(context, server.url, host), BrowserPeer.open(context, server.url, guest)])

    const input = await guestPeer.produceData(await guestPeer.createTransport('send'))
    const relay = (await host.inbox.take('new-data-producer')).id
    const recv = await hostPeer.createTransport('recv')
    const consumed: Array<Record<string, unknown>> = []
    for (let i = 0; i < 70; i++) consumed.push(await ok(host, 'consumedata', { dataProducerId: relay, transportId: recv }))
    const [older, newest] = consumed.slice(-2) as [Record<string, unknown>, Record<string, unknown>]
    await hostPeer.consumeData(recv, older)
    await hostPeer.consumeData(recv, newest)

    const frame = JSON.stringify({ t: 'i', f: 0, s: 0, p: 1, k: 3, v: 1 })
    await until('the host to receive inputs on both consumers', async () => {
      await guestPeer.send(input, frame)
      const received = new Set((await hostPeer.messages()).map((m) => m.consumerId))
      return received.has(newest.id as string) && received.has(older.id as string)
    })
    const messages = await hostPeer.messages()
    t.ok(messages.every((m) => m.text === frame), 'the guest\'s input, as sent')
    t.equal(server.app.netplay.sfu.stats().dataConsumers, 2)
  })

  t.test('a transport whose DTLS handshake fails is closed with what rode on it', async (t) => {
    const logs = captureLogs()
    const server = await sfuServer(t, {}, { logStream: logs.stream })
    const host = await member(server, 'host', 'tampered', { open: true })
    const guest = await member(server, 'guest', 'tampered')
    const context = await (await launchBrowser(t)).newContext()
    const guestPeer = await BrowserPeer.open(context, server.url, guest)

    const send = await guestPeer.createTransport('send', { wrongFingerprint: true })
    const chat = await ok(guest, 'producedata', { transportId: send, sctpStreamParameters: SCTP(1), label: 'chat', protocol: 'json' })
    await host.inbox.take('new-data-producer', (d) => d.id === chat)
    // The page's input channel starts ICE and DTLS; the handshake fails before, while or after its producedata is handled.
    const answer = await guestPeer.produceData(send, { waitOpen: false }).then(() => 'produced', (err: Error) => err.message)
    t.ok(['produced', 'closed while in use', 'transport not found'].some((outcome) => answer.includes(outcome)), `the input channel's producedata, never an internal error: ${answer}`)
    await until('the server to close the transport', () => server.app.netplay.sfu.stats().transports === 0, 15_000)
    t.match(server.app.netplay.sfu.stats(), { transports: 0, dataProducers: 0 }, 'its data producer went with it')
    t.same(await ok(host, 'sfu-get-data-producers'), [], 'and the channels announced for it')
    t.equal((await guest.call('sfu-connect-transport', { transportId: send, dtlsParameters: {} })).err, 'transport not found')
    const identity = await server.app.netplay.auth.verify(await server.token('guest'))
    const line = logs.records().find((r) => r.transport === send)
    t.match(line, { level: 30, room: 'tampered', userid: identity.userid, dtlsState: 'failed' }, 'logged at info with room, userid and transport')
    t.notOk(JSON.stringify(line).includes('fingerprint'), 'no DTLS parameters in the log')
  })

  t.test('a transport whose peer ended its DTLS session is closed', async (t) => {
    const logs = captureLogs()
    const server = await sfuServer(t, {}, { logStream: logs.stream })
    const host = await member(server, 'host', 'ended', { open: true })
    const guest = await member(server, 'guest', 'ended')
    const context = await (await launchBrowser(t)).newContext()
    const guestPeer = await BrowserPeer.open(context, server.url, guest)
    const send = await guestPeer.createTransport('send')
    await guestPeer.produceData(send)
    await host.inbox.take('new-data-producer')
    t.equal(await guestPeer.connectionState(send), 'connected', 'DTLS up: the channel opened')

    await guestPeer.closeTransport(send)
    await until('the server to close the transport', () => server.app.netplay.sfu.stats().transports === 0, 15_000)
    t.match(server.app.netplay.sfu.stats(), { transports: 0, dataProducers: 0 })
    t.match(logs.records().find((r) => r.transport === send), { level: 30, room: 'ended', dtlsState: 'closed' })
    t.ok(guest.socket.connected, 'the member stays in the room')
  })
})
