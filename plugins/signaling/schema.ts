import Type, { type Static } from 'typebox'

export const SignalingOptions = Type.Object({
  prefix: Type.String({ default: '', description: 'Prefix of the plain WebSocket route and, for Socket.IO, the namespace served besides "/".' }),
  socketIo: Type.Object({
    enabled: Type.Boolean({ default: true }),
    path: Type.String({ pattern: '^/', default: '/socket.io', description: 'Socket.IO HTTP path (RomM patches clients to "/netplay/socket.io").' }),
    corsOrigins: Type.Array(Type.String(), { default: ['*'], description: 'Allowed browser origins; "*" allows any (no credentials).' }),
    pingIntervalMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 25_000 }),
    pingTimeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 20_000 }),
    trustProxy: Type.Union([
      Type.Boolean(),
      Type.String({ minLength: 1 }),
      Type.Array(Type.String({ minLength: 1 }), { maxItems: 256 })
    ], {
      default: false,
      description: 'Socket.IO handshakes bypass Fastify: give the value of your Fastify trustProxy (true, or the proxies\' addresses or CIDRs) so a client behind your reverse proxy is rate-limited and logged by its own address.'
    })
  }, { additionalProperties: false, default: {} }),
  websocket: Type.Object({
    enabled: Type.Boolean({ default: true }),
    path: Type.String({ pattern: '^/', default: '/ws' })
  }, { additionalProperties: false, default: {} }),
  maxMessageBytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 128 * 1024, description: 'Largest signaling message; larger ones close the connection.' }),
  maxInvalidMessages: Type.Integer({ minimum: 1, maximum: 100_000, default: 10, description: 'Invalid messages (bad payloads, refused by a guard, not an event at all) after which a connection is closed.' })
}, { additionalProperties: false })

export type SignalingOptions = Static<typeof SignalingOptions>
export type SignalingOptionsInput = Partial<Omit<SignalingOptions, 'socketIo' | 'websocket'>> & {
  socketIo?: Partial<SignalingOptions['socketIo']>
  websocket?: Partial<SignalingOptions['websocket']>
}
