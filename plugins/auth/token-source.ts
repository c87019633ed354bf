// Where real clients put their token, in the order we look:
// Socket.IO handshake `auth` (string or { token }), `Authorization: Bearer`,
// the configured cookies (RomM sets `romm_sfu_token`), then `?token=`
// (the EmulatorJS-SFU client uses it on /list).
import type { IncomingHttpHeaders } from 'node:http'
import { parse as parseCookies } from 'cookie'
import type { AuthOptions } from './schema.ts'

/** What a request or a socket handshake offers. */
export interface TokenCarrier {
  headers: IncomingHttpHeaders
  query?: unknown
  /** Socket.IO `handshake.auth`. */
  handshakeAuth?: unknown
}

const BEARER = /^Bearer\s+(\S+)\s*$/i

export function tokenFrom (carrier: TokenCarrier, sources: AuthOptions['tokenSources']): string | null {
  const auth = carrier.handshakeAuth
  if (typeof auth === 'string' && auth !== '') return auth
  if (auth !== null && typeof auth === 'object') {
    const token = (auth as { token?: unknown }).token
    if (typeof token === 'string' && token !== '') return token
  }
  if (sources.header) {
    const header = carrier.headers.authorization
    const match = typeof header === 'string' ? BEARER.exec(header) : null
    if (match?.[1] !== undefined) return match[1]
  }
  if (sources.cookies.length > 0 && typeof carrier.headers.cookie === 'string') {
    const jar = parseCookies(carrier.headers.cookie)
    for (const name of sources.cookies) {
      const value = jar[name]
      if (typeof value === 'string' && value !== '') return value
    }
  }
  if (sources.query && carrier.query !== null && typeof carrier.query === 'object') {
    const value = (carrier.query as Record<string, unknown>)[sources.queryParam]
    if (typeof value === 'string' && value !== '') return value
  }
  return null
}
