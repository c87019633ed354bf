// Public keys of one trusted issuer, fetched from its JWKS URL.
// - keys are cached and selected by `kid`;
// - an unknown kid refetches at most once per cooldown (a flood of random
//   kids costs one fetch, not one per token);
// - a fetch that fails or times out keeps the last good keys;
// - with no good keys at all, verification is "unavailable" (503), not "invalid".
import { createPublicKey, type JsonWebKey } from 'node:crypto'
import { defineError } from '../../lib/errors.ts'

export const JwksUnavailableError = defineError<[string]>('FST_NETPLAY_AUTH_JWKS_UNAVAILABLE', 'JWKS unavailable: %s', 503)

export interface PublicKeyEntry {
  pem: string
  /** The JOSE algorithm this key can verify. */
  alg: 'RS256' | 'ES256' | 'EdDSA'
}

export interface JwksFetchOptions {
  cooldownMs: number
  timeoutMs: number
  maxKeys: number
  /** Refresh keys that are older than this on next use (picks up revocations). */
  maxAgeMs?: number
}

function algOf (jwk: JsonWebKey): PublicKeyEntry['alg'] | null {
  if (jwk.kty === 'RSA') return 'RS256'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  return null
}

export function publicKeyFromJwk (jwk: JsonWebKey): PublicKeyEntry | null {
  const alg = algOf(jwk)
  if (alg === null || (typeof jwk.alg === 'string' && jwk.alg !== alg) || (jwk.use !== undefined && jwk.use !== 'sig')) return null
  try {
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
    return { pem, alg }
  } catch {
    return null
  }
}

export class JwksKeySet {
  readonly url: string
  readonly #options: JwksFetchOptions
  #keys = new Map<string, PublicKeyEntry>()
  #fetchedAtMs = -Infinity
  #attemptedAtMs = -Infinity
  #inflight: Promise<void> | null = null
  /** Fetches made so far (observable for tests and metrics). */
  fetches = 0

  constructor (url: string, options: JwksFetchOptions) {
    this.url = url
    this.#options = options
  }

  async key (kid: string | undefined): Promise<PublicKeyEntry | null> {
    const now = Date.now()
    const stale = this.#options.maxAgeMs !== undefined && now - this.#fetchedAtMs > this.#options.maxAgeMs
    const known = kid === undefined ? this.#onlyKey() : this.#keys.get(kid)
    if (known !== undefined && !stale) return known
    if (now - this.#attemptedAtMs >= this.#options.cooldownMs) await this.#refresh()
    else if (this.#inflight !== null) await this.#inflight
    if (this.#fetchedAtMs === -Infinity) throw new JwksUnavailableError(this.url)
    return (kid === undefined ? this.#onlyKey() : this.#keys.get(kid)) ?? null
  }

  /** Whether a key is still in the last good key set (no fetch). */
  hasKey (kid: string | undefined): boolean {
    return (kid === undefined ? this.#onlyKey() : this.#keys.get(kid)) !== undefined
  }

  #onlyKey (): PublicKeyEntry | undefined {
    // A token without kid is accepted only when the issuer publishes exactly one key.
    return this.#keys.size === 1 ? this.#keys.values().next().value : undefined
  }

  async #refresh (): Promise<void> {
    if (this.#inflight !== null) return this.#inflight
    this.#attemptedAtMs = Date.now()
    this.#inflight = this.#fetch().finally(() => { this.#inflight = null })
    return this.#inflight
  }

  async #fetch (): Promise<void> {
    this.fetches++
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(this.#options.timeoutMs), redirect: 'error', headers: { accept: 'application/json' } })
      if (!response.ok) return
      const body = await response.json() as { keys?: unknown }
      if (!Array.isArray(body.keys)) return
      const next = new Map<string, PublicKeyEntry>()
      for (const jwk of body.keys.slice(0, this.#options.maxKeys) as JsonWebKey[]) {
        if (jwk === null || typeof jwk !== 'object') continue
        const entry = publicKeyFromJwk(jwk)
        const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined
        if (entry !== null && kid !== undefined) next.set(kid, entry)
      }
      if (next.size === 0) return
      this.#keys = next
      this.#fetchedAtMs = Date.now()
    } catch {
      // Timeout, refused connection or bad JSON: keep the last good keys.
    }
  }
}
