import { defineError } from '../../lib/errors.ts'

// Boot errors (registration fails with these).
export const MediasoupMissingError = defineError<[string]>(
  'FST_NETPLAY_SFU_MEDIASOUP_MISSING',
  'mediasoup is not installed (%s). Install it with `npm install mediasoup`: its install step downloads a prebuilt worker or builds one; to use a worker binary of your own set MEDIASOUP_WORKER_BIN (or the sfu `workerBin` option) before installing. Set `sfu.required: false` to run without the SFU.',
  500
)

export const WorkerStartError = defineError<[string, string]>(
  'FST_NETPLAY_SFU_WORKER_FAILED',
  'mediasoup worker could not start (worker binary %s): %s. Check that mediasoup installed its worker (`npm rebuild mediasoup`) or point MEDIASOUP_WORKER_BIN at a working binary.',
  500
)

export const TurnCredentialsInvalidError = defineError<[string, string]>(
  'FST_NETPLAY_SFU_TURN_INVALID',
  'Invalid TURN credential input "%s": %s',
  500
)

// Errors answered to clients (socket acks); the message is what the
// EmulatorJS-SFU client shows or matches.
export const SfuUnavailableError = defineError('FST_NETPLAY_SFU_UNAVAILABLE', 'sfu unavailable', 503)
export const SfuNotInRoomError = defineError('FST_NETPLAY_SFU_NOT_IN_ROOM', 'not in room', 409)
export const SfuUnknownTransportError = defineError('FST_NETPLAY_SFU_UNKNOWN_TRANSPORT', 'transport not found', 404)
export const SfuWrongDirectionError = defineError<[string]>('FST_NETPLAY_SFU_WRONG_DIRECTION', 'transport is not a %s transport', 400)
export const SfuUnknownProducerError = defineError('FST_NETPLAY_SFU_UNKNOWN_PRODUCER', 'producer not found', 404)
export const SfuCannotConsumeError = defineError('FST_NETPLAY_SFU_CANNOT_CONSUME', 'cannot consume', 400)
export const SfuSpectatorError = defineError('FST_NETPLAY_SFU_SPECTATOR', 'spectators cannot produce', 403)
/** Only the room's owner consumes input relays (the string the contract uses for every owner-only event). */
export const SfuNotOwnerError = defineError('FST_NETPLAY_SFU_NOT_OWNER', 'not owner', 403)
export const SfuLimitError = defineError<[string, number]>('FST_NETPLAY_SFU_LIMIT', 'too many %s (limit %d)', 429)
export const SfuInvalidParametersError = defineError<[string]>('FST_NETPLAY_SFU_INVALID_PARAMETERS', 'invalid parameters: %s', 400)
export const SfuUseridMismatchError = defineError<[string]>('FST_NETPLAY_SFU_USERID_MISMATCH', '%s', 403)
export const SfuClosedError = defineError('FST_NETPLAY_SFU_CLOSED', 'closed while in use', 409)
