// The mediasoup events against a real worker, driven by socket.io-client as
// family B clients send them. mediasoup creates transports, producers and
// consumers without a connected DTLS session, so every ack shape and every
// bookkeeping rule is checked here without a browser; media and input data
// flowing for real are in browser.test.ts.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { ioClient } from '../helpers/netplay-clients.ts'
import { OPUS, SCTP, VP8, member, needsWorker, ok, sfuServer, workerBinary, workerPids } from '../helpers/mediasoup.ts'

t.test('with a real mediasoup worker', needsWorker(), async (t) => {
  t.test('family B ack shapes: available, capabilities, transports, produce, consume', async (t) => {
    const server = await sfuServer(t)
    const host = await member(server, 'host', 'shapes', { open: true })
    const guest = await member(server, 'guest', 'shapes')

    t.same(await host.ack('sfu-available', {}), [{ available: true }], 'a single argument')
    const caps = await ok(host, 'sfu-get-router-rtp-capabilities')
    t.ok(caps.codecs.some((c: { mimeType: string }) => c.mimeType === 'video/VP9'), 'VP9 by default')
    t.ok(caps.codecs.some((c: { mimeType: string }) => c.mimeType === 'video/H264'), 'H264 by default')
    const opus = caps.codecs.find((c: { mimeType: string }) => c.mimeType === 'audio/opus')
    t.match(opus, { clockRate: 48000, channels: 2 }, 'Opus 48000/2')

    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    t.same(Object.keys(send).sort(), ['dtlsParameters', 'iceCandidates', 'iceParameters', 'id', 'sctpParameters'])
    t.ok(send.iceCandidates.length >= 1 && send.iceCandidates.every((c: { address: string }) => c.address === '127.0.0.1'), 'candidates on the listen address')
    t.match(send.sctpParameters, { OS: 1024, MIS: 1024, maxMessageSize: Number }, 'SCTP fields older mediasoup-clients read')
    t.equal(await ok(host, 'sfu-connect-transport', { transportId: send.id, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:'.repeat(31) + 'AB' }] } }), true)

    const videoId = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1111), appData: {} })
    t.type(videoId, 'string', 'the producer id is a bare string')
    t.same(await guest.inbox.take('new-producer'), { id: videoId, kind: 'video' }, 'announced to the room')
    const audioId = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'audio', rtpParameters: OPUS(2222) })

    t.same(await ok(host, 'sfu-get-producers'), [], 'the caller\'s own producers are not listed to it')
    const listed = await ok(guest, 'sfu-get-producers')
    t.same(listed.sort((a: { kind: string }, b: { kind: string }) => a.kind.localeCompare(b.kind)), [{ id: audioId, kind: 'audio' }, { id: videoId, kind: 'video' }])

    const recv = await ok(guest, 'sfu-create-transport', { direction: 'recv' })
    const consumed = await ok(guest, 'sfu-consume', { producerId: videoId, transportId: recv.id, rtpCapabilities: caps, ignoreDtx: true })
    t.same(Object.keys(consumed).sort(), ['id', 'kind', 'producerId', 'rtpParameters'])
    t.equal(consumed.producerId, videoId)
    t.equal(consumed.kind, 'video')
    t.equal((await guest.call('sfu-consume', { producerId: videoId, transportId: recv.id, rtpCapabilities: { codecs: [] } })).err, 'cannot consume')
    t.equal((await guest.call('sfu-consume', { producerId: 'nope', transportId: recv.id, rtpCapabilities: caps })).err, 'producer not found')
    t.equal((await guest.call('sfu-consume', { producerId: videoId, transportId: send.id, rtpCapabilities: caps })).err, 'transport not found', 'someone else\'s transport')
    t.match((await host.call('sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: { codecs: 'garbage' } })).err, /^invalid parameters: /, 'mediasoup\'s parameter errors come back coded')
    t.equal((await guest.call('sfu-produce', { transportId: recv.id, kind: 'video', rtpParameters: VP8(3333) })).err, 'transport is not a send transport')

    const restarted = await ok(guest, 'sfu-restart-ice', { transportId: recv.id })
    t.same(Object.keys(restarted), ['iceParameters'])
    t.not(restarted.iceParameters.password, recv.iceParameters.password, 'new ICE credentials')
    t.match(server.app.netplay.sfu.stats(), { available: true, workers: 1, rooms: 1, transports: 2, producers: 2, consumers: 1 })
  })

  t.test('one producer per kind: a re-produce replaces the old one and its consumers learn it closed', async (t) => {
    const server = await sfuServer(t)
    const host = await member(server, 'host', 'replace', { open: true })
    const early = await member(server, 'early', 'replace')
    const caps = await ok(host, 'sfu-get-router-rtp-capabilities')
    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    const first = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    const recv = await ok(early, 'sfu-create-transport', { direction: 'recv' })
    const consumer = await ok(early, 'sfu-consume', { producerId: first, transportId: recv.id, rtpCapabilities: caps })

    // Pause/resume in the real host ends in a fresh produce of the same kind.
    const second = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(2) })
    t.not(second, first)
    t.same(await early.inbox.take('consumer-closed'), { consumerId: consumer.id, producerId: first, kind: 'video' })
    t.same(await early.inbox.take('new-producer', (d) => d.id === second), { id: second, kind: 'video' })
    const late = await member(server, 'late', 'replace')
    t.same(await ok(late, 'sfu-get-producers'), [{ id: second, kind: 'video' }], 'a late joiner sees only the live producer')
    t.equal((await early.call('sfu-consume', { producerId: first, transportId: recv.id, rtpCapabilities: caps })).err, 'producer not found')
    t.match(server.app.netplay.sfu.stats(), { producers: 1, consumers: 0 })
  })

  t.test('data producers: bound userid, one per label, inputs announced as the guarded relay', async (t) => {
    const server = await sfuServer(t)
    const host = await member(server, 'host', 'data', { open: true })
    const guest = await member(server, 'guest', 'data')
    const watcher = await member(server, 'watcher', 'data', { spectator: true })
    const send = await ok(guest, 'sfu-create-transport', { direction: 'send' })

    const spoofed = await guest.call('producedata', { transportId: send.id, sctpStreamParameters: SCTP(1), label: 'netplay-input', protocol: '', appData: { userid: 'somebody-else' } })
    t.equal(spoofed.err, 'userid mismatch for this connection', 'the exact string clients know')

    const identity = await server.app.netplay.auth.verify(await server.token('guest'))
    const own = await ok(guest, 'producedata', { transportId: send.id, sctpStreamParameters: SCTP(1), label: 'netplay-input', protocol: '', appData: { userid: identity.userid } })
    t.type(own, 'string')
    const announced = await host.inbox.take('new-data-producer')
    t.not(announced.id, own, 'the host is told the id of the server-side relay, not the guest\'s producer')
    t.same(await ok(host, 'sfu-get-data-producers'), [{ id: announced.id, kind: 'data' }])

    const recv = await ok(host, 'sfu-create-transport', { direction: 'recv' })
    const consumed = await ok(host, 'consumedata', { dataProducerId: announced.id, transportId: recv.id })
    t.same(Object.keys(consumed).sort(), ['appData', 'dataProducerId', 'id', 'label', 'protocol', 'sctpStreamParameters'])
    t.match(consumed, { dataProducerId: announced.id, label: 'netplay-input', protocol: '', appData: { userid: identity.userid } })
    // The guest asked for an unordered channel with a 3 s packet lifetime (what EmulatorJS-SFU does):
    // the host's end of the relay keeps it, so late inputs are not retransmitted ahead of new ones.
    t.match(consumed.sctpStreamParameters, { ordered: false, maxPacketLifeTime: 3000 }, 'the sender\'s delivery is kept through the relay')
    const twice = await ok(host, 'sfu-consume-data', { dataProducerId: announced.id, transportId: recv.id })
    t.not(twice.id, consumed.id, 'the real host consumes each input channel twice: allowed (family C alias)')
    t.equal((await host.call('consumedata', { dataProducerId: own, transportId: recv.id })).err, 'producer not found', 'the unguarded producer cannot be consumed')

    const replaced = await ok(guest, 'sfu-produce-data', { transportId: send.id, sctpStreamParameters: SCTP(2), label: 'netplay-input', protocol: '' })
    t.not(replaced, own)
    const closed = await host.inbox.take('data-consumer-closed')
    t.equal(closed.dataProducerId, announced.id, 'the host learns the old relay closed')
    const next = await host.inbox.take('new-data-producer')
    t.same(await ok(host, 'sfu-get-data-producers'), [{ id: next.id, kind: 'data' }], 'one input channel per label and sender')

    const chat = await ok(guest, 'producedata', { transportId: send.id, sctpStreamParameters: SCTP(3), label: 'chat', protocol: 'json' })
    t.same(await host.inbox.take('new-data-producer', (d) => d.id === chat), { id: chat }, 'other labels are announced as they are')

    const watcherSend = await ok(watcher, 'sfu-create-transport', { direction: 'send' })
    t.equal((await watcher.call('producedata', { transportId: watcherSend.id, sctpStreamParameters: SCTP(4), label: 'netplay-input' })).err, 'spectators cannot produce')
    t.equal((await watcher.call('sfu-produce', { transportId: watcherSend.id, kind: 'video', rtpParameters: VP8(9) })).err, 'spectators cannot produce')
    t.match(server.app.netplay.sfu.stats(), { dataProducers: 2, dataConsumers: 0 }, 'the host\'s consumers of the replaced relay closed with it')
  })

  t.test('only the caller\'s room is visible', async (t) => {
    const server = await sfuServer(t)
    const hostA = await member(server, 'host-a', 'room-a', { open: true })
    const hostB = await member(server, 'host-b', 'room-b', { open: true })
    const caps = await ok(hostA, 'sfu-get-router-rtp-capabilities')
    const sendA = await ok(hostA, 'sfu-create-transport', { direction: 'send' })
    const videoA = await ok(hostA, 'sfu-produce', { transportId: sendA.id, kind: 'video', rtpParameters: VP8(1) })
    const dataA = await ok(hostA, 'producedata', { transportId: sendA.id, sctpStreamParameters: SCTP(1), label: 'chat' })
    t.same(await ok(hostB, 'sfu-get-producers'), [])
    t.same(await ok(hostB, 'sfu-get-data-producers'), [])
    const recvB = await ok(hostB, 'sfu-create-transport', { direction: 'recv' })
    t.equal((await hostB.call('sfu-consume', { producerId: videoA, transportId: recvB.id, rtpCapabilities: caps })).err, 'producer not found')
    t.equal((await hostB.call('consumedata', { dataProducerId: dataA, transportId: recvB.id })).err, 'producer not found')
    t.equal((await hostB.call('sfu-connect-transport', { transportId: sendA.id, dtlsParameters: {} })).err, 'transport not found')
    t.notOk(hostB.inbox.all('new-producer').length, 'no announcement crosses rooms')
    const outsider = server.track(await ioClient(server, { token: await server.token('outsider') }))
    t.equal((await outsider.call('sfu-create-transport', { direction: 'send' })).err, 'not in room')
    t.same(await ok(outsider, 'sfu-get-router-rtp-capabilities'), caps, 'capabilities before joining: the same for every room, and no router made for them')
    t.equal(server.app.netplay.sfu.stats().rooms, 2)
  })

  t.test('limits per connection', async (t) => {
    const server = await sfuServer(t, { limits: { transports: 2, dataProducers: 1 } })
    const host = await member(server, 'host', 'limits', { open: true })
    const first = await ok(host, 'sfu-create-transport', { direction: 'send' })
    await ok(host, 'sfu-create-transport', { direction: 'recv' })
    t.equal((await host.call('sfu-create-transport', { direction: 'send' })).err, 'too many transports (limit 2)')
    await ok(host, 'producedata', { transportId: first.id, sctpStreamParameters: SCTP(1), label: 'a' })
    t.equal((await host.call('producedata', { transportId: first.id, sctpStreamParameters: SCTP(2), label: 'b' })).err, 'too many data producers (limit 1)')
    t.type(await ok(host, 'producedata', { transportId: first.id, sctpStreamParameters: SCTP(3), label: 'a' }), 'string', 'replacing a label is not an extra producer')
  })

  t.test('whoever goes takes their media along; the last one out closes the router', async (t) => {
    const server = await sfuServer(t)
    const host = await member(server, 'host', 'cleanup', { open: true })
    const guest = await member(server, 'guest', 'cleanup')
    const caps = await ok(host, 'sfu-get-router-rtp-capabilities')
    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    const video = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    const recv = await ok(guest, 'sfu-create-transport', { direction: 'recv' })
    await ok(guest, 'sfu-consume', { producerId: video, transportId: recv.id, rtpCapabilities: caps })
    const guestSend = await ok(guest, 'sfu-create-transport', { direction: 'send' })
    await ok(guest, 'producedata', { transportId: guestSend.id, sctpStreamParameters: SCTP(1), label: 'netplay-input' })
    t.match(server.app.netplay.sfu.stats(), { rooms: 1, transports: 3, producers: 1, consumers: 1, dataProducers: 1 })

    t.equal(await ok(guest, 'sfu-recreate-transports'), true)
    t.match(server.app.netplay.sfu.stats(), { transports: 1, consumers: 0, dataProducers: 0 }, 'a network switch drops the caller\'s transports and what rode on them')
    t.same(await ok(host, 'sfu-get-data-producers'), [], 'and its input relay')

    await ok(guest, 'leave-room', { roomName: 'cleanup' })
    await sleep(20)
    t.match(server.app.netplay.sfu.stats(), { rooms: 1, transports: 1 })
    host.close()
    await sleep(200)
    t.match(server.app.netplay.sfu.stats(), { rooms: 0, transports: 0, producers: 0 }, 'the empty room closed its router')
  })

  t.test('a reconnect keeps the stream until the new socket builds its transports', async (t) => {
    const server = await sfuServer(t, {}, { reconnectGraceMs: 30_000 })
    const host = await member(server, 'host', 'blip', { open: true })
    const guest = await member(server, 'guest', 'blip')
    const caps = await ok(host, 'sfu-get-router-rtp-capabilities')
    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    const video = await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    const recv = await ok(guest, 'sfu-create-transport', { direction: 'recv' })
    const consumer = await ok(guest, 'sfu-consume', { producerId: video, transportId: recv.id, rtpCapabilities: caps })

    host.socket.io.engine.close() // a network blip (no clean disconnect): the seat is held for the grace
    await sleep(100)
    t.same(await ok(guest, 'sfu-get-producers'), [{ id: video, kind: 'video' }], 'the host\'s stream stays up while it reconnects')
    const back = await member(server, 'host', 'blip')
    t.same(await ok(back, 'sfu-get-producers'), [], 'the same identity: its own producer is not listed to it')
    const again = await ok(back, 'sfu-create-transport', { direction: 'send' })
    t.same(await guest.inbox.take('consumer-closed'), { consumerId: consumer.id, producerId: video, kind: 'video' }, 'the old socket\'s transports retire once the new one builds')
    t.equal((await back.call('sfu-connect-transport', { transportId: send.id, dtlsParameters: {} })).err, 'transport not found')
    const fresh = await ok(back, 'sfu-produce', { transportId: again.id, kind: 'video', rtpParameters: VP8(2) })
    t.same(await guest.inbox.take('new-producer', (d) => d.id === fresh), { id: fresh, kind: 'video' })
    t.match(server.app.netplay.sfu.stats(), { transports: 2, producers: 1 }, 'no stale transports count against the limit')
  })

  t.test('a killed worker is replaced without exiting; the room is told and rebuilds', async (t) => {
    const server = await sfuServer(t, { workerRespawnDelayMs: 100 })
    const host = await member(server, 'host', 'phoenix', { open: true })
    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    const before = await workerPids()
    t.equal(before.length, 1, 'one worker process')
    process.kill(before[0] as number, 'SIGKILL')
    t.same(await host.inbox.take('sfu-media-reset', () => true, 5000), { reason: 'media server restarted' })
    for (let i = 0; i < 100 && !server.app.netplay.sfu.available; i++) await sleep(50)
    t.equal(server.app.netplay.sfu.available, true, 'available again once the replacement runs')
    t.same(await host.ack('sfu-available', {}), [{ available: true }])
    t.equal((await host.call('sfu-connect-transport', { transportId: send.id, dtlsParameters: {} })).err, 'transport not found', 'the old transports are gone')
    const again = await ok(host, 'sfu-create-transport', { direction: 'send' })
    t.type(await ok(host, 'sfu-produce', { transportId: again.id, kind: 'video', rtpParameters: VP8(2) }), 'string', 'the room rebuilt on the new worker')
    t.match(server.app.netplay.sfu.stats(), { workers: 1, workerReplacements: 1, rooms: 1, producers: 1 })
    const after = await workerPids()
    t.equal(after.length, 1)
    t.not(after[0], before[0])
  })

  t.test('readiness and metrics follow the workers', async (t) => {
    const server = await sfuServer(t, { workerRespawnDelayMs: 600_000 })
    const host = await member(server, 'host', 'metrics', { open: true })
    const send = await ok(host, 'sfu-create-transport', { direction: 'send' })
    await ok(host, 'sfu-produce', { transportId: send.id, kind: 'video', rtpParameters: VP8(1) })
    t.same((await server.get('/readyz')).body, { ready: true, reasons: {} })
    const metrics = String((await server.get('/metrics')).body)
    t.match(metrics, /netplay_sfu_workers 1/)
    t.match(metrics, /netplay_sfu_objects\{kind="transports"\} 1/)
    t.match(metrics, /netplay_sfu_objects\{kind="producers"\} 1/)
    const [pid] = await workerPids()
    process.kill(pid as number, 'SIGKILL')
    await host.inbox.take('sfu-media-reset', () => true, 5000)
    const down = await server.get('/readyz')
    t.equal(down.status, 503)
    t.same(down.body, { ready: false, reasons: { sfu: 'no mediasoup worker is running' } }, 'unready while no worker runs')
    t.same(await host.ack('sfu-available', {}), [{ available: false }], 'and clients are told the truth')
    t.equal((await host.call('sfu-create-transport', { direction: 'send' })).err, 'sfu unavailable')
    t.match(String((await server.get('/metrics')).body), /netplay_sfu_workers 0/)
  })

  t.test('app.close() stops every worker process', async (t) => {
    const { default: Fastify } = await import('fastify')
    const { default: netplay } = await import('../../index.ts')
    const app = Fastify({ logger: false })
    await app.register(netplay, { auth: false, sfu: { workerBin: workerBinary() as string, workers: 2, port: 0, listenIp: '127.0.0.1' } })
    await app.ready()
    const pids = await workerPids()
    t.equal(pids.length, 2)
    await app.close()
    for (const pid of pids) t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} exited`)
  })
})
