// Every netplay HTTP route is registered through `netplayRoutes`, so they all
// share one error shape, a request id, the body limit, the HTTP rate limit
// and, for the browser-facing ones, CORS. The scope is encapsulated: the
// host's own routes and error handler are untouched.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { errorBody, statusOf } from './errors.ts'
import { requestIdHook } from './logging.ts'

export const DEFAULT_BODY_LIMIT = 32 * 1024

/** Request headers a cross-origin netplay client may send (family B's bearer token, JSON bodies). */
export const CORS_ALLOWED_HEADERS = 'authorization, content-type'
/** How long a browser may reuse a preflight's answer (seconds). */
export const CORS_MAX_AGE_S = 600

export interface NetplayRoutesOptions {
  prefix?: string
  bodyLimit?: number
  /**
   * Browser origins that may call these routes (`*` = any, without
   * credentials). Given and non-empty, every route of the scope answers with
   * CORS headers, errors included, and has an `OPTIONS` preflight route.
   */
  corsOrigins?: readonly string[]
}

export function netplayErrorHandler (this: FastifyInstance, err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = statusOf(err)
  if (status >= 500 && status !== 503) request.log.error({ err }, 'netplay route failed')
  if (err.validation !== undefined) {
    reply.code(400).send({ error: 'FST_NETPLAY_INVALID_REQUEST', message: err.message })
    return
  }
  reply.code(status).send(errorBody(err))
}

/**
 * onRequest hook: `*` answers any origin alike; a list echoes an allowed
 * `Origin` and says nothing to any other (the browser then refuses to show
 * the response). Set before the rate limit and auth run, so a 429 or a 401
 * stays readable by the page.
 */
function corsHook (origins: readonly string[]): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  if (origins.includes('*')) {
    return (_request, reply, done) => {
      reply.header('access-control-allow-origin', '*')
      done()
    }
  }
  const allowed = new Set(origins)
  return (request, reply, done) => {
    // On every response, allowed or not: a cache must not hand one origin's answer to another.
    reply.header('vary', 'Origin')
    const origin = request.headers.origin
    if (origin !== undefined && allowed.has(origin)) reply.header('access-control-allow-origin', origin)
    done()
  }
}

export async function netplayRoutes (
  app: FastifyInstance,
  options: NetplayRoutesOptions,
  routes: (scope: FastifyInstance) => void | Promise<void>
): Promise<void> {
  // Without the rate-limit plugin there is no `app.netplay` yet: default body limit, no HTTP limit.
  const rateLimit = app.hasDecorator('netplay') ? app.netplay.rateLimit : undefined
  const bodyLimit = options.bodyLimit ?? rateLimit?.bodyLimit ?? DEFAULT_BODY_LIMIT
  const corsOrigins = options.corsOrigins ?? []
  await app.register(async (scope) => {
    // The methods of each URL the scope registers, for its preflight.
    const methodsByUrl = new Map<string, Set<string>>()
    let collecting = true
    scope.addHook('onRoute', (route) => {
      route.bodyLimit ??= bodyLimit
      if (!collecting) return
      const methods = methodsByUrl.get(route.url) ?? new Set<string>()
      for (const method of [route.method].flat()) methods.add(method)
      methodsByUrl.set(route.url, methods)
    })
    if (corsOrigins.length > 0) scope.addHook('onRequest', corsHook(corsOrigins))
    scope.addHook('onRequest', requestIdHook)
    const httpLimit = rateLimit?.httpHook
    if (httpLimit !== undefined) scope.addHook('onRequest', httpLimit)
    scope.setErrorHandler(netplayErrorHandler)
    await routes(scope)
    if (corsOrigins.length === 0) return
    // One OPTIONS route per URL, not @fastify/cors's `OPTIONS <prefix>*`:
    // several netplay plugins share a prefix, and each would declare that
    // same wildcard route (FST_ERR_DUPLICATED_ROUTE). A child plugin, so
    // routes from plugins that `routes` registered are collected first.
    // Preflights go through the scope's hooks: the rate limit takes one
    // token, as for any request; no auth (browsers send no credentials).
    await scope.register(async (preflights) => {
      collecting = false
      for (const [url, methods] of methodsByUrl) {
        if (methods.has('OPTIONS')) continue // the caller answers its own
        const allow = [...methods, 'OPTIONS'].join(', ')
        preflights.route({
          method: 'OPTIONS',
          // Relative to the prefix; 'slash' keeps a '/' here to `<prefix>/` alone (`<prefix>` is its own URL, '').
          url: url.slice(preflights.prefix.length),
          prefixTrailingSlash: 'slash',
          handler: (_request, reply) => {
            // A refused origin learns nothing more than it would from a GET.
            if (reply.hasHeader('access-control-allow-origin')) {
              reply.header('access-control-allow-methods', allow)
              reply.header('access-control-allow-headers', CORS_ALLOWED_HEADERS)
              reply.header('access-control-max-age', String(CORS_MAX_AGE_S))
            }
            reply.code(204).send()
          }
        })
      }
    })
  }, { prefix: options.prefix ?? '' })
}
