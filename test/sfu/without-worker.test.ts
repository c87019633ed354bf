// The SFU plugin around mediasoup, with no worker running: boot errors,
// options checked against mediasoup's own codec rules, the `required: false`
// mode that keeps every other feature up, ICE over HTTP and the socket, and
// secrets kept out of the logs. These run on every machine.
import t from 'tap'
import Fastify from 'fastify'
import netplay from '../../index.ts'
import { defaultAnnouncedAddress, loadMediasoup, verifyTurnCredentials } from '../../plugins/sfu/index.ts'
import { startNetplay, TOKEN_AUTH } from '../helpers/netplay-server.ts'
import { ioClient, sfuExtra } from '../helpers/netplay-clients.ts'
import { captureLogs } from '../helpers/logs.ts'

const NO_WORKER = '/nonexistent/mediasoup-worker'
const TURN_SECRET = 'turn-shared-secret-for-tests'

async function bootError (options: Record<string, unknown>): Promise<{ code?: string, message: string }> {
  const app = Fastify({ logger: false })
  try {
    await app.register(netplay, { auth: false, sfu: options })
    await app.ready()
  } catch (err) {
    return err as { code?: string, message: string }
  } finally {
    await app.close()
  }
  return { message: 'booted' }
}

t.test('a missing mediasoup module is a coded error that says how to install it', async (t) => {
  const err = await loadMediasoup('mediasoup-that-is-not-installed').then(() => ({ code: 'loaded', message: '' }), (e: unknown) => e as { code: string, message: string })
  t.equal(err.code, 'FST_NETPLAY_SFU_MEDIASOUP_MISSING')
  t.match(err.message, /npm install mediasoup/)
  t.match(err.message, /MEDIASOUP_WORKER_BIN/)
})

t.test('a worker that cannot start fails the boot with a coded error naming the binary', async (t) => {
  const err = await bootError({ workerBin: NO_WORKER, workers: 1, port: 0 })
  t.equal(err.code, 'FST_NETPLAY_SFU_WORKER_FAILED')
  t.match(err.message, NO_WORKER)
  t.match(err.message, /MEDIASOUP_WORKER_BIN/)
})

t.test('options are validated at registration, codecs by mediasoup\'s own rules', async (t) => {
  const codec = await bootError({ workerBin: NO_WORKER, mediaCodecs: [{ kind: 'video', mimeType: 'video/NOPE', clockRate: 90000 }] })
  t.equal(codec.code, 'FST_NETPLAY_OPTIONS_INVALID', 'an unknown codec')
  t.match(codec.message, /sfu\.mediaCodecs/)
  const range = await bootError({ workerBin: NO_WORKER, portRange: { min: 50000, max: 40000 } })
  t.equal(range.code, 'FST_NETPLAY_OPTIONS_INVALID')
  t.match(range.message, /sfu\.portRange/)
  const ttl = await bootError({ workerBin: NO_WORKER, ice: { turnRest: { urls: ['turn:turn.example.org'], secret: 's', ttlMs: 7 * 86_400_000 } } })
  t.equal(ttl.code, 'FST_NETPLAY_OPTIONS_INVALID', 'a TURN credential TTL above 24 h')
  for (const [option, value] of [['consumersPerProducer', 0], ['consumersPerProducer', 17], ['mediaLostGraceMs', -1], ['mediaLostGraceMs', 600_001], ['mediaLostGraceMs', 1.5]] as const) {
    const err = await bootError({ workerBin: NO_WORKER, ...(option === 'consumersPerProducer' ? { limits: { consumersPerProducer: value } } : { mediaLostGraceMs: value }) })
    t.equal(err.code, 'FST_NETPLAY_OPTIONS_INVALID', `${option}: ${value}`)
    t.match(err.message, option)
  }
  const unknown = await bootError({ workerBin: NO_WORKER, wokers: 2 })
  t.equal(unknown.code, 'FST_NETPLAY_OPTIONS_INVALID', 'a misspelt option')
  // Still checked when the SFU may be missing: a typo must not silently turn it off.
  const lenient = await bootError({ required: false, workerBin: NO_WORKER, mediaCodecs: [{ kind: 'audio', mimeType: 'audio/NOPE', clockRate: 8000 }] })
  t.equal(lenient.code, 'FST_NETPLAY_OPTIONS_INVALID')

  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(netplay, { auth: false, rooms: false, sfu: { workerBin: NO_WORKER } }).ready() }, { code: 'FST_NETPLAY_OPTIONS_INVALID' }, 'the SFU needs rooms')
})

t.test('required: false keeps everything else up and tells clients the SFU is unavailable', async (t) => {
  const server = await startNetplay(t, {
    auth: TOKEN_AUTH,
    sfu: { required: false, workerBin: NO_WORKER, workers: 1, port: 0 }
  })
  t.equal(server.app.netplay.sfu.available, false)
  const host = server.track(await ioClient(server, { token: await server.token('host-sub', 'Host') }))
  t.same(await host.ack('sfu-available', {}), [{ available: false }], 'single-argument ack')
  t.same((await host.call('open-room', { extra: sfuExtra('no-sfu'), maxPlayers: 4 })).err, null, 'rooms work')
  t.equal((await host.call('join-room', { extra: sfuExtra('no-sfu') })).err, null)
  for (const [event, payload] of [
    ['sfu-get-router-rtp-capabilities', {}],
    ['sfu-create-transport', { direction: 'send' }],
    ['sfu-connect-transport', { transportId: 'x', dtlsParameters: {} }],
    // Family C (generation 1) names of producedata / consumedata: the same events, not unknown ones.
    ['producedata', { transportId: 'x', sctpStreamParameters: { streamId: 1 }, label: 'netplay-input', protocol: '' }],
    ['sfu-produce-data', { transportId: 'x', sctpStreamParameters: { streamId: 1 }, label: 'ejs-inputs', protocol: 'json' }],
    ['consumedata', { dataProducerId: 'x', transportId: 'y' }],
    ['sfu-consume-data', { dataProducerId: 'x', transportId: 'y' }]
  ] as const) {
    t.equal((await host.call(event, payload)).err, 'sfu unavailable', event)
  }
  t.equal((await host.call('sfu-create-transport', { direction: 'sideways' })).err, 'invalid payload', 'payloads are still validated')
  t.equal((await host.call('sfu-produce-data', { label: 'ejs-inputs' })).err, 'invalid payload', 'an alias is validated like its event')
  t.same((await host.call('sfu-get-producers', {})).data, [], 'nothing to list')
  t.same(server.app.netplay.sfu.stats(), {
    available: false, workers: 0, workerReplacements: 0, rooms: 0, transports: 0, producers: 0, consumers: 0, dataProducers: 0, dataConsumers: 0, inputs: { forwarded: 0, refused: 0, guardSeconds: 0 }
  })
  const outsider = server.track(await ioClient(server, { token: await server.token('outsider') }))
  t.equal((await outsider.call('sfu-get-data-producers', {})).err, 'not in room', 'only the caller\'s room is visible')
})

t.test('ICE over HTTP and the socket: STUN, static TURN and per-identity TURN REST credentials', async (t) => {
  const logs = captureLogs()
  const app = Fastify({ logger: { level: 'debug', stream: logs.stream } })
  t.teardown(() => app.close())
  await app.register(netplay, {
    auth: TOKEN_AUTH,
    sfu: {
      required: false,
      workerBin: NO_WORKER,
      announcedAddress: 'sfu.example.org',
      ice: {
        stun: ['stun:stun.example.org:3478'],
        turn: [{ urls: 'turn:static.example.org:3478', username: 'static-user', credential: 'static-pass' }],
        turnRest: { urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'], secret: [TURN_SECRET, 'retired-secret'], ttlMs: 600_000 }
      }
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const { token } = await app.netplay.auth.mint({ sub: 'alice', kind: 'read' })

  const refused = await fetch(`${url}/ice`)
  t.equal(refused.status, 401, 'authenticated')
  const response = await fetch(`${url}/ice`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(response.status, 200)
  t.equal(response.headers.get('cache-control'), 'no-store')
  const body = await response.json() as { iceServers: Array<{ urls: unknown, username?: string, credential?: string }>, nodeId: string, url: string, announcedIp: string }
  t.equal(body.nodeId, app.netplay.rooms.nodeId)
  t.equal(body.url, url)
  t.equal(body.announcedIp, 'sfu.example.org')
  t.same(body.iceServers[0], { urls: ['stun:stun.example.org:3478'] })
  t.same(body.iceServers[1], { urls: 'turn:static.example.org:3478', username: 'static-user', credential: 'static-pass' })
  const rest = body.iceServers[2] as { urls: string[], username: string, credential: string }
  t.same(rest.urls, ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349'])
  const identity = await app.netplay.auth.verify(token)
  const [expiry, userid] = rest.username.split(':')
  t.equal(userid, identity.userid, 'bound to the token\'s identity')
  const lifetime = Number(expiry) * 1000 - Date.now()
  t.ok(lifetime > 590_000 && lifetime <= 600_000, `expires after the configured TTL (${lifetime} ms)`)
  t.ok(verifyTurnCredentials({ secret: TURN_SECRET, username: rest.username, credential: rest.credential }), 'a TURN server with the secret accepts it')

  const sockets: Array<{ close (): unknown }> = []
  t.teardown(() => { for (const s of sockets) s.close() })
  const socket = await ioClient({ url, track: (c: { close (): unknown }) => { sockets.push(c); return c } } as never, { token })
  const over = await socket.call('sfu-get-ice-servers', {})
  t.equal(over.err, null)
  t.equal(over.data.iceServers.length, 3)
  t.match(over.data.iceServers[2].username, new RegExp(`^\\d+:${identity.userid}$`))

  const all = logs.lines.join('\n')
  for (const secret of [TURN_SECRET, 'static-pass', rest.credential, over.data.iceServers[2].credential, token]) {
    t.notOk(all.includes(secret), 'no credential in any log line')
  }
})

t.test('listening on every interface with nothing announced, ICE candidates carry this host\'s address, not 0.0.0.0', async (t) => {
  const lan = { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }], eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false }, { address: '192.168.1.20', family: 'IPv4', internal: false }] }
  const loopbackOnly = { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }] }
  type Interfaces = Parameters<typeof defaultAnnouncedAddress>[1]
  t.equal(defaultAnnouncedAddress('0.0.0.0', lan as unknown as Interfaces), '192.168.1.20', 'the first external IPv4 address')
  t.equal(defaultAnnouncedAddress('::', lan as unknown as Interfaces), '192.168.1.20')
  t.equal(defaultAnnouncedAddress('0.0.0.0', loopbackOnly as unknown as Interfaces), '127.0.0.1', 'loopback when there is no other')
  t.equal(defaultAnnouncedAddress('10.0.0.5', lan as unknown as Interfaces), undefined, 'a specific listen address is its own candidate')

  const server = await startNetplay(t, { sfu: { required: false, workerBin: NO_WORKER, workers: 1, port: 0 } })
  const response = await fetch(`${server.url}/ice`)
  const body = await response.json() as { announcedIp: string | null }
  t.equal(body.announcedIp, defaultAnnouncedAddress('0.0.0.0'), '/ice names the address candidates carry')
  t.not(body.announcedIp, '0.0.0.0')
})
