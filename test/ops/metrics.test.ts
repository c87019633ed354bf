// GET /metrics: Prometheus text from the app's own registry, with figures
// that move when real clients join, fail to authenticate or hit a limit.
import t from 'tap'
import { register as globalRegistry } from 'prom-client'
import { TOKEN_AUTH, startNetplay, type NetplayServer } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'
import { metric, metricSum, parseMetrics, type Sample } from '../helpers/prometheus.ts'
import { sfuExtra } from '../helpers/netplay-clients.ts'

const NAMES = [
  'netplay_rooms', 'netplay_seats', 'netplay_connections', 'netplay_joins_total', 'netplay_join_duration_seconds',
  'netplay_auth_failures_total', 'netplay_rate_limit_drops_total', 'netplay_abuse_strikes_total'
]

async function scrape (server: NetplayServer): Promise<Sample[]> {
  const response = await server.app.inject({ method: 'GET', url: '/metrics' })
  if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`)
  return parseMetrics(response.body)
}

t.test('Prometheus text with every netplay metric, and default process metrics', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH })
  const response = await server.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  for (const name of NAMES) t.match(response.body, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), `${name} is exposed`)
  t.match(response.body, /^# TYPE netplay_join_duration_seconds histogram$/m)
  t.match(response.body, /^netplay_process_cpu_user_seconds_total \d/m, 'process metrics, under the same prefix')
  const samples = parseMetrics(response.body)
  t.equal(metric(samples, 'netplay_rooms'), 0)
  t.equal(metric(samples, 'netplay_seats'), 0)
  t.equal(metric(samples, 'netplay_connections'), 0)
})

t.test('process metrics: memory, CPU, and an event loop stall shown at the next scrape', async (t) => {
  const server = await startNetplay(t, { ops: { metrics: { eventLoopResolutionMs: 10 } } })
  const first = await scrape(server)
  t.ok(metric(first, 'netplay_process_resident_memory_bytes') > 10 * 1024 * 1024, 'resident memory')
  t.ok(metric(first, 'netplay_process_cpu_seconds_total') > 0, 'CPU time')
  t.ok(metric(first, 'netplay_nodejs_heap_size_used_bytes') > 0, 'heap used')
  t.equal(metric(first, 'netplay_nodejs_version_info', { version: process.version }), 1)
  // Block the event loop for 200 ms: the next scrape's maximum delay shows it, and the one after no longer does.
  await new Promise((resolve) => setTimeout(resolve, 50))
  const until = Date.now() + 200
  while (Date.now() < until) { /* a stalled loop */ }
  await new Promise((resolve) => setTimeout(resolve, 50))
  const stalled = await scrape(server)
  t.ok(metric(stalled, 'netplay_nodejs_eventloop_lag_max_seconds') >= 0.15, `the stall is seen (${metric(stalled, 'netplay_nodejs_eventloop_lag_max_seconds')} s)`)
  t.ok(metric(stalled, 'netplay_nodejs_eventloop_lag_p99_seconds') <= metric(stalled, 'netplay_nodejs_eventloop_lag_max_seconds'))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const after = await scrape(server)
  t.ok(metric(after, 'netplay_nodejs_eventloop_lag_max_seconds') < 0.15, 'each scrape covers the time since the previous one')
})

t.test('a bad event loop resolution is refused at registration', async (t) => {
  await t.rejects(startNetplay(t, { ops: { metrics: { eventLoopResolutionMs: 0 } } }), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /ops.metrics.eventLoopResolutionMs/ })
})

t.test('the figures follow real joins, refusals, auth failures and rate-limit drops', async (t) => {
  const server = await startNetplay(t, { auth: TOKEN_AUTH })
  const before = await scrape(server)
  t.equal(metric(before, 'netplay_join_duration_seconds_count'), 0)

  const alice = await ioClient(server, { token: await server.token('alice'), transports: ['websocket'] })
  const extra = sfuExtra('Metered')
  t.strictSame(await alice.ack('open-room', { extra, maxPlayers: 4, password: null }), [null, null])
  t.equal((await alice.ack('join-room', { extra, password: null }))[0], null)
  const bob = await ioClient(server, { token: await server.token('bob'), transports: ['websocket'] })
  t.equal((await bob.ack('join-room', { extra: sfuExtra('Metered', { player_slot: undefined }), password: null }))[0], null)
  t.strictSame(await bob.ack('join-room', { extra: sfuExtra('No Such Room') }), ['no such room'])

  const joined = await scrape(server)
  t.equal(metric(joined, 'netplay_rooms'), 1, 'one room')
  t.equal(metric(joined, 'netplay_seats'), 2, 'two seats')
  t.equal(metric(joined, 'netplay_connections'), 2, 'two connections')
  t.equal(metric(joined, 'netplay_joins_total', { outcome: 'ok' }), 2, 'two joins answered ok')
  t.equal(metric(joined, 'netplay_joins_total', { outcome: 'refused' }), 1, 'one refused')
  t.equal(metric(joined, 'netplay_join_duration_seconds_count'), 3, 'every join-room is timed')
  t.ok(metric(joined, 'netplay_join_duration_seconds_sum') > 0)
  t.equal(metric(joined, 'netplay_join_duration_seconds_bucket', { le: '+Inf' }), 3)

  // Auth failures, by reason: no token over HTTP, a forged token on a socket.
  t.equal((await server.get('/list')).status, 401)
  const forged = await ioClient(server, { token: 'e30.e30.forged', transports: ['websocket'], wait: false })
  await forged.inbox.take('connect_error')
  const failed = await scrape(server)
  t.equal(metric(failed, 'netplay_auth_failures_total', { reason: 'missing_token' }), 1, 'missing_token counted')
  t.equal(metricSum(failed, 'netplay_auth_failures_total'), 2, 'and the forged token under its own reason')

  // Rate-limit drops, by limit: a chat burst past the `chat` bucket (10).
  const acks = await Promise.all(Array.from({ length: 14 }, (_, i) => alice.ack('chat-message', { message: `spam ${i}` })))
  const refused = acks.filter(([err]) => err !== null).length
  t.ok(refused >= 3, `the burst was cut (${refused} refused)`)
  const dropped = await scrape(server)
  t.equal(metric(dropped, 'netplay_rate_limit_drops_total', { limit: 'chat' }), refused, 'every refusal counted under limit="chat"')

  bob.close()
  const after = await waitForMetric(server, 'netplay_connections', 1)
  t.equal(metric(after, 'netplay_connections'), 1, 'a closed connection is no longer counted')
})

t.test('two apps in one process keep separate registries', async (t) => {
  const a = await startNetplay(t, { auth: TOKEN_AUTH })
  const b = await startNetplay(t, { auth: TOKEN_AUTH })
  t.not(a.app.netplay.ops.metrics, b.app.netplay.ops.metrics)
  t.equal(globalRegistry.getSingleMetric('netplay_rooms'), undefined, 'nothing in prom-client\'s global registry')

  const alice = await ioClient(a, { token: await a.token('alice'), transports: ['websocket'] })
  const extra = sfuExtra('Only On A')
  t.strictSame(await alice.ack('open-room', { extra, maxPlayers: 4, password: null }), [null, null])
  t.equal((await alice.ack('join-room', { extra, password: null }))[0], null)
  t.equal((await a.get('/list')).status, 401)

  const onA = await scrape(a)
  const onB = await scrape(b)
  t.equal(metric(onA, 'netplay_rooms'), 1)
  t.equal(metric(onB, 'netplay_rooms'), 0, 'b has no room')
  t.equal(metric(onA, 'netplay_joins_total', { outcome: 'ok' }), 1)
  t.equal(metric(onB, 'netplay_joins_total', { outcome: 'ok' }), 0, 'b counted no join')
  t.equal(metric(onA, 'netplay_connections'), 1)
  t.equal(metric(onB, 'netplay_connections'), 0)
  t.equal(metricSum(onA, 'netplay_auth_failures_total'), 1)
  t.equal(metricSum(onB, 'netplay_auth_failures_total'), 0, 'b counted no auth failure')
})

async function waitForMetric (server: NetplayServer, name: string, value: number, timeoutMs = 2000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const samples = await scrape(server)
    if (metric(samples, name) === value || Date.now() > deadline) return samples
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
