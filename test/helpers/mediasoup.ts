// Whether a real mediasoup worker can run here, and what the SFU tests that
// need one share: a server, family B members, RTP/SCTP parameters, the
// worker processes, and a real WebRTC endpoint (mediasoup-client in
// Chromium) for what only a DTLS peer can show. The worker binary comes from
// MEDIASOUP_WORKER_BIN, else from where mediasoup's install step puts it.
// Tests that need one skip with one line when there is none.
import { accessSync, constants } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { BrowserContext, Page } from 'playwright-core'
import { startNetplay, TOKEN_AUTH, type NetplayServer, type NetplayServerOptions } from './netplay-server.ts'
import { ioClient, sfuExtra, type IoClient } from './netplay-clients.ts'

function executable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The worker binary to use, or null. */
export function workerBinary (): string | null {
  const fromEnv = process.env.MEDIASOUP_WORKER_BIN
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : null
  try {
    const root = createRequire(import.meta.url).resolve('mediasoup/package.json').replace(/package\.json$/, '')
    const installed = `${root}worker/out/Release/mediasoup-worker`
    return executable(installed) ? installed : null
  } catch {
    return null
  }
}

export const WORKER_SKIP = 'no mediasoup worker here (set MEDIASOUP_WORKER_BIN to a worker binary to run the SFU tests)'

/** `{ skip }` for t.test: false when a worker exists, else the reason. */
export function needsWorker (): { skip: string | false } {
  return { skip: workerBinary() === null ? WORKER_SKIP : false }
}

// ---------- parameters a real client would send ----------

export const VP8 = (ssrc: number) => ({
  codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc }],
  headerExtensions: [],
  rtcp: { cname: `cname-${ssrc}`, reducedSize: true }
})
export const OPUS = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: {}, rtcpFeedback: [] }],
  encodings: [{ ssrc }],
  headerExtensions: [],
  rtcp: { cname: `cname-${ssrc}`, reducedSize: true }
})
/** What EmulatorJS-SFU's input channel asks for. */
export const SCTP = (streamId: number) => ({ streamId, ordered: false, maxPacketLifeTime: 3000 })

// ---------- a server and its members ----------

/** A token-authenticated server with one worker listening on loopback. */
export async function sfuServer (t: Parameters<typeof startNetplay>[0], sfu: Record<string, unknown> = {}, options: Pick<NetplayServerOptions, 'logStream' | 'rateLimit'> & { reconnectGraceMs?: number } = {}): Promise<NetplayServer> {
  const { reconnectGraceMs, ...rest } = options
  return await startNetplay(t, {
    auth: TOKEN_AUTH,
    rooms: { reconnectGraceMs: reconnectGraceMs ?? 0 },
    sfu: { workerBin: workerBinary() as string, workers: 1, port: 0, listenIp: '127.0.0.1', ...sfu },
    ...rest
  })
}

/** Signaling limits for a test that replays in a second what a real client sends in a minute. */
export const UNHURRIED = { limits: { signaling: { capacity: 10_000, refillPerSecond: 10_000 }, identity: { capacity: 10_000, refillPerSecond: 10_000 } } }

/**
 * Connects `sub` and opens (owner) or joins room `room` as a family B
 * client; `gen1` joins as generation 1 (family C) instead.
 */
export async function member (server: NetplayServer, sub: string, room: string, over: { open?: boolean, spectator?: boolean, gen1?: boolean } = {}): Promise<IoClient> {
  const client = server.track(await ioClient(server, { token: await server.token(sub, sub), transports: ['websocket'] }))
  if (over.open === true) {
    const opened = await client.call('open-room', { extra: sfuExtra(room, { spectator_mode: 1 }), maxPlayers: 4 })
    if (opened.err !== null) throw new Error(`open-room: ${JSON.stringify(opened.err)}`)
  }
  const extra = over.gen1 === true
    ? { room_name: room, domain: 'romm.example', game_id: 7, player_slot: -1, input_mode: 'unorderedRelay' }
    : sfuExtra(room, { player_slot: over.open === true ? 0 : -1, ...(over.spectator === true ? { player_slot: 8, is_spectator: true } : {}) })
  const joined = await client.call('join-room', { extra })
  if (joined.err !== null) throw new Error(`join-room: ${JSON.stringify(joined.err)}`)
  return client
}

/** An error-first call that must succeed: its data. */
export async function ok (client: IoClient, event: string, payload: unknown = {}): Promise<any> {
  const { err, data } = await client.call(event, payload)
  if (err !== null && err !== undefined) throw new Error(`${event}: ${JSON.stringify(err)}`)
  return data
}

/** PIDs of this process's mediasoup-worker children. */
export async function workerPids (): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (Number(fields[1]) === process.pid && comm.startsWith('mediasoup-work')) pids.push(Number(entry))
    } catch {}
  }
  return pids
}

// ---------- a real WebRTC endpoint ----------

let clientBundle: Promise<string> | null = null
/** mediasoup-client bundled for a page (esbuild, once per process), as `window.mediasoupClient`. */
async function mediasoupClientBundle (): Promise<string> {
  clientBundle ??= import('esbuild').then(async ({ build }) => {
    const built = await build({
      stdin: { contents: 'export { Device } from \'mediasoup-client\'', resolveDir: new URL('../../', import.meta.url).pathname, loader: 'js' },
      bundle: true,
      format: 'iife',
      globalName: 'mediasoupClient',
      platform: 'browser',
      target: 'chrome110',
      write: false,
      logLevel: 'warning'
    })
    return built.outputFiles[0]?.text ?? ''
  })
  return await clientBundle
}

/**
 * One member's WebRTC side, as EmulatorJS-SFU runs it: mediasoup-client's
 * Device in a Chromium page, its transports signaled through the member's
 * socket (`client`) on the Node side, so the test reads that socket's inbox
 * and acks as usual. Every DTLS, ICE and SCTP byte is real.
 */
export class BrowserPeer {
  readonly page: Page
  readonly client: IoClient

  private constructor (page: Page, client: IoClient) {
    this.page = page
    this.client = client
  }

  /** `origin`: the server's URL; a page of it is a secure context (loopback), as WebRTC needs. */
  static async open (context: BrowserContext, origin: string, client: IoClient): Promise<BrowserPeer> {
    const page = await context.newPage()
    page.on('pageerror', (err) => { throw err })
    await page.goto(`${origin}/healthz`)
    await page.exposeFunction('sfuCall', (event: string, payload: unknown) => client.call(event, payload))
    await page.addScriptTag({ content: await mediasoupClientBundle() })
    const routerRtpCapabilities = await ok(client, 'sfu-get-router-rtp-capabilities')
    await page.evaluate(async (caps) => {
      const w = window as any
      const device = new w.mediasoupClient.Device()
      await device.load({ routerRtpCapabilities: caps })
      w.peer = { device, transports: {}, states: {}, dataProducers: {}, messages: [] }
    }, routerRtpCapabilities)
    return new BrowserPeer(page, client)
  }

  /**
   * Creates a transport on the server and its end in the page; returns its
   * id. `wrongFingerprint` hands the server a DTLS fingerprint that is not
   * the browser's certificate's, so the handshake fails as it does against
   * a client whose certificate changed or was tampered with.
   */
  async createTransport (direction: 'send' | 'recv', options: { wrongFingerprint?: boolean } = {}): Promise<string> {
    const params = await ok(this.client, 'sfu-create-transport', { direction })
    await this.page.evaluate(({ params, direction, wrongFingerprint }) => {
      const w = window as any
      const peer = w.peer
      const transport = direction === 'send' ? peer.device.createSendTransport(params) : peer.device.createRecvTransport(params)
      const answer = (reply: { err: unknown, data: unknown }, done: (data?: unknown) => void, fail: (err: Error) => void, data?: unknown): void => {
        if (reply.err === null || reply.err === undefined) done(data)
        else fail(new Error(String(reply.err)))
      }
      transport.on('connect', ({ dtlsParameters }: any, done: () => void, fail: (err: Error) => void) => {
        if (wrongFingerprint === true) {
          for (const fingerprint of dtlsParameters.fingerprints) fingerprint.value = fingerprint.value.replace(/^../, (hex: string) => hex === 'AA' ? 'BB' : 'AA')
        }
        w.sfuCall('sfu-connect-transport', { transportId: transport.id, dtlsParameters }).then((reply: any) => answer(reply, done, fail))
      })
      transport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }: any, done: (data: unknown) => void, fail: (err: Error) => void) => {
        w.sfuCall('producedata', { transportId: transport.id, sctpStreamParameters, label, protocol, appData }).then((reply: any) => answer(reply, done, fail, { id: reply.data }))
      })
      transport.on('connectionstatechange', (state: string) => { peer.states[transport.id] = state })
      peer.transports[transport.id] = transport
    }, { params, direction, wrongFingerprint: options.wrongFingerprint ?? false })
    return params.id as string
  }

  /**
   * Produces data on a send transport (EmulatorJS-SFU's input channel by
   * default); returns the server's id once the channel opens, or at once
   * with `waitOpen: false`.
   */
  async produceData (transportId: string, options: { label?: string, waitOpen?: boolean } = {}): Promise<string> {
    return await this.page.evaluate(async ({ transportId, label, waitOpen }) => {
      const peer = (window as any).peer
      const producer = await peer.transports[transportId].produceData({ ordered: false, maxPacketLifeTime: 3000, label, protocol: '' })
      peer.dataProducers[producer.id] = producer
      if (waitOpen && producer.readyState !== 'open') await new Promise((resolve) => producer.on('open', resolve))
      return producer.id as string
    }, { transportId, label: options.label ?? 'netplay-input', waitOpen: options.waitOpen ?? true })
  }

  /** Sends `text` as binary UTF-8 (how the generation-2 client sends inputs). */
  async send (dataProducerId: string, text: string): Promise<void> {
    await this.page.evaluate(({ dataProducerId, text }) => {
      (window as any).peer.dataProducers[dataProducerId].send(new TextEncoder().encode(text))
    }, { dataProducerId, text })
  }

  /** Opens the page's end of a data consumer the server created (`consumedata`'s answer); messages are recorded. */
  async consumeData (transportId: string, consumed: Record<string, unknown>): Promise<void> {
    await this.page.evaluate(async ({ transportId, consumed }) => {
      const peer = (window as any).peer
      const consumer = await peer.transports[transportId].consumeData(consumed)
      consumer.binaryType = 'arraybuffer'
      consumer.on('message', (data: ArrayBuffer | string) => {
        peer.messages.push({ consumerId: consumer.id, text: typeof data === 'string' ? data : new TextDecoder().decode(data) })
      })
      if (consumer.readyState !== 'open') await new Promise((resolve) => consumer.on('open', resolve))
    }, { transportId, consumed })
  }

  async messages (): Promise<Array<{ consumerId: string, text: string }>> {
    return await this.page.evaluate(() => (window as any).peer.messages)
  }

  /** The page's view of a transport's connection (`new`, `connecting`, `connected`, `failed`, …). */
  async connectionState (transportId: string): Promise<string> {
    return await this.page.evaluate((id) => (window as any).peer.states[id] ?? 'new', transportId)
  }

  /** Closes the page's end of a transport (its RTCPeerConnection: the browser ends the DTLS session). */
  async closeTransport (transportId: string): Promise<void> {
    await this.page.evaluate((id) => { (window as any).peer.transports[id].close() }, transportId)
  }
}
