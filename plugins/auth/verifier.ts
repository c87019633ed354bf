// Token verification. Each trusted `iss` is bound to exactly one key source
// and its own algorithms, chosen before any signature check:
//   HS256 issuers  -> the shared secrets (never a public key)
//   JWKS issuers   -> that issuer's published keys (never a secret)
//   our own issuer -> the keys we mint with
//   RomM remote    -> POST /api/sfu/internal/verify
// `alg: none` is never accepted. A failure carries a `reason` code for the
// audit log; the client only sees a generic 401 (or 503 when a backend is down).
import { createDecoder, createVerifier, TokenError } from 'fast-jwt'
import type { LRUCache } from 'lru-cache'
import { boundedLru } from '../../lib/lru.ts'
import type { Identity, TokenKind } from '../../lib/netplay.ts'
import type { OneTimeTokenStore } from '../../lib/stores/one-time-tokens.ts'
import { InvalidTokenError, TokenUsedError, VerifierUnavailableError, WriteTokenRequiredError } from './errors.ts'
import { identityFrom, tokenKindOf, type UseridMode } from './identity.ts'
import { JwksKeySet, type PublicKeyEntry } from './jwks.ts'
import type { AuthOptions } from './schema.ts'

export type FailureReason =
  | 'too_large' | 'malformed' | 'alg_not_allowed' | 'issuer_not_allowed' | 'unknown_kid'
  | 'bad_signature' | 'expired' | 'not_yet_valid' | 'issued_in_future' | 'audience'
  | 'missing_claim' | 'bad_type' | 'missing_jti' | 'replayed' | 'not_write_token'
  | 'backend_unavailable' | 'remote_rejected'

export class AuthFailure extends Error {
  readonly reason: FailureReason
  readonly issuer: string | undefined
  readonly error: Error
  constructor (reason: FailureReason, error: Error, issuer?: string) {
    super(error.message)
    this.reason = reason
    this.error = error
    this.issuer = issuer
  }
}

interface DecodedToken {
  header: { alg?: unknown, kid?: unknown }
  payload: Record<string, unknown>
}

interface VerifiedToken { identity: Identity, kid: string | undefined }

type VerifyFn = (token: string) => Promise<Record<string, unknown>>

/** The key material of our own issuer (see issuer.ts). */
export interface OwnKeys {
  issuer: string
  algorithm: 'HS256' | PublicKeyEntry['alg']
  secret?: string
  publicKey (kid: string | undefined): PublicKeyEntry | undefined
}

const decode = createDecoder({ complete: true }) as (token: string) => DecodedToken

function reasonOf (err: unknown): FailureReason {
  switch ((err as TokenError).code) {
    case TokenError.codes.expired: return 'expired'
    case TokenError.codes.inactive: return 'not_yet_valid'
    case TokenError.codes.invalidSignature: return 'bad_signature'
    case TokenError.codes.missingRequiredClaim: return 'missing_claim'
    case TokenError.codes.invalidClaimValue: return 'audience'
    case TokenError.codes.invalidAlgorithm: return 'alg_not_allowed'
    case TokenError.codes.invalidKey: return 'alg_not_allowed'
    default: return 'malformed'
  }
}

export interface VerifierDeps {
  options: AuthOptions
  store: OneTimeTokenStore
  own?: OwnKeys
}

export class TokenVerifier {
  readonly #options: AuthOptions
  readonly #store: OneTimeTokenStore
  readonly #routes = new Map<string, { algorithms: string[], verify: VerifyFn }>()
  readonly jwks = new Map<string, JwksKeySet>()
  readonly #remote: AuthOptions['romm']
  readonly #userid: UseridMode
  readonly #verified: LRUCache<string, VerifiedToken> | null
  readonly #own: OwnKeys | undefined

  constructor ({ options, store, own }: VerifierDeps) {
    this.#options = options
    this.#store = store
    this.#remote = options.romm
    this.#userid = options.userid
    this.#own = own
    const { max, ttlMs } = options.verifiedTokens
    this.#verified = max > 0 && ttlMs > 0 ? boundedLru(max, ttlMs) : null
    const base = { clockTolerance: options.clockSkewMs, requiredClaims: ['exp', 'sub'] }
    // fast-jwt checks `allowedAud` only on tokens that carry `aud`: a configured
    // audience must also make the claim required, or dropping it would pass.
    const withAudience = (audience: string | string[] | undefined) =>
      audience === undefined ? base : { ...base, requiredClaims: [...base.requiredClaims, 'aud'], allowedAud: audience }
    const common = withAudience(options.audience)

    if (options.secrets.length > 0) {
      const bySecret = options.secrets.map((secret) => createVerifier({ ...common, key: secret, algorithms: ['HS256'] }))
      const verify: VerifyFn = async (token) => {
        let last: unknown
        for (const check of bySecret) {
          try { return check(token) } catch (err) {
            last = err
            if ((err as TokenError).code !== TokenError.codes.invalidSignature) throw err
          }
        }
        throw last
      }
      for (const iss of options.hs256Issuers) this.#routes.set(iss, { algorithms: ['HS256'], verify })
    }

    for (const trusted of options.issuers) {
      const keys = new JwksKeySet(trusted.jwksUrl, { ...options.jwks, maxAgeMs: 10 * 60_000 })
      this.jwks.set(trusted.iss, keys)
      const verifier = createVerifier({
        ...withAudience(trusted.audience ?? options.audience),
        algorithms: trusted.algorithms,
        allowedIss: trusted.iss,
        key: async (decoded: DecodedToken) => {
          const kid = typeof decoded.header.kid === 'string' ? decoded.header.kid : undefined
          const entry = await keys.key(kid)
          if (entry === null) throw new AuthFailure('unknown_kid', new InvalidTokenError(), trusted.iss)
          if (entry.alg !== decoded.header.alg) throw new AuthFailure('alg_not_allowed', new InvalidTokenError(), trusted.iss)
          return entry.pem
        }
      })
      this.#routes.set(trusted.iss, { algorithms: trusted.algorithms, verify: async (token) => verifier(token) })
    }

    // The tokens we mint carry no `aud`: `audience` is about the other issuers.
    if (own !== undefined) {
      if (own.algorithm === 'HS256') {
        const check = createVerifier({ ...base, key: own.secret, algorithms: ['HS256'], allowedIss: own.issuer })
        this.#routes.set(own.issuer, { algorithms: ['HS256'], verify: async (token) => check(token) })
      } else {
        const check = createVerifier({
          ...base,
          algorithms: [own.algorithm],
          allowedIss: own.issuer,
          key: async (decoded: DecodedToken) => {
            const entry = own.publicKey(typeof decoded.header.kid === 'string' ? decoded.header.kid : undefined)
            if (entry === undefined) throw new AuthFailure('unknown_kid', new InvalidTokenError(), own.issuer)
            return entry.pem
          }
        })
        this.#routes.set(own.issuer, { algorithms: [own.algorithm], verify: async (token) => check(token) })
      }
    }
  }

  get hasKeySource (): boolean {
    return this.#routes.size > 0 || this.#remote !== undefined
  }

  /** A read token verified here recently and still trusted, without any work beyond a lookup. */
  remembered (token: string): Identity | undefined {
    const hit = this.#verified?.get(token)
    return hit !== undefined && this.#keyStillTrusted(hit) ? hit.identity : undefined
  }

  /**
   * Verifies a token. `need: 'write'` demands a one-time write token and
   * consumes it; `need: 'read'` accepts any valid token and consumes nothing.
   */
  async verify (token: string, need: TokenKind): Promise<Identity> {
    // A client presents the same read token again and again (EmulatorJS
    // polls /list every second): a token verified here recently is not
    // verified again. Only tokens we verified ourselves are kept (RomM's
    // remote check is not), never longer than their exp or the cache TTL,
    // and a write still consumes its jti every time.
    if (need === 'read') {
      const known = this.remembered(token)
      if (known !== undefined) return known
    }
    if (Buffer.byteLength(token) > this.#options.maxTokenBytes) throw new AuthFailure('too_large', new InvalidTokenError())
    let decoded: DecodedToken
    try {
      decoded = decode(token)
    } catch {
      throw new AuthFailure('malformed', new InvalidTokenError())
    }
    const { header, payload } = decoded
    const iss = typeof payload.iss === 'string' ? payload.iss : undefined
    if (typeof header.alg !== 'string' || header.alg.toLowerCase() === 'none') {
      throw new AuthFailure('alg_not_allowed', new InvalidTokenError(), iss)
    }
    const route = iss === undefined ? undefined : this.#routes.get(iss)
    if (route === undefined) {
      if (this.#remote !== undefined && iss === this.#remote.issuer) return this.#verifyRemote(token, payload, need)
      throw new AuthFailure('issuer_not_allowed', new InvalidTokenError(), iss)
    }
    if (!route.algorithms.includes(header.alg)) throw new AuthFailure('alg_not_allowed', new InvalidTokenError(), iss)

    let claims: Record<string, unknown>
    try {
      claims = await route.verify(token)
    } catch (err) {
      if (err instanceof AuthFailure) throw err
      if ((err as TokenError).originalError instanceof AuthFailure) throw (err as TokenError).originalError
      const cause = (err as TokenError).originalError
      if (cause !== undefined && (cause as { statusCode?: number }).statusCode === 503) {
        throw new AuthFailure('backend_unavailable', new VerifierUnavailableError(), iss)
      }
      throw new AuthFailure(reasonOf(err), new InvalidTokenError(), iss)
    }
    const identity = await this.#identityFromClaims(iss as string, claims, need)
    if (this.#verified !== null && typeof claims.exp === 'number') {
      const ttl = Math.min(this.#options.verifiedTokens.ttlMs, claims.exp * 1000 - Date.now())
      const kid = typeof header.kid === 'string' ? header.kid : undefined
      if (ttl > 0) this.#verified.set(token, { identity, kid }, { ttl })
    }
    return identity
  }

  /** A remembered token stays trusted only while the key that signed it is still published (rotation, revocation). */
  #keyStillTrusted ({ identity, kid }: VerifiedToken): boolean {
    if (this.#own !== undefined && identity.issuer === this.#own.issuer && this.#own.algorithm !== 'HS256') {
      return this.#own.publicKey(kid) !== undefined
    }
    return this.jwks.get(identity.issuer)?.hasKey(kid) ?? true
  }

  async #identityFromClaims (iss: string, claims: Record<string, unknown>, need: TokenKind): Promise<Identity> {
    const sub = claims.sub
    if (typeof sub !== 'string' || sub === '') throw new AuthFailure('missing_claim', new InvalidTokenError(), iss)
    if (typeof claims.iat === 'number' && claims.iat * 1000 > Date.now() + this.#options.clockSkewMs) {
      throw new AuthFailure('issued_in_future', new InvalidTokenError(), iss)
    }
    const kind = tokenKindOf(claims.type)
    if (kind === null) throw new AuthFailure('bad_type', new InvalidTokenError(), iss)
    if (need === 'write') {
      if (kind !== 'write') throw new AuthFailure('not_write_token', new WriteTokenRequiredError(), iss)
      const jti = claims.jti
      if (typeof jti !== 'string' || jti === '' || jti.length > 128) throw new AuthFailure('missing_jti', new InvalidTokenError(), iss)
      let consumed: boolean
      try {
        consumed = await this.#store.consume(jti)
      } catch {
        throw new AuthFailure('backend_unavailable', new VerifierUnavailableError(), iss)
      }
      if (!consumed) throw new AuthFailure('replayed', new TokenUsedError(), iss)
    }
    return identityFrom(this.#userid, iss, sub, kind, claims.name ?? claims.netplay_username)
  }

  async #verifyRemote (token: string, payload: Record<string, unknown>, need: TokenKind): Promise<Identity> {
    const remote = this.#remote as NonNullable<AuthOptions['romm']>
    const kind = tokenKindOf(payload.type)
    if (kind === null) throw new AuthFailure('bad_type', new InvalidTokenError(), remote.issuer)
    if (need === 'write' && kind !== 'write') throw new AuthFailure('not_write_token', new WriteTokenRequiredError(), remote.issuer)
    let response: Response
    try {
      // Appended, not resolved: `new URL('/api/...', url)` would drop the path of a RomM served under a prefix.
      response = await fetch(`${remote.url.replace(/\/+$/, '')}/api/sfu/internal/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-romm-sfu-secret': remote.secret },
        body: JSON.stringify({ token, consume: need === 'write' }),
        signal: AbortSignal.timeout(remote.timeoutMs),
        redirect: 'error'
      })
    } catch {
      throw new AuthFailure('backend_unavailable', new VerifierUnavailableError(), remote.issuer)
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel()
      throw new AuthFailure('backend_unavailable', new VerifierUnavailableError(), remote.issuer)
    }
    if (!response.ok) {
      await response.body?.cancel()
      throw new AuthFailure('remote_rejected', new InvalidTokenError(), remote.issuer)
    }
    const body = await response.json().catch(() => null) as { sub?: unknown, netplay_username?: unknown } | null
    if (body === null || typeof body.sub !== 'string' || body.sub === '') {
      throw new AuthFailure('remote_rejected', new InvalidTokenError(), remote.issuer)
    }
    return identityFrom(this.#userid, remote.issuer, body.sub, kind, body.netplay_username)
  }
}
