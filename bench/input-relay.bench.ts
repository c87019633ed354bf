// Input relay latency, guest -> host, through the SFU: with the guard (the
// guest's input channel consumed on a DirectTransport, validated,
// re-produced for the host) and without it (the host consumes the guest's
// DataProducer directly), measured in the same run with the demo page's real
// mediasoup-client in headless Chromium. Send and arrival times come from
// `performance.timeOrigin + performance.now()` in the two tabs. Prints
// figures; asserts nothing. Needs a mediasoup worker and Chromium; says so
// and exits 0 when either is missing.
//
//   npx node bench/input-relay.bench.ts
//   npx node bench/input-relay.bench.ts --seconds 10 --rounds 3 --rate 60
//
// Target: the guard adds < 1 ms at p99.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Browser } from 'playwright-core'
import netplay from '../index.ts'
import { registerDemo } from '../examples/demo/routes.ts'
import { CHROMIUM, CHROMIUM_FLAGS, browserSkip, buildDemoBundle, waitForState } from '../test/helpers/browser.ts'
import { WORKER_SKIP, workerBinary } from '../test/helpers/mediasoup.ts'

function flag (name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}

const SECONDS = Number(flag('seconds') ?? 8)
const ROUNDS = Number(flag('rounds') ?? 3)
// One input per emulated frame (60 fps) stays inside the guard's default 120/s bucket.
const RATE = Number(flag('rate') ?? 60)

type Mode = 'guarded' | 'direct'

async function server (mode: Mode, workerBin: string): Promise<{ app: FastifyInstance, url: string }> {
  const app = Fastify({ logger: false })
  await app.register(netplay, {
    auth: false,
    // Direct: no label is an input label, so the host is told the guest's own producer.
    datachannelGuard: mode === 'direct' ? { labels: ['no-input-label-in-this-run'] } : {},
    sfu: { workerBin, workers: 1, port: 0, listenIp: '127.0.0.1' }
  })
  await registerDemo(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` }
}

interface Sample { latencies: number[], sent: number, lost: number }

async function round (browser: Browser, url: string, room: string): Promise<Sample> {
  const context = await browser.newContext()
  try {
    const host = await context.newPage()
    await host.goto(`${url}/demo?role=host&room=${room}`)
    await waitForState(host, (s) => s.status === 'hosting', 'host')
    const guest = await context.newPage()
    await guest.goto(`${url}/demo?role=guest&room=${room}`)
    await waitForState(guest, (s) => s.status === 'playing', 'guest')
    // The page paces itself: no round trip through the bench per input.
    await guest.evaluate(async ({ rate, seconds }) => {
      const demo = (window as any).demo
      const total = Math.round(rate * seconds)
      await new Promise<void>((resolve) => {
        let sent = 0
        const timer = setInterval(() => {
          demo.sendInput(sent % 12, sent % 2)
          if (++sent >= total) { clearInterval(timer); resolve() }
        }, 1000 / rate)
      })
    }, { rate: RATE, seconds: SECONDS })
    await new Promise((resolve) => setTimeout(resolve, 500))
    const sentTimes = await guest.evaluate(() => (window as any).demo.state.times as Record<string, number>)
    const arrivals = await host.evaluate(() => (window as any).demo.state.times as Record<string, number>)
    const latencies: number[] = []
    let lost = 0
    for (const [key, at] of Object.entries(sentTimes)) {
      const arrived = arrivals[key]
      if (arrived === undefined) lost++
      else latencies.push(arrived - at)
    }
    return { latencies, sent: Object.keys(sentTimes).length, lost }
  } finally {
    await context.close()
  }
}

function percentile (sorted: number[], q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const workerBin = workerBinary()
const noBrowser = browserSkip()
if (workerBin === null || noBrowser !== false) {
  console.log(`input-relay: skipped: ${workerBin === null ? WORKER_SKIP : noBrowser}`)
  process.exit(0)
}

await buildDemoBundle()
const { chromium } = await import('playwright-core')
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS })
const servers = { guarded: await server('guarded', workerBin), direct: await server('direct', workerBin) }
console.log(`input relay latency, guest -> host through mediasoup (${RATE} inputs/s for ${SECONDS} s per round, ${ROUNDS} rounds, modes alternating)`)
console.log('mode      round  inputs  lost   p50 ms   p90 ms   p99 ms   max ms')
const p50: Record<Mode, number[]> = { guarded: [], direct: [] }
const p99: Record<Mode, number[]> = { guarded: [], direct: [] }
try {
  for (let r = 1; r <= ROUNDS; r++) {
    for (const mode of (r % 2 === 1 ? ['guarded', 'direct'] : ['direct', 'guarded']) as Mode[]) {
      const sample = await round(browser, servers[mode].url, `${mode}-${r}`)
      const sorted = sample.latencies.sort((a, b) => a - b)
      p50[mode].push(percentile(sorted, 0.5))
      p99[mode].push(percentile(sorted, 0.99))
      console.log(`${mode.padEnd(9)} ${String(r).padStart(5)}  ${String(sample.sent).padStart(6)}  ${String(sample.lost).padStart(4)}  ${[0.5, 0.9, 0.99, 1].map((q) => percentile(sorted, q).toFixed(3).padStart(7)).join('  ')}`)
    }
  }
  const added50 = median(p50.guarded) - median(p50.direct)
  const added99 = median(p99.guarded) - median(p99.direct)
  console.log(`\nmedian of rounds: guarded p50 ${median(p50.guarded).toFixed(3)} ms, p99 ${median(p99.guarded).toFixed(3)} ms; direct p50 ${median(p50.direct).toFixed(3)} ms, p99 ${median(p99.direct).toFixed(3)} ms`)
  console.log(`the guard adds ${added50.toFixed(3)} ms at p50 and ${added99.toFixed(3)} ms at p99 (target < 1 ms at p99: ${added99 < 1 ? 'met' : 'MISSED'})`)
  const { inputs } = servers.guarded.app.netplay.sfu.stats()
  const handled = inputs.forwarded + inputs.refused
  console.log(`guarded server: ${inputs.forwarded} inputs forwarded, ${inputs.refused} refused; ${(1e6 * inputs.guardSeconds / Math.max(1, handled)).toFixed(1)} µs per input in Node (receive, check, forward)`)
} finally {
  await browser.close()
  await servers.guarded.app.close()
  await servers.direct.app.close()
}
