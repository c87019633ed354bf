import { defineError } from '../../lib/errors.ts'

// Client-facing messages contain "unauthorized"/"token" on purpose: the
// EmulatorJS-SFU client refreshes its token when an error says so.
export const MissingTokenError = defineError('FST_NETPLAY_AUTH_MISSING_TOKEN', 'unauthorized: token required', 401)
export const InvalidTokenError = defineError('FST_NETPLAY_AUTH_INVALID_TOKEN', 'unauthorized: invalid token', 401)
export const TokenUsedError = defineError('FST_NETPLAY_AUTH_TOKEN_USED', 'unauthorized: write token already used', 401)
export const WriteTokenRequiredError = defineError('FST_NETPLAY_AUTH_WRITE_TOKEN_REQUIRED', 'forbidden: this action needs a write token', 403)
export const VerifierUnavailableError = defineError('FST_NETPLAY_AUTH_UNAVAILABLE', 'auth verifier unavailable, refresh the token and retry', 503)
export const MintForbiddenError = defineError('FST_NETPLAY_AUTH_MINT_FORBIDDEN', 'forbidden: not allowed to mint tokens', 403)
export const NoKeySourceError = defineError('FST_NETPLAY_AUTH_NO_KEY_SOURCE', 'auth is enabled but no key source is configured (secrets, issuers, romm or mint); set auth: false to serve anonymous clients', 500)
export const MintNotConfiguredError = defineError('FST_NETPLAY_AUTH_MINT_NOT_CONFIGURED', 'token minting is not configured (set the mint option)', 500)
