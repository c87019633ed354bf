/// <reference lib="dom" />
// The demo page's browser code (bundled by scripts/build-demo.ts with
// mediasoup-client and socket.io-client). It speaks the EmulatorJS-SFU
// generation-2 wire protocol exactly as the real client does: the host
// opens a room, produces an animated canvas and a tone through separate send
// transports and an input data channel, and consumes every announced data
// producer; a guest joins, consumes the host's video and audio and sends
// inputs as binary UTF-8 JSON `{t:"i",f,s,p,k,v}` on `netplay-input`.
// Host and guest tabs of one browser measure the input relay latency on a
// shared clock (a BroadcastChannel carries each input's send time).
import { Device } from 'mediasoup-client'
import type { types } from 'mediasoup-client'
import { io, type Socket } from 'socket.io-client'

type Role = 'host' | 'guest'

export interface DemoState {
  role: Role
  status: string
  error: string | null
  slot: number | null
  /** Host: distinct inputs received (the real host opens two consumers per guest: duplicates are not counted twice). */
  inputsReceived: number
  /** Host: every input message received, duplicates included. */
  messagesReceived: number
  /** Guest: inputs sent. */
  inputsSent: number
  /** Guest: video frames rendered. */
  framesRendered: number
  latencyMs: number[]
  /** Host: received inputs by player index. */
  byPlayer: Record<string, number>
  /** Host: the `player:frame:index:value` key of every distinct input received. */
  inputKeys: string[]
  /** Host: arrival time of each input (by key); guest: send time. `performance.timeOrigin + now()`, shared by tabs of one machine. */
  times: Record<string, number>
  /** Pushed events, for the curious. */
  events: Array<{ event: string, data: unknown }>
  tracks: string[]
}

const params = new URLSearchParams(location.search)
const role: Role = params.get('role') === 'host' ? 'host' : 'guest'
const roomName = params.get('room') ?? 'demo-room'
const token = params.get('token') ?? undefined
const base = params.get('base') ?? location.pathname.replace(/\/demo\/?$/, '')
// `client=gen1`: a guest speaking EmulatorJS-SFU generation 1 (family C): `sfu-produce-data`,
// label `ejs-inputs` with protocol `json`, users-map join ack, and its default input format: a
// snapshot of the whole controller `{player, state: [30 values]}` in every message, naming its
// preferred player (0 unless chosen) rather than its seat, which generation 1 never learns.
const gen1 = params.get('client') === 'gen1'

const state: DemoState = {
  role,
  status: 'starting',
  error: null,
  slot: null,
  inputsReceived: 0,
  messagesReceived: 0,
  inputsSent: 0,
  framesRendered: 0,
  latencyMs: [],
  byPlayer: {},
  inputKeys: [],
  times: {},
  events: [],
  tracks: []
}

const clock = (): number => performance.timeOrigin + performance.now()
const sentAt = new Map<string, number>()
const latencyChannel = new BroadcastChannel(`netplay-demo-${roomName}`)
latencyChannel.onmessage = (event: MessageEvent<{ key: string, at: number }>) => {
  const { key, at } = event.data
  // The input may already be here (the channel is not faster than the SFU): measure either way.
  const arrived = role === 'host' ? state.times[key] : undefined
  if (arrived !== undefined) state.latencyMs.push(arrived - at)
  else sentAt.set(key, at)
}

const socket: Socket = io(location.origin + (params.get('namespace') ?? ''), {
  path: `${base}/socket.io`,
  transports: ['websocket'],
  ...(token !== undefined ? { auth: { token } } : {})
})
socket.onAny((event: string, data: unknown) => { state.events.push({ event, data }) })

function call<T = unknown> (event: string, payload: unknown = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    socket.timeout(10_000).emit(event, payload, (timeout: Error | null, err: unknown, data: T) => {
      if (timeout !== null) reject(timeout)
      else if (err !== null && err !== undefined) reject(new Error(typeof err === 'string' ? err : JSON.stringify(err)))
      else resolve(data)
    })
  })
}

const device = new Device()

async function transport (direction: 'send' | 'recv'): Promise<types.Transport> {
  const info = await call<types.TransportOptions>('sfu-create-transport', { direction })
  const created = direction === 'send' ? device.createSendTransport(info) : device.createRecvTransport(info)
  created.on('connect', ({ dtlsParameters }, done, fail) => {
    call('sfu-connect-transport', { transportId: created.id, dtlsParameters }).then(() => done(), fail)
  })
  if (direction === 'send') {
    created.on('produce', ({ kind, rtpParameters, appData }, done, fail) => {
      call<string>('sfu-produce', { transportId: created.id, kind, rtpParameters, appData }).then((id) => done({ id }), fail)
    })
    created.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, done, fail) => {
      call<string>(gen1 ? 'sfu-produce-data' : 'producedata', { transportId: created.id, sctpStreamParameters, label, protocol, appData }).then((id) => done({ id }), fail)
    })
  }
  return created
}

function extra (slot: number): Record<string, unknown> {
  return { room_name: roomName, domain: location.hostname, game_id: 'demo', netplay_mode: 0, room_phase: 'running', player_slot: slot, input_mode: 'unorderedRelay', sync_config: null, spectator_mode: 1, player_name: role }
}

// ---------- host ----------

function animatedCanvas (): MediaStreamTrack {
  const canvas = document.querySelector('canvas') as HTMLCanvasElement
  const context = canvas.getContext('2d') as CanvasRenderingContext2D
  let tick = 0
  const draw = (): void => {
    tick++
    context.fillStyle = `hsl(${tick % 360}, 70%, 45%)`
    context.fillRect(0, 0, canvas.width, canvas.height)
    context.fillStyle = '#fff'
    context.font = '28px monospace'
    context.fillText(`frame ${tick}  inputs ${state.inputsReceived}`, 20, canvas.height / 2)
    requestAnimationFrame(draw)
  }
  draw()
  // A timer keeps frames coming in background tabs, where rAF stops.
  setInterval(() => { tick++; context.fillRect((tick * 7) % canvas.width, 0, 4, 4) }, 33)
  return canvas.captureStream(30).getVideoTracks()[0] as MediaStreamTrack
}

function tone (): MediaStreamTrack {
  const audio = new AudioContext()
  const oscillator = audio.createOscillator()
  oscillator.frequency.value = 440
  const gain = audio.createGain()
  gain.gain.value = 0.05
  const sink = audio.createMediaStreamDestination()
  oscillator.connect(gain).connect(sink)
  oscillator.start()
  return sink.stream.getAudioTracks()[0] as MediaStreamTrack
}

const consumedData = new Set<string>()
const seen = new Set<string>()

/** Host: the last snapshot of each generation-1 player. */
const snapshots = new Map<number, number[]>()

async function consumeInputs (recv: types.Transport, dataProducerId: string): Promise<void> {
  if (consumedData.has(dataProducerId)) return
  consumedData.add(dataProducerId)
  const info = await call<types.DataConsumerOptions>('consumedata', { dataProducerId, transportId: recv.id })
  const consumer = await recv.consumeData(info)
  consumer.binaryType = 'arraybuffer'
  consumer.on('message', (data: ArrayBuffer | string) => {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data)
    let input: { t?: string, f?: number, p?: number, k?: number, v?: number, player?: number, index?: number, value?: number, state?: number[] }
    try { input = JSON.parse(text) } catch { return }
    // Family C (generation 1): a snapshot is applied as a generation-1 host does, input by input where it changed.
    if (typeof input.player === 'number' && Array.isArray(input.state)) {
      const previous = snapshots.get(input.player) ?? new Array<number>(30).fill(0)
      const next = input.state.slice(0, 30)
      snapshots.set(input.player, next)
      for (let k = 0; k < next.length; k++) if (next[k] !== previous[k]) received({ t: 'i', f: 0, p: input.player, k, v: next[k] })
      return
    }
    // Family C single inputs carry no frame.
    if (typeof input.player === 'number') input = { t: 'i', f: 0, p: input.player, k: input.index, v: input.value }
    received(input)
  })
}

/** Host: one input, counted once however many consumers and resends bring it. */
function received (input: { t?: string, f?: number, p?: number, k?: number, v?: number }): void {
  if (input.t !== 'i') return
  state.messagesReceived++
  const key = `${input.p}:${input.f}:${input.k}:${input.v}`
  if (seen.has(key)) return
  seen.add(key)
  const arrived = clock()
  state.times[key] = arrived
  state.inputKeys.push(key)
  state.inputsReceived++
  state.byPlayer[String(input.p)] = (state.byPlayer[String(input.p)] ?? 0) + 1
  const at = sentAt.get(key)
  if (at !== undefined) {
    sentAt.delete(key)
    state.latencyMs.push(arrived - at)
  }
}

async function host (): Promise<void> {
  await call('open-room', { extra: extra(0), maxPlayers: Number(params.get('max') ?? 4), password: null })
  await call('join-room', { extra: extra(0), password: null })
  state.slot = 0
  await device.load({ routerRtpCapabilities: await call('sfu-get-router-rtp-capabilities') })
  // Like the real host: separate send transports for video, audio and data, and one recv transport.
  const [videoSend, audioSend, dataSend, recv] = await Promise.all([transport('send'), transport('send'), transport('send'), transport('recv')])
  const video = animatedCanvas()
  // stopTracks: false keeps the canvas track alive when its producer closes.
  let videoProducer = await videoSend.produce({ track: video, stopTracks: false })
  // What the real host does on pause/resume: close the video producer and produce the track again.
  reproduceVideo = async () => {
    videoProducer.close()
    videoProducer = await videoSend.produce({ track: video, stopTracks: false })
  }
  await audioSend.produce({ track: tone() })
  await dataSend.produceData({ ordered: false, maxPacketLifeTime: 3000, label: 'netplay-input', appData: {} })
  socket.on('new-data-producer', ({ id }: { id: string }) => { consumeInputs(recv, id).catch(fail) })
  for (const { id } of await call<Array<{ id: string }>>('sfu-get-data-producers')) await consumeInputs(recv, id)
  state.status = 'hosting'
}

// ---------- guest ----------

let inputChannel: types.DataProducer | null = null
let reproduceVideo = async (): Promise<void> => { throw new Error('only a hosting host re-produces') }
/** Guest: opens (or re-opens, as a reconnecting client does) the input channel. */
let openInputs = async (): Promise<void> => { throw new Error('only a playing guest sends inputs') }
let frame = 0

async function guest (): Promise<void> {
  type Users = Record<string, { player_slot?: number, socketId?: string }>
  const joined = await call<{ users: Users } | Users>('join-room', {
    extra: gen1 ? { room_name: roomName, player_name: 'gen1 guest', player_slot: 0, input_mode: 'unorderedRelay' } : extra(-1),
    password: null
  })
  const users = (gen1 ? joined : (joined as { users: Users }).users) as Users
  const me = Object.values(users).find((user) => user.socketId === socket.id)
  state.slot = typeof me?.player_slot === 'number' ? me.player_slot : null
  await device.load({ routerRtpCapabilities: await call('sfu-get-router-rtp-capabilities') })
  const recv = await transport('recv')
  const stream = new MediaStream()
  const video = document.querySelector('video') as HTMLVideoElement
  video.srcObject = stream
  const consumers = new Map<string, types.Consumer>()
  let counting = false
  const consume = async (producerId: string): Promise<void> => {
    const info = await call<types.ConsumerOptions>('sfu-consume', { producerId, transportId: recv.id, rtpCapabilities: device.recvRtpCapabilities, ignoreDtx: true })
    const consumer = await recv.consume(info)
    consumers.set(consumer.id, consumer)
    stream.addTrack(consumer.track)
    state.tracks.push(consumer.kind)
    if (consumer.kind !== 'video') return
    // A new video track (first one, or after the host re-produced): give the element a fresh stream.
    video.srcObject = new MediaStream(stream.getTracks())
    video.play().catch(() => {})
    if (!counting) {
      counting = true
      countFrames(video)
    }
  }
  // The server says when a producer went away (the host re-produced): drop its track.
  socket.on('consumer-closed', ({ consumerId }: { consumerId: string }) => {
    const consumer = consumers.get(consumerId)
    if (consumer === undefined) return
    consumers.delete(consumerId)
    stream.removeTrack(consumer.track)
    consumer.close()
  })
  socket.on('new-producer', ({ id }: { id: string }) => { consume(id).catch(fail) })
  for (const { id } of await call<Array<{ id: string }>>('sfu-get-producers')) await consume(id)
  const send = await transport('send')
  openInputs = async () => {
    inputChannel = await send.produceData(gen1
      ? { ordered: false, maxPacketLifeTime: 3000, label: 'ejs-inputs', protocol: 'json', appData: {} }
      : { ordered: false, maxPacketLifeTime: 3000, label: 'netplay-input', appData: {} })
    await new Promise<void>((resolve) => { if (inputChannel?.readyState === 'open') resolve(); else inputChannel?.on('open', () => resolve()) })
  }
  await openInputs()
  state.status = 'playing'
}

function countFrames (video: HTMLVideoElement): void {
  const onFrame = (): void => {
    state.framesRendered++
    video.requestVideoFrameCallback(onFrame)
  }
  video.requestVideoFrameCallback(onFrame)
  video.play().catch(() => {})
}

/** Generation 1: the whole controller, sent in every message. */
const controller = new Array<number>(30).fill(0)

/**
 * Sends one input as the real client does. `player` defaults to what the
 * client names: its seat (generation 2), or its preferred player, 0
 * (generation 1); tests spoof it. `single` sends a generation-1 input as
 * `{player, index, value}` (its format when retransmits are on).
 */
function sendInput (k: number, v: number, player: number | null = gen1 ? 0 : state.slot, single = false): void {
  if (inputChannel === null) throw new Error('not playing yet')
  frame++
  // The host sees generation-1 inputs under the seat the server wrote in.
  const key = gen1 ? `${state.slot}:0:${k}:${v}` : `${player}:${frame}:${k}:${v}`
  const at = clock()
  state.times[key] = at
  latencyChannel.postMessage({ key, at })
  if (gen1) {
    controller[k] = v
    inputChannel.send(JSON.stringify(single ? { player, index: k, value: v } : { player, state: controller }))
  } else {
    inputChannel.send(new TextEncoder().encode(JSON.stringify({ t: 'i', f: frame, s: 0, p: player, k, v })).buffer as ArrayBuffer)
  }
  state.inputsSent++
}

/** Sends raw bytes on the input channel (tests: oversized and malformed messages). */
function sendRaw (bytes: number, fill = 120): void {
  if (inputChannel === null) throw new Error('not playing yet')
  inputChannel.send(new Uint8Array(bytes).fill(fill).buffer as ArrayBuffer)
}

function fail (err: unknown): void {
  state.error = err instanceof Error ? err.message : String(err)
  state.status = 'failed'
}

function render (): void {
  const box = document.querySelector('#state')
  if (box !== null) {
    const sorted = [...state.latencyMs].sort((a, b) => a - b)
    const pct = (q: number): string => sorted.length === 0 ? '-' : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(2)
    box.textContent = [
      `${state.role} · ${state.status}${state.error !== null ? ` · ${state.error}` : ''} · seat ${state.slot ?? '-'}`,
      role === 'host'
        ? `inputs received ${state.inputsReceived} (messages ${state.messagesReceived}) · relay latency p50 ${pct(0.5)} ms p99 ${pct(0.99)} ms`
        : `video frames ${state.framesRendered} · inputs sent ${state.inputsSent}`,
      `rejected inputs ${state.events.filter((e) => e.event === 'netplay-error').length > 0 ? 'input channel closed by the server' : 'none reported'}`
    ].join('\n')
  }
  requestAnimationFrame(render)
}

Object.assign(window, { demo: { state, sendInput, sendRaw, call, reproduceVideo: async () => await reproduceVideo(), openInputs: async () => await openInputs() } })
document.querySelector('#role')?.replaceChildren(role === 'host' ? 'Host' : 'Guest')
document.querySelector('#send')?.addEventListener('click', () => sendInput(Math.floor(Math.random() * 12), 1))
render()
socket.on('connect', () => {
  state.status = 'connected'
  ;(role === 'host' ? host() : guest()).catch(fail)
})
socket.on('connect_error', (err) => fail(err))
