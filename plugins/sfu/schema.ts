import Type, { type Static } from 'typebox'

// Options of the `sfu` plugin and the payloads of the mediasoup events.
// mediasoup validates RTP/DTLS/SCTP parameters itself (and its TypeErrors
// are answered as FST_NETPLAY_SFU_INVALID_PARAMETERS); these schemas bound
// the shapes and sizes before anything reaches a worker.

const Port = Type.Integer({ minimum: 1, maximum: 65_535 })

const RtcpFeedback = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 32 }),
  parameter: Type.Optional(Type.String({ maxLength: 32 }))
}, { additionalProperties: false })

export const RouterCodec = Type.Object({
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  mimeType: Type.String({ pattern: '^(audio|video)/[A-Za-z0-9.+-]{1,32}$' }),
  clockRate: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  channels: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
  preferredPayloadType: Type.Optional(Type.Integer({ minimum: 0, maximum: 127 })),
  parameters: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 256 }), Type.Number()]))),
  rtcpFeedback: Type.Optional(Type.Array(RtcpFeedback, { maxItems: 16 }))
}, { additionalProperties: false })

export type RouterCodec = Static<typeof RouterCodec>

/**
 * What EmulatorJS-SFU clients pick from (see the wire contract): VP9 (SVC
 * L1T1/L1T3/L2T3), VP8, H264 packetization-mode 1, Opus 48000/2 stereo with
 * in-band FEC.
 */
export const DEFAULT_CODECS: RouterCodec[] = [
  { kind: 'video', mimeType: 'video/VP9', clockRate: 90_000, parameters: { 'profile-id': 0, 'x-google-start-bitrate': 1000 } },
  { kind: 'video', mimeType: 'video/VP8', clockRate: 90_000, parameters: { 'x-google-start-bitrate': 1000 } },
  { kind: 'video', mimeType: 'video/H264', clockRate: 90_000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 } },
  { kind: 'video', mimeType: 'video/H264', clockRate: 90_000, parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0032', 'level-asymmetry-allowed': 1 } },
  { kind: 'audio', mimeType: 'audio/opus', clockRate: 48_000, channels: 2, parameters: { stereo: 1, 'sprop-stereo': 1, useinbandfec: 1 } }
]

const TurnServer = Type.Object({
  urls: Type.Union([Type.String({ pattern: '^turns?:' }), Type.Array(Type.String({ pattern: '^turns?:' }), { minItems: 1, maxItems: 8 })]),
  username: Type.String({ minLength: 1, maxLength: 512 }),
  credential: Type.String({ minLength: 1, maxLength: 512 })
}, { additionalProperties: false })

export const IceOptions = Type.Object({
  stun: Type.Array(Type.String({ pattern: '^stuns?:' }), { default: [], maxItems: 16, description: 'STUN URLs handed to clients (e.g. stun:stun.example.org:3478).' }),
  turn: Type.Array(TurnServer, { default: [], maxItems: 16, description: 'TURN servers with static credentials.' }),
  turnRest: Type.Optional(Type.Object({
    urls: Type.Array(Type.String({ pattern: '^turns?:' }), { minItems: 1, maxItems: 16 }),
    secret: Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 8 })], {
      description: 'coturn static-auth-secret; several for rotation (the first one mints).'
    }),
    ttlMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, default: 3_600_000, description: 'Credential lifetime (capped at 24 h).' })
  }, { additionalProperties: false, description: 'TURN REST credentials minted per identity (coturn use-auth-secret).' }))
}, { additionalProperties: false, default: {} })

export const SfuOptions = Type.Object({
  prefix: Type.String({ default: '', description: 'Prefix of GET /ice.' }),
  required: Type.Boolean({
    default: true,
    description: 'false: when mediasoup or its worker is missing, log a warning, answer sfu-available with false and keep every other feature running.'
  }),
  workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: 'mediasoup workers (default: one per available core).' })),
  workerBin: Type.Optional(Type.String({ minLength: 1, description: 'Worker binary (default: MEDIASOUP_WORKER_BIN, else the one mediasoup installed).' })),
  workerLogLevel: Type.Union([Type.Literal('debug'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('none')], { default: 'warn' }),
  listenIp: Type.String({ default: '0.0.0.0', minLength: 2, maxLength: 64, description: 'Local address the workers listen on.' }),
  announcedAddress: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Public IP or hostname put in ICE candidates (NAT, split horizon).' })),
  port: Type.Integer({ minimum: 0, maximum: 65_535, default: 20_000, description: 'First WebRtcServer port: worker i listens on UDP and TCP port + i (0: any free port).' }),
  portRange: Type.Optional(Type.Object({ min: Port, max: Port }, {
    additionalProperties: false,
    description: 'Give every transport its own port from this range instead of one WebRtcServer port per worker.'
  })),
  enableUdp: Type.Boolean({ default: true }),
  enableTcp: Type.Boolean({ default: true }),
  preferUdp: Type.Boolean({ default: true }),
  mediaCodecs: Type.Array(RouterCodec, { minItems: 1, maxItems: 32, default: DEFAULT_CODECS }),
  initialAvailableOutgoingBitrate: Type.Integer({ minimum: 100_000, maximum: 100_000_000, default: 1_000_000 }),
  maxIncomingBitrate: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 0, description: 'Per send transport, bits/s (0: no cap).' }),
  maxSctpMessageSize: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 262_144 }),
  limits: Type.Object({
    transports: Type.Integer({ minimum: 1, maximum: 64, default: 8, description: 'Transports per connection (the host uses 3 send + 1 recv).' }),
    consumers: Type.Integer({ minimum: 1, maximum: 1024, default: 64, description: 'Media consumers per connection.' }),
    dataProducers: Type.Integer({ minimum: 1, maximum: 64, default: 8, description: 'Data producers per connection (one per label).' }),
    dataConsumers: Type.Integer({ minimum: 1, maximum: 1024, default: 64, description: 'Data consumers per connection (hosts open two per guest).' }),
    consumersPerProducer: Type.Integer({
      minimum: 1,
      maximum: 16,
      default: 2,
      description: 'Consumers (media or data) one connection keeps of one producer; consuming it once more retires the oldest. The real host page opens two per guest channel, and re-runs its setup every 5 s.'
    })
  }, { additionalProperties: false, default: {} }),
  workerRespawnDelayMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000, description: 'Wait before replacing a dead worker (doubles while replacements keep failing, up to 60 s).' }),
  mediaLostGraceMs: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 10_000,
    description: 'After a worker dies, how long its rooms wait for a member to rebuild their media (create a transport) before they are closed: room-closed, then members disconnected.'
  }),
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'The `url` GET /ice reports (defaults to the request origin).' })),
  ice: IceOptions
}, { additionalProperties: false })

export type SfuOptions = Static<typeof SfuOptions>
type IceOptions = Static<typeof IceOptions>
export type SfuOptionsInput = Partial<Omit<SfuOptions, 'limits' | 'ice'>> & {
  limits?: Partial<SfuOptions['limits']>
  ice?: Partial<Omit<IceOptions, 'turnRest'>> & {
    turnRest?: Omit<NonNullable<IceOptions['turnRest']>, 'ttlMs'> & { ttlMs?: number }
  }
}

// ---------- event payloads ----------

const Id = Type.String({ minLength: 1, maxLength: 64 })
const Params = Type.Record(Type.String(), Type.Unknown())
const AppData = Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]))

export const EmptyPayload = Type.Object({})
export const CreateTransportPayload = Type.Object({ direction: Type.Optional(Type.Union([Type.Literal('send'), Type.Literal('recv')])) })
export const ConnectTransportPayload = Type.Object({ transportId: Id, dtlsParameters: Params })
export const ProducePayload = Type.Object({
  transportId: Id,
  kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
  rtpParameters: Params,
  appData: AppData
})
export const ProduceDataPayload = Type.Object({
  transportId: Id,
  sctpStreamParameters: Params,
  label: Type.Optional(Type.String({ maxLength: 128 })),
  protocol: Type.Optional(Type.String({ maxLength: 128 })),
  appData: AppData
})
export const ConsumePayload = Type.Object({
  producerId: Id,
  transportId: Id,
  rtpCapabilities: Params,
  ignoreDtx: Type.Optional(Type.Boolean())
})
export const ConsumeDataPayload = Type.Object({ dataProducerId: Id, transportId: Id })
export const TransportPayload = Type.Object({ transportId: Id })
