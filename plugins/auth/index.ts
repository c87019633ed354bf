// `auth`: finds the token where EmulatorJS clients put it, verifies it
// against the configured key sources, consumes one-time write tokens, and
// attaches an Identity to requests and sockets. Optionally mints tokens.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { audit } from '../../lib/audit.ts'
import { netplayRoutes } from '../../lib/http.ts'
import { PACKAGE, netplayNamespace, type Identity, type TokenKind } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { redisForStore } from '../../lib/redis.ts'
import { MemoryOneTimeTokenStore, RedisOneTimeTokenStore } from '../../lib/stores/one-time-tokens.ts'
import { RateLimitedError } from '../rate-limit/errors.ts'
import { MintForbiddenError, MintNotConfiguredError, MissingTokenError, NoKeySourceError } from './errors.ts'
import { TokenIssuer, type MintInput, type MintedToken } from './issuer.ts'
import { AuthOptions, MintRequestBody, type AuthOptionsInput } from './schema.ts'
import { tokenFrom, type TokenCarrier } from './token-source.ts'
import { AuthFailure, TokenVerifier } from './verifier.ts'

export interface AuthenticateOptions {
  /** `write` demands a one-time write token and consumes it. Default `read`. */
  need?: TokenKind
  /** Client address, for the audit log. */
  ip?: string
}

export interface AuthApi {
  /** false only when the host registered `auth: false`. */
  readonly enabled: boolean
  /** The token a request or handshake carries, or null. */
  tokenFrom (carrier: TokenCarrier): string | null
  /** Verifies a token (throws a coded 401/403/503 error). */
  verify (token: string, options?: AuthenticateOptions): Promise<Identity>
  /** Finds and verifies the token of a request or handshake; null when auth is off. */
  authenticate (carrier: TokenCarrier, options?: AuthenticateOptions): Promise<Identity | null>
  /** preHandler hook that sets `request.netplayIdentity` or answers 401/403/503. */
  requireIdentity (options?: Pick<AuthenticateOptions, 'need'>): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  /** Issuer mode: mints a read token or a one-time write token. */
  mint (input: MintInput): Promise<MintedToken>
  /** Issuer mode with an asymmetric key: starts signing with a new key, returns its kid. */
  rotateKey (): string
  /** Issuer mode: the public JWKS document. */
  jwks (): { keys: unknown[] }
  /** JWKS fetch counts per trusted issuer (observability). */
  jwksFetches (): Record<string, number>
  /** Authentication failures by reason code since start (metrics). */
  stats (): { failures: Record<string, number> }
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    auth: AuthApi
  }
}

const parseOptions = optionsParser('auth', AuthOptions)

async function auth (app: FastifyInstance, input: AuthOptionsInput): Promise<void> {
  const options = parseOptions(input)
  const redis = await redisForStore(app, 'auth', options.store, options.redis)
  const store = redis === null ? new MemoryOneTimeTokenStore() : new RedisOneTimeTokenStore(redis, options.jtiKeyPrefix)
  const issuer = options.mint === undefined ? undefined : new TokenIssuer(options.mint, options.secrets[0], store)
  const verifier = new TokenVerifier({ options, store, ...(issuer !== undefined ? { own: issuer } : {}) })

  if (!options.enabled) {
    app.log.warn('netplay auth is disabled (auth: false): clients choose their own identity; use only on a trusted network')
  } else if (!verifier.hasKeySource) {
    throw new NoKeySourceError()
  }

  const failures = new Map<string, number>()
  function countFailure (reason: string): void {
    failures.set(reason, (failures.get(reason) ?? 0) + 1)
  }

  function requireIssuer (): TokenIssuer {
    if (issuer === undefined) throw new MintNotConfiguredError()
    return issuer
  }

  async function verify (token: string, { need = 'read', ip }: AuthenticateOptions = {}): Promise<Identity> {
    try {
      const identity = await verifier.verify(token, need)
      if (need === 'write') audit(app.log, 'auth.token_consumed', { userid: identity.userid, iss: identity.issuer, ip })
      return identity
    } catch (err) {
      if (!(err instanceof AuthFailure)) throw err
      countFailure(err.reason)
      audit(app.log, 'auth.failure', { reason: err.reason, iss: err.issuer, ip })
      throw err.error
    }
  }

  async function authenticate (carrier: TokenCarrier, options_: AuthenticateOptions = {}): Promise<Identity | null> {
    if (!options.enabled) return null
    const token = tokenFrom(carrier, options.tokenSources)
    if (token === null) {
      countFailure('missing_token')
      audit(app.log, 'auth.failure', { reason: 'missing_token', ip: options_.ip })
      throw new MissingTokenError()
    }
    return verify(token, options_)
  }

  async function mint (mintInput: MintInput): Promise<MintedToken> {
    const minted = await requireIssuer().mint(mintInput)
    audit(app.log, 'auth.token_minted', { sub: mintInput.sub, kind: minted.kind, expiresAt: minted.expiresAt })
    return minted
  }

  const api: AuthApi = {
    enabled: options.enabled,
    tokenFrom: (carrier) => tokenFrom(carrier, options.tokenSources),
    verify,
    authenticate,
    // A callback hook: a token verified recently is found with one lookup
    // and the request goes on without waiting on a promise (every netplay
    // request passes here).
    requireIdentity: ({ need = 'read' } = {}) => (request, _reply, done) => {
      if (need === 'read' && options.enabled) {
        const token = tokenFrom(request, options.tokenSources)
        const known = token === null ? undefined : verifier.remembered(token)
        if (known !== undefined) {
          request.netplayIdentity = known
          done()
          return
        }
      }
      authenticate(request, { need, ip: request.ip }).then((identity) => {
        request.netplayIdentity = identity
        done()
      }, done)
    },
    mint,
    rotateKey: () => {
      const kid = requireIssuer().rotate()
      audit(app.log, 'auth.key_rotated', { kid })
      return kid
    },
    jwks: () => requireIssuer().jwks(),
    stats: () => ({ failures: Object.fromEntries(failures) }),
    jwksFetches: () => Object.fromEntries([...verifier.jwks].map(([iss, keys]) => [iss, keys.fetches]))
  }
  netplayNamespace(app).auth = api
  app.decorateRequest('netplayIdentity', null)

  const mintOptions = options.mint
  if (issuer === undefined || mintOptions === undefined) return
  const serveJwks = issuer.algorithm !== 'HS256'
  if (!serveJwks && !mintOptions.route) return
  await netplayRoutes(app, { prefix: options.prefix }, (scope) => {
    if (serveJwks) {
      scope.get('/.well-known/jwks.json', async (_request, reply) => {
        reply.header('cache-control', 'public, max-age=300')
        return issuer.jwks()
      })
    }
    if (!mintOptions.route) return
    const authorize = mintOptions.authorize
    if (authorize === undefined) throw new MintNotConfiguredError()
    const limits = app.netplay.rateLimit
    scope.post('/token', {
      schema: { body: MintRequestBody },
      preHandler: async (request) => {
        const ipTake = await limits.take('mint', `ip:${request.ip}`)
        if (!ipTake.allowed) throw new RateLimitedError()
      }
    }, async (request) => {
      const grant = await authorize(request)
      if (grant === null || typeof grant.sub !== 'string' || grant.sub === '') throw new MintForbiddenError()
      const { kind } = request.body as { kind: TokenKind }
      if (!(grant.kinds ?? ['read', 'write']).includes(kind)) throw new MintForbiddenError()
      const subTake = await limits.take('mint', `sub:${grant.sub}`)
      if (!subTake.allowed) throw new RateLimitedError()
      const minted = await mint({ sub: grant.sub, kind, ...(grant.name !== undefined ? { name: grant.name } : {}) })
      return { token: minted.token, kind: minted.kind, expires_at: minted.expiresAt }
    })
  })
}

export default fp(auth, {
  fastify: '5.x',
  name: `${PACKAGE}/auth`,
  dependencies: [`${PACKAGE}/rate-limit`]
})

export { AuthOptions, type AuthOptionsInput, type AuthorizeMint, type MintGrant } from './schema.ts'
export type { TokenCarrier } from './token-source.ts'
export type { MintInput, MintedToken } from './issuer.ts'
export * from './errors.ts'
