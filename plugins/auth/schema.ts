import Type, { type Static } from 'typebox'
import type { FastifyRequest } from 'fastify'
import type { RedisOption } from '../../lib/redis.ts'

const Ms = (def: number, description: string, max = 7 * 86_400_000) =>
  Type.Integer({ minimum: 0, maximum: max, default: def, description })

export const AsymmetricAlgorithm = Type.Union([Type.Literal('RS256'), Type.Literal('ES256'), Type.Literal('EdDSA')])
export type AsymmetricAlgorithm = Static<typeof AsymmetricAlgorithm>

export const TrustedIssuer = Type.Object({
  iss: Type.String({ minLength: 1, description: 'The exact `iss` claim this entry trusts.' }),
  jwksUrl: Type.String({ pattern: '^https?://', description: 'Where this issuer publishes its public keys.' }),
  algorithms: Type.Array(AsymmetricAlgorithm, { minItems: 1, default: ['RS256', 'ES256', 'EdDSA'] }),
  audience: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))
}, { additionalProperties: false })
export type TrustedIssuer = Static<typeof TrustedIssuer>

export const MintOptions = Type.Object({
  issuer: Type.String({ minLength: 1, default: 'fastify-netplay' }),
  algorithm: Type.Union([Type.Literal('HS256'), AsymmetricAlgorithm], { default: 'HS256' }),
  /** HS256 only: signing secret; defaults to the first of `secrets`. */
  secret: Type.Optional(Type.String({ minLength: 32 })),
  /** Asymmetric only: PEM private keys, newest last. Generated at boot when absent. */
  privateKeys: Type.Optional(Type.Array(Type.Object({ kid: Type.String({ minLength: 1 }), pem: Type.String({ minLength: 1 }) }, { additionalProperties: false }))),
  readTtlMs: Ms(15 * 60_000, 'Lifetime of minted read tokens.'),
  writeTtlMs: Ms(30_000, 'Lifetime of minted one-time write tokens.'),
  /** Retired signing keys stay in the JWKS this long so tokens they signed still verify. */
  rotationOverlapMs: Ms(86_400_000, 'Overlap window after a key rotation.', 30 * 86_400_000),
  route: Type.Boolean({ default: false, description: 'Serve POST /token (needs `authorize`).' }),
  authorize: Type.Optional(Type.Unsafe<AuthorizeMint>(Type.Any()))
}, { additionalProperties: false })

export const AuthOptions = Type.Object({
  enabled: Type.Boolean({ default: true, description: 'false serves anonymous clients; only the host may say so, and a warning is logged.' }),
  prefix: Type.String({ default: '', description: 'Prefix of the routes this plugin serves.' }),
  secrets: Type.Array(Type.String({ minLength: 16 }), { default: [], description: 'HS256 shared secrets (several for rotation), e.g. RomM ROMM_AUTH_SECRET_KEY.' }),
  hs256Issuers: Type.Array(Type.String({ minLength: 1 }), { default: ['romm:sfu'], description: '`iss` values accepted with the HS256 secrets.' }),
  issuers: Type.Array(TrustedIssuer, { default: [] }),
  romm: Type.Optional(Type.Object({
    url: Type.String({ pattern: '^https?://' }),
    secret: Type.String({ minLength: 1 }),
    issuer: Type.String({ default: 'romm:sfu' }),
    timeoutMs: Ms(5000, 'Timeout of the remote verify call.', 60_000)
  }, { additionalProperties: false })),
  audience: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  clockSkewMs: Ms(5000, 'Allowed clock difference for exp/nbf/iat.', 300_000),
  maxTokenBytes: Type.Integer({ minimum: 256, maximum: 65536, default: 8192 }),
  verifiedTokens: Type.Object({
    max: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000, description: 'Read tokens remembered as verified (0 turns the cache off).' }),
    ttlMs: Ms(60_000, 'Longest time a verified read token is trusted without re-verifying (never past its exp).', 3_600_000)
  }, { additionalProperties: false, default: {} }),
  jwks: Type.Object({
    cooldownMs: Ms(30_000, 'Minimum time between refetches of one issuer on unknown kid.', 3_600_000),
    timeoutMs: Ms(5000, 'JWKS fetch timeout.', 60_000),
    maxKeys: Type.Integer({ minimum: 1, maximum: 100, default: 20 })
  }, { additionalProperties: false, default: {} }),
  tokenSources: Type.Object({
    header: Type.Boolean({ default: true }),
    cookies: Type.Array(Type.String({ minLength: 1 }), { default: ['romm_sfu_token', 'sfu_token'] }),
    query: Type.Boolean({ default: true, description: 'Read ?token= (the EmulatorJS-SFU client uses it on /list).' }),
    queryParam: Type.String({ minLength: 1, default: 'token' })
  }, { additionalProperties: false, default: {} }),
  userid: Type.Union([Type.Literal('scoped'), Type.Literal('romm-sfu')], {
    default: 'scoped',
    description: 'scoped: uuid from (iss, sub); romm-sfu: first 32 hex of sha256(sub), like romm-sfu-server.'
  }),
  store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], { default: 'memory' }),
  redis: Type.Optional(Type.Unsafe<RedisOption>(Type.Any())),
  jtiKeyPrefix: Type.String({ default: 'sfu:auth:jti:' }),
  mint: Type.Optional(MintOptions)
}, { additionalProperties: false })

export type AuthOptions = Static<typeof AuthOptions>
export type AuthOptionsInput = Partial<Omit<AuthOptions, 'issuers' | 'jwks' | 'tokenSources' | 'mint' | 'romm' | 'verifiedTokens'>> & {
  verifiedTokens?: Partial<AuthOptions['verifiedTokens']>
  issuers?: Array<Omit<TrustedIssuer, 'algorithms'> & Partial<Pick<TrustedIssuer, 'algorithms'>>>
  jwks?: Partial<AuthOptions['jwks']>
  tokenSources?: Partial<AuthOptions['tokenSources']>
  mint?: Partial<Static<typeof MintOptions>>
  romm?: { url: string, secret: string, issuer?: string, timeoutMs?: number }
}

/** Host hook for POST /token: return the subject to mint for, or null to refuse. */
export type AuthorizeMint = (request: FastifyRequest) => Promise<MintGrant | null> | MintGrant | null
export interface MintGrant {
  sub: string
  name?: string
  kinds?: Array<'read' | 'write'>
}

export const MintRequestBody = Type.Object({
  kind: Type.Union([Type.Literal('read'), Type.Literal('write')], { default: 'read' })
}, { additionalProperties: false })
