import { defineError } from '../../lib/errors.ts'

export const TurnCredentialsInvalidError = defineError<[string, string]>(
  'FST_NETPLAY_DATACHANNEL_GUARD_TURN_INVALID',
  'Invalid TURN credential input "%s": %s',
  500
)
