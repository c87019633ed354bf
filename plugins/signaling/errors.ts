import { defineError } from '../../lib/errors.ts'

export const InvalidPayloadError = defineError('FST_NETPLAY_SIGNALING_INVALID_PAYLOAD', 'invalid payload', 400)
export const UnknownEventError = defineError('FST_NETPLAY_SIGNALING_UNKNOWN_EVENT', 'unknown event', 404)
export const EventRateLimitedError = defineError('FST_NETPLAY_SIGNALING_RATE_LIMITED', 'rate limited', 429, 'rate_limited')
export const DuplicateEventError = defineError<[string]>('FST_NETPLAY_SIGNALING_DUPLICATE_EVENT', 'event "%s" is already defined', 500)
export const TableFrozenError = defineError<[string]>('FST_NETPLAY_SIGNALING_TABLE_FROZEN', 'event "%s" defined after the server started; define events during registration', 500)
export const WebsocketAlreadyRegisteredError = defineError(
  'FST_NETPLAY_SIGNALING_WEBSOCKET_REGISTERED',
  '@fastify/websocket is registered where netplay signaling is: its upgrade listener would also answer the Socket.IO and /ws upgrades. Register netplay in a context without it (signaling runs its own @fastify/websocket for /ws only)',
  500
)
