import Type, { type Static } from 'typebox'
import type { RedisOption } from '../../lib/redis.ts'

const Ms = (def: number, description: string) => Type.Integer({ minimum: 0, maximum: 86_400_000, default: def, description })

export const RoomsOptions = Type.Object({
  prefix: Type.String({ default: '', description: 'Prefix of /list, /create, /join/:roomId, /leave/:roomId and /resolve.' }),
  maxPlayersCap: Type.Integer({ minimum: 2, maximum: 8, default: 8, description: 'Largest maxPlayers a room may ask for (2-8).' }),
  maxRooms: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  reconnectGraceMs: Ms(60_000, 'How long a disconnected player keeps the seat (shown as reconnecting).'),
  allowTakeover: Type.Boolean({ default: true, description: 'Whether an authenticated identity on a new connection may replace its still-open old one (network switch); false: "userid in use" until the old one closes.' }),
  takeoverWindowMs: Ms(30_000, 'A takeover is allowed only when the old connection last sent something between takeoverMinSilenceMs and this long ago (0: no window, always allowed).'),
  takeoverMinSilenceMs: Ms(1_000, 'An old connection that sent something more recently than this is in use: no takeover.'),
  emptyRoomTtlMs: Ms(60_000, 'How long a room nobody has joined (HTTP /create) lives.'),
  sweepIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000 }),
  chatHistory: Type.Integer({ minimum: 0, maximum: 1000, default: 100 }),
  prepareTimeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000, description: 'A delay_sync start waits this long for every player\'s ready-at-frame-1, then starts anyway.' }),
  listPushIntervalMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 250, description: 'Room-list changes are pushed (rooms-updated) to the connections that asked (request-room-list) at most this often.' }),
  maxDataMessageBytes: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16 * 1024, description: 'Largest relayed data-message / webrtc-signal (JSON bytes).' }),
  nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  publicUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'URL clients use to reach this node (GET /resolve).' })),
  store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }),
  redis: Type.Optional(Type.Unsafe<RedisOption>(Type.Any())),
  registryKeyPrefix: Type.String({ default: 'sfu:room:', description: 'Redis key of each room summary (RomM reads sfu:room:<name>).' }),
  registryTtlMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000 })
}, { additionalProperties: false })

export type RoomsOptions = Static<typeof RoomsOptions>
export type RoomsOptionsInput = Partial<RoomsOptions>

// Client payloads. `extra` is an open object (clients add fields), bounded
// by the transport's message cap and sanitised before storage. Declared as an
// object with no required properties rather than a Record of unknowns: both
// accept exactly the same JSON (any non-array object), but a Record's
// compiled check walks every key (an entries array and a pattern test per
// key, on every open and join) to conclude what the type already says.
const Extra = Type.Unsafe<Record<string, unknown>>(Type.Object({}))
const ShortString = (max = 256) => Type.String({ maxLength: max })
const RoomName = Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()]))

export const OpenRoomPayload = Type.Object({
  extra: Extra,
  maxPlayers: Type.Optional(Type.Union([Type.Integer(), Type.String({ maxLength: 4 })])),
  password: Type.Optional(Type.Union([ShortString(128), Type.Null()]))
})

export const JoinRoomPayload = Type.Object({
  extra: Extra,
  password: Type.Optional(Type.Union([ShortString(128), Type.Null()]))
})

export const LeaveRoomPayload = Type.Object({
  roomName: RoomName,
  reason: Type.Optional(Type.Unknown())
})

export const RoomNamePayload = Type.Object({ roomName: RoomName })

export const ChatPayload = Type.Object({ message: Type.String({ maxLength: 2000 }), roomName: RoomName })

export const SignalPayload = Type.Object({
  target: Type.Optional(ShortString(128)),
  targetSocketId: Type.Optional(ShortString(128)),
  roomName: RoomName,
  offer: Type.Optional(Type.Unknown()),
  answer: Type.Optional(Type.Unknown()),
  candidate: Type.Optional(Type.Unknown()),
  requestRenegotiate: Type.Optional(Type.Boolean()),
  reason: Type.Optional(ShortString(256))
})

export const DataMessagePayload = Type.Record(Type.String(), Type.Unknown())

export const ToggleReadyPayload = Type.Object({ roomName: RoomName, ready: Type.Optional(Type.Boolean()) })
export const ReadyAtFramePayload = Type.Object({ roomName: RoomName, frame: Type.Optional(Type.Integer({ minimum: 0 })) })
export const MetadataPayload = Type.Object({ roomName: RoomName, metadata: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown()) })
export const JoinInfoPayload = Type.Object({
  roomName: RoomName,
  romHash: Type.Optional(Type.Union([ShortString(), Type.Null()])),
  emulatorId: Type.Optional(Type.Union([ShortString(), Type.Null()])),
  emulatorVersion: Type.Optional(Type.Union([ShortString(), Type.Null()]))
})
export const PlayerSlotPayload = Type.Object({ roomName: RoomName, playerSlot: Type.Integer() })

export const CreateRoomBody = Type.Object({
  room_name: Type.Optional(Type.String({ maxLength: 128 })),
  max_players: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  password: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()])),
  allow_spectators: Type.Optional(Type.Boolean()),
  netplay_mode: Type.Optional(Type.Union([Type.Literal('live_stream'), Type.Literal('delay_sync'), Type.Integer({ minimum: 0, maximum: 1 })])),
  sync_config: Type.Optional(Type.Unknown()),
  spectator_mode: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 1 }), Type.Boolean()])),
  domain: Type.Optional(Type.String({ maxLength: 256 })),
  game_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Integer()])),
  rom_hash: Type.Optional(Type.String({ maxLength: 256 })),
  core_type: Type.Optional(Type.String({ maxLength: 128 }))
}, { additionalProperties: true })

export const JoinRoomBody = Type.Object({
  password: Type.Optional(Type.Union([Type.String({ maxLength: 128 }), Type.Null()])),
  player_name: Type.Optional(Type.String({ maxLength: 128 }))
})

export const ListQuery = Type.Object({
  domain: Type.Optional(Type.String({ maxLength: 256 })),
  game_id: Type.Optional(Type.String({ maxLength: 64 })),
  token: Type.Optional(Type.String())
})

export const RoomListRequest = Type.Object({
  domain: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  game_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Integer(), Type.Null()]))
})

export const ResolveQuery = Type.Object({ room: Type.Optional(Type.String({ maxLength: 128 })), room_name: Type.Optional(Type.String({ maxLength: 128 })) })
