// Room errors. Socket.IO clients match on exact strings, and the strings
// differ by client family (upstream EmulatorJS vs EmulatorJS-SFU), so each
// error carries both; `wireFor(style)` picks the one a client understands.
import { defineError } from '../../lib/errors.ts'
import { EventError } from '../signaling/event-table.ts'
import type { ClientStyle } from './room.ts'

interface RoomErrorSpec { code: string, upstream: string, sfu: string, status: number }

export const RoomError = {
  notFound: { code: 'FST_NETPLAY_ROOMS_NOT_FOUND', upstream: 'Room not found', sfu: 'no such room', status: 404 },
  badPassword: { code: 'FST_NETPLAY_ROOMS_BAD_PASSWORD', upstream: 'Incorrect password', sfu: 'bad password', status: 403 },
  full: { code: 'FST_NETPLAY_ROOMS_FULL', upstream: 'Room full', sfu: 'room full', status: 409 },
  noSlots: { code: 'FST_NETPLAY_ROOMS_NO_SLOTS', upstream: 'no available slots', sfu: 'no available slots', status: 409 },
  exists: { code: 'FST_NETPLAY_ROOMS_EXISTS', upstream: 'room exists', sfu: 'room exists', status: 409 },
  invalid: { code: 'FST_NETPLAY_ROOMS_INVALID', upstream: 'invalid', sfu: 'invalid', status: 400 },
  useridInUse: { code: 'FST_NETPLAY_ROOMS_USERID_IN_USE', upstream: 'userid in use', sfu: 'userid in use', status: 409 },
  notInRoom: { code: 'FST_NETPLAY_ROOMS_NOT_IN_ROOM', upstream: 'not in room', sfu: 'not in room', status: 409 },
  notOwner: { code: 'FST_NETPLAY_ROOMS_NOT_OWNER', upstream: 'not owner', sfu: 'not owner', status: 403 },
  slotTaken: { code: 'FST_NETPLAY_ROOMS_SLOT_TAKEN', upstream: 'slot taken', sfu: 'slot taken', status: 409 },
  invalidSlot: { code: 'FST_NETPLAY_ROOMS_INVALID_SLOT', upstream: 'invalid slot', sfu: 'invalid slot', status: 400 },
  spectatorsOff: { code: 'FST_NETPLAY_ROOMS_SPECTATORS_OFF', upstream: 'spectators not allowed', sfu: 'spectators not allowed', status: 403 },
  targetNotInRoom: { code: 'FST_NETPLAY_ROOMS_TARGET_NOT_IN_ROOM', upstream: 'target not in room', sfu: 'target not in room', status: 404 },
  notReady: { code: 'FST_NETPLAY_ROOMS_NOT_READY', upstream: 'not all players ready', sfu: 'not all players ready', status: 409 },
  alreadyStarting: { code: 'FST_NETPLAY_ROOMS_ALREADY_STARTING', upstream: 'not in delay sync lobby', sfu: 'not in delay sync lobby', status: 409 },
  notPreparing: { code: 'FST_NETPLAY_ROOMS_NOT_IN_PREPARE', upstream: 'not in prepare phase', sfu: 'not in prepare phase', status: 409 },
  tooLarge: { code: 'FST_NETPLAY_ROOMS_MESSAGE_TOO_LARGE', upstream: 'message too large', sfu: 'message too large', status: 413 },
  serverFull: { code: 'FST_NETPLAY_ROOMS_SERVER_FULL', upstream: 'server full', sfu: 'server full', status: 503 },
  roomsLimit: { code: 'FST_NETPLAY_ROOMS_LIMIT', upstream: 'too many rooms on this server', sfu: 'too many rooms on this server', status: 503 },
  emptyChat: { code: 'FST_NETPLAY_ROOMS_INVALID_CHAT', upstream: 'invalid message', sfu: 'invalid message', status: 400 }
} as const satisfies Record<string, RoomErrorSpec>

export type RoomErrorKind = keyof typeof RoomError

export function roomError (kind: RoomErrorKind, style: ClientStyle, wire?: unknown): EventError {
  const spec = RoomError[kind]
  const message = style === 'upstream' ? spec.upstream : spec.sfu
  return new EventError(spec.code, message, wire)
}

/** `"you already have slot N"` is the one message with a value in it. */
export function alreadyHaveSlot (slot: number): EventError {
  return new EventError('FST_NETPLAY_ROOMS_ALREADY_SEATED', `you already have slot ${slot}`)
}

// HTTP (family B endpoints) uses the lower-case texts of the contract.
export const HttpRoomNotFoundError = defineError('FST_NETPLAY_ROOMS_NOT_FOUND', 'room not found', 404)
export const HttpBadPasswordError = defineError('FST_NETPLAY_ROOMS_BAD_PASSWORD', 'incorrect password', 403)
export const HttpRoomFullError = defineError('FST_NETPLAY_ROOMS_FULL', 'room is full', 409)
export const HttpRoomExistsError = defineError('FST_NETPLAY_ROOMS_EXISTS', 'room already exists', 409)
export const HttpRoomsLimitError = defineError('FST_NETPLAY_ROOMS_LIMIT', 'too many rooms on this server', 503)
export const HttpRoomNameRequiredError = defineError('FST_NETPLAY_ROOMS_INVALID', 'room_name is required', 400)
