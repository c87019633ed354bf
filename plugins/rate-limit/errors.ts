import { defineError } from '../../lib/errors.ts'

// `rate_limited` is the wire code clients already match on.
export const RateLimitedError = defineError('FST_NETPLAY_RATE_LIMITED', 'too many requests, slow down', 429, 'rate_limited')
export const RateLimitUnavailableError = defineError('FST_NETPLAY_RATE_LIMIT_UNAVAILABLE', 'rate limit store unavailable', 503)
export const UnknownLimitError = defineError<[string]>('FST_NETPLAY_RATE_LIMIT_UNKNOWN', 'unknown limit "%s"', 500)
