// Tokens built by hand with node:crypto, independent of the fast-jwt code
// under test, so a test can put anything in the header, the claims or the
// signature: RomM-style HS256 tokens, JWKS-issuer tokens, and attacks.
import { createHmac, generateKeyPairSync, randomUUID, sign, type JsonWebKey, type KeyObject } from 'node:crypto'

/** The RomM-style shared secret (ROMM_AUTH_SECRET_KEY) the tests trust. */
export const SECRET = 'test-secret-0123456789abcdef-0123456789'

export type AsymmetricAlg = 'RS256' | 'ES256' | 'EdDSA'

/** A key pair of a JWKS issuer, with its public JWK as published. */
export interface IssuerKey {
  kid: string
  alg: AsymmetricAlg
  privateKey: KeyObject
  /** SPKI PEM text of the public key (what an attacker can read from the JWKS). */
  publicPem: string
  jwk: JsonWebKey
}

function keyPair (alg: AsymmetricAlg): { privateKey: KeyObject, publicKey: KeyObject } {
  if (alg === 'RS256') return generateKeyPairSync('rsa', { modulusLength: 2048 })
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return generateKeyPairSync('ed25519')
}

export function issuerKey (alg: AsymmetricAlg, kid: string = randomUUID()): IssuerKey {
  const { privateKey, publicKey } = keyPair(alg)
  return {
    kid,
    alg,
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' }
  }
}

export function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * Encodes and signs a JWT exactly as given. `key` is an HMAC secret for
 * HS256 (any string: attacks use a public key's PEM text) or a private key;
 * any other `alg` (e.g. `none`) gets an empty signature.
 */
export function encodeJwt (header: Record<string, unknown>, payload: Record<string, unknown>, key?: string | KeyObject): string {
  const input = `${part(header)}.${part(payload)}`
  const data = Buffer.from(input)
  let signature = ''
  if (header.alg === 'HS256' && key !== undefined) {
    signature = createHmac('sha256', key as string).update(data).digest('base64url')
  } else if (header.alg === 'RS256' && typeof key === 'object') {
    signature = sign('sha256', data, key).toString('base64url')
  } else if (header.alg === 'ES256' && typeof key === 'object') {
    signature = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
  } else if (header.alg === 'EdDSA' && typeof key === 'object') {
    signature = sign(null, data, key).toString('base64url')
  }
  return `${input}.${signature}`
}

/** RomM's claims for a read token; overrides win, and `undefined` removes a claim. */
export function rommClaims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds()
  return { iss: 'romm:sfu', sub: 'alice', type: 'sfu:read', iat: now, exp: now + 900, ...overrides }
}

/** An HS256 token as RomM mints it (read by default). */
export function rommToken (overrides: Record<string, unknown> = {}, secret: string = SECRET): string {
  return encodeJwt({ alg: 'HS256', typ: 'JWT' }, rommClaims(overrides), secret)
}

/** A RomM write token with a fresh jti (RomM stores `sfu:auth:jti:<jti>` beside it). */
export function rommWriteToken (overrides: Record<string, unknown> = {}, secret: string = SECRET): { token: string, jti: string } {
  const jti = randomUUID().replaceAll('-', '')
  return { jti, token: rommToken({ type: 'sfu:write', jti, exp: nowSeconds() + 30, ...overrides }, secret) }
}

/** A token of a JWKS issuer signed with `key` (its kid in the header unless the header overrides it). */
export function issuerToken (key: IssuerKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return encodeJwt({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header }, rommClaims(claims), key.privateKey)
}

/** The parts of a JWT, decoded (for asserting what an issuer signed). */
export function decodeJwt (token: string): { header: Record<string, unknown>, payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString())
  }
}
