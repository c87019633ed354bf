// TURN REST credentials (draft-uberti-behave-turn-rest, coturn
// `use-auth-secret` / `static-auth-secret`): the username is
// "<expiry unix seconds>:<userid>" and the password is
// base64(HMAC-SHA1(secret, username)). The TURN server recomputes the HMAC
// with the shared secret and refuses a username whose timestamp has passed,
// so nothing is stored per user. Rotation: mint with the first secret,
// accept any (coturn takes `static-auth-secret` several times too).
import { createHmac, timingSafeEqual } from 'node:crypto'
import { TurnCredentialsInvalidError } from './errors.ts'

export const TURN_DEFAULT_TTL_MS = 3_600_000
export const TURN_MAX_TTL_MS = 86_400_000
const MAX_USERID_LENGTH = 256
// Printable ASCII except space: TURN usernames travel in STUN attributes and logs.
const USERID = /^[\x21-\x7e]+$/

export interface TurnCredentialsInput {
  /** The shared secret, or several for rotation (the first one mints). */
  secret: string | readonly string[]
  userid: string
  /** Lifetime; default 1 h, capped at 24 h. */
  ttlMs?: number
  now?: number
}

export interface TurnCredentials {
  username: string
  credential: string
}

function firstSecret (secret: string | readonly string[]): string {
  const first = typeof secret === 'string' ? secret : secret[0]
  if (typeof first !== 'string' || first.length === 0) throw new TurnCredentialsInvalidError('secret', 'a non-empty secret is required')
  return first
}

/** base64(HMAC-SHA1(secret, username)). */
export function turnPassword (secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64')
}

export function turnCredentials ({ secret, userid, ttlMs = TURN_DEFAULT_TTL_MS, now = Date.now() }: TurnCredentialsInput): TurnCredentials {
  const key = firstSecret(secret)
  if (typeof userid !== 'string' || userid.length > MAX_USERID_LENGTH || !USERID.test(userid)) {
    throw new TurnCredentialsInvalidError('userid', `1-${MAX_USERID_LENGTH} printable ASCII characters without spaces`)
  }
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TurnCredentialsInvalidError('ttlMs', 'a positive number of milliseconds')
  if (!Number.isFinite(now) || now < 0) throw new TurnCredentialsInvalidError('now', 'a time in milliseconds since the epoch')
  const expiry = Math.floor((now + Math.min(ttlMs, TURN_MAX_TTL_MS)) / 1000)
  const username = `${expiry}:${userid}`
  return { username, credential: turnPassword(key, username) }
}

export interface TurnVerifyInput {
  secret: string | readonly string[]
  username: string
  credential: string
  now?: number
}

/** What a TURN server does with REST credentials: unexpired, and the HMAC of one of the secrets. */
export function verifyTurnCredentials ({ secret, username, credential, now = Date.now() }: TurnVerifyInput): boolean {
  const colon = username.indexOf(':')
  const stamp = colon === -1 ? username : username.slice(0, colon)
  if (!/^\d{1,12}$/.test(stamp) || Number(stamp) * 1000 < now) return false
  const given = Buffer.from(credential, 'utf8')
  for (const key of typeof secret === 'string' ? [secret] : secret) {
    if (key.length === 0) continue
    const expected = Buffer.from(turnPassword(key, username), 'utf8')
    if (expected.length === given.length && timingSafeEqual(expected, given)) return true
  }
  return false
}
