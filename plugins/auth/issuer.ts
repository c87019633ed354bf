// Issuer mode: the host (or the standalone server) is its own identity
// provider. It mints read tokens and one-time write tokens; with an
// asymmetric algorithm it publishes its public keys as a JWKS and rotates
// them, keeping a retired key published for an overlap window so the tokens
// it signed keep verifying until they expire.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject, type JsonWebKey } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { TokenKind } from '../../lib/netplay.ts'
import type { OneTimeTokenStore } from '../../lib/stores/one-time-tokens.ts'
import type { PublicKeyEntry } from './jwks.ts'
import type { AuthOptions } from './schema.ts'
import type { OwnKeys } from './verifier.ts'

type MintOptions = NonNullable<AuthOptions['mint']>
type AsymmetricAlg = PublicKeyEntry['alg']

export interface MintInput {
  sub: string
  kind: TokenKind
  name?: string
  /** Defaults to `mint.readTtlMs` / `mint.writeTtlMs`. */
  ttlMs?: number
}

export interface MintedToken {
  token: string
  kind: TokenKind
  /** Epoch milliseconds. */
  expiresAt: number
  jti?: string
}

interface SigningKey {
  kid: string
  privateKey: KeyObject
  publicKey: PublicKeyEntry
  jwk: JsonWebKey
  retiredAt?: number
}

const MAX_TTL_MS = 24 * 3_600_000

function generate (alg: AsymmetricAlg): KeyObject {
  if (alg === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  return generateKeyPairSync('ed25519').privateKey
}

function signingKey (alg: AsymmetricAlg, kid: string, privateKey: KeyObject): SigningKey {
  const pub = createPublicKey(privateKey)
  const jwk = { ...pub.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  return { kid, privateKey, jwk, publicKey: { alg, pem: pub.export({ type: 'spki', format: 'pem' }).toString() } }
}

export class TokenIssuer implements OwnKeys {
  readonly issuer: string
  readonly algorithm: MintOptions['algorithm']
  readonly secret: string | undefined
  readonly #options: MintOptions
  readonly #store: OneTimeTokenStore
  #keys: SigningKey[] = []
  readonly #signers = new Map<string, (payload: Record<string, unknown>) => string>()

  constructor (options: MintOptions, fallbackSecret: string | undefined, store: OneTimeTokenStore) {
    this.#options = options
    this.#store = store
    this.issuer = options.issuer
    this.algorithm = options.algorithm
    if (options.algorithm === 'HS256') {
      // Without a configured secret the standalone server still works: a
      // random per-process secret (tokens die with the process).
      this.secret = options.secret ?? fallbackSecret ?? randomBytes(32).toString('base64url')
    } else {
      const alg = options.algorithm
      const provided = options.privateKeys ?? []
      this.#keys = provided.length > 0
        ? provided.map(({ kid, pem }) => signingKey(alg, kid, createPrivateKey(pem)))
        : [signingKey(alg, randomUUID(), generate(alg))]
    }
  }

  publicKey (kid: string | undefined): PublicKeyEntry | undefined {
    this.#prune()
    const key = kid === undefined ? undefined : this.#keys.find((k) => k.kid === kid)
    return key?.publicKey
  }

  /** The JWKS document: the current key and the retired ones still in their overlap window. */
  jwks (): { keys: JsonWebKey[] } {
    this.#prune()
    return { keys: this.#keys.map((k) => k.jwk) }
  }

  /** Starts signing with a new key; the old one stays published for `rotationOverlapMs`. Returns the new kid. */
  rotate (): string {
    if (this.algorithm === 'HS256') throw new Error('HS256 keys are rotated by changing `secrets`')
    const now = Date.now()
    for (const key of this.#keys) key.retiredAt ??= now
    const next = signingKey(this.algorithm, randomUUID(), generate(this.algorithm))
    this.#keys.push(next)
    return next.kid
  }

  async mint (input: MintInput): Promise<MintedToken> {
    const ttlMs = Math.min(MAX_TTL_MS, input.ttlMs ?? (input.kind === 'write' ? this.#options.writeTtlMs : this.#options.readTtlMs))
    const nowMs = Date.now()
    const payload: Record<string, unknown> = {
      sub: input.sub,
      type: input.kind === 'write' ? 'sfu:write' : 'sfu:read'
    }
    if (input.name !== undefined) payload.name = input.name
    let jti: string | undefined
    if (input.kind === 'write') {
      jti = randomUUID().replaceAll('-', '')
      payload.jti = jti
      await this.#store.remember(jti, ttlMs)
    }
    payload.iat = Math.floor(nowMs / 1000)
    payload.exp = Math.floor((nowMs + ttlMs) / 1000)
    return { token: this.#signer()(payload), kind: input.kind, expiresAt: nowMs + ttlMs, ...(jti !== undefined ? { jti } : {}) }
  }

  /** One signer per signing key, built on first use. */
  #signer (): (payload: Record<string, unknown>) => string {
    const current = this.#keys.at(-1)
    const id = current?.kid ?? ''
    let sign = this.#signers.get(id)
    if (sign === undefined) {
      sign = createSigner({
        algorithm: this.algorithm,
        key: current === undefined ? this.secret : current.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        iss: this.issuer,
        ...(current !== undefined ? { kid: current.kid } : {})
      }) as (payload: Record<string, unknown>) => string
      this.#signers.clear()
      this.#signers.set(id, sign)
    }
    return sign
  }

  #prune (): void {
    const cutoff = Date.now() - this.#options.rotationOverlapMs
    this.#keys = this.#keys.filter((k) => k.retiredAt === undefined || k.retiredAt > cutoff)
  }
}
