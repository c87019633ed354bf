// Behind a reverse proxy (RomM's nginx) every player reaches the server from
// the proxy's address. Without --trust-proxy they all shared one HTTP bucket:
// some 20 players with the netplay menu open (each polls /list every second)
// got 429s, which generation-1 pages answer with a token refresh per poll.
import t from 'tap'
import { io } from 'socket.io-client'
import { configFrom, type StandaloneConfig } from '../../examples/standalone/config.ts'
import { buildServer } from '../../examples/standalone/app.ts'

function config (argv: string[], env: NodeJS.ProcessEnv = {}): StandaloneConfig {
  const result = configFrom(['--no-demo', ...argv], { NETPLAY_SFU: 'off', LOG_LEVEL: 'silent', ...env })
  if (result === 'help') throw new Error('unexpected help')
  return result
}

t.test('--trust-proxy and TRUST_PROXY: true, or proxy addresses and CIDRs; anything else is a startup error', async (t) => {
  t.equal(config([]).trustProxy, false, 'off by default')
  t.equal(config(['--trust-proxy', 'true']).trustProxy, true)
  t.same(config([], { TRUST_PROXY: '10.0.0.2, 172.16.0.0/12,loopback' }).trustProxy, ['10.0.0.2', '172.16.0.0/12', 'loopback'])
  t.equal(config(['--trust-proxy', 'off'], { TRUST_PROXY: 'true' }).trustProxy, false, 'the flag wins')
  t.same(config(['--trust-proxy', 'loopback']).netplay.signaling, { socketIo: { corsOrigins: ['*'], trustProxy: ['loopback'] } }, 'Socket.IO handshakes get the same')
  t.throws(() => config(['--trust-proxy', 'nginx']), /--trust-proxy: "nginx" is not an address/)
  t.throws(() => config([], { TRUST_PROXY: '2' }), /TRUST_PROXY: "2" is not an address/, 'no hop counts (Fastify 5 refuses them)')
})

async function polls (trustProxy: string[]): Promise<{ statuses: number[], handshakeIps: string[] }> {
  const app = await buildServer(config(trustProxy))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  // 30 players behind one proxy, each polling /list twice: 60 requests in a
  // moment, over the http limit's burst (40) for a single address.
  const statuses: number[] = []
  for (let round = 0; round < 2; round++) {
    const answers = await Promise.all(Array.from({ length: 30 }, async (_, i) => (await fetch(`${url}/list?domain=site&game_id=1`, { headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } })).status))
    statuses.push(...answers)
  }
  const handshakeIps: string[] = []
  for (const player of ['198.51.100.7', '198.51.100.8']) {
    const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: { 'x-forwarded-for': player } })
    const error = await new Promise<string | null>((resolve) => { socket.on('connect', () => resolve(null)); socket.on('connect_error', (err) => resolve(err.message)) })
    handshakeIps.push(error ?? app.netplay.signaling.connection(socket.id ?? '')?.ip ?? 'none')
    socket.close()
  }
  return { statuses, handshakeIps }
}

t.test('with --trust-proxy loopback: each player behind the proxy has its own bucket and address', async (t) => {
  const { statuses, handshakeIps } = await polls(['--trust-proxy', 'loopback'])
  t.same(new Set(statuses), new Set([200]), '60 polls from 30 players: all served')
  t.same(handshakeIps, ['198.51.100.7', '198.51.100.8'], 'Socket.IO connections carry the forwarded address')
})

t.test('a trusted list does not believe X-Forwarded-For from a peer outside it', async (t) => {
  const { handshakeIps } = await polls(['--trust-proxy', '10.9.9.9'])
  t.same(handshakeIps.length, 2)
  t.ok(handshakeIps.every((ip) => ip === '127.0.0.1' || ip === 'rate limited'), `the peer's own address: ${handshakeIps.join(', ')}`)
})

t.test('without it: the proxy is one client (the old behaviour, still the default)', async (t) => {
  const { statuses, handshakeIps } = await polls([])
  t.ok(statuses.includes(429), 'the shared bucket runs out')
  // New Socket.IO connections share it too: refused while it is empty (a
  // token may have come back by then), and never under the forwarded address.
  t.ok(handshakeIps.every((ip) => ip === 'rate limited' || ip === '127.0.0.1'), `the proxy's address or refused: ${handshakeIps.join(', ')}`)
})
