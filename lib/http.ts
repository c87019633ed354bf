// Every netplay HTTP route is registered through `netplayRoutes`, so they all
// share one error shape, a request id, the body limit and the HTTP rate
// limit. The scope is encapsulated: the host's own routes and error handler
// are untouched.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, statusOf } from './errors.ts'
import { requestIdHook } from './logging.ts'

export const DEFAULT_BODY_LIMIT = 32 * 1024

export interface NetplayRoutesOptions {
  prefix?: string
  bodyLimit?: number
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

export async function netplayRoutes (
  app: FastifyInstance,
  options: NetplayRoutesOptions,
  routes: (scope: FastifyInstance) => void | Promise<void>
): Promise<void> {
  // Without the rate-limit plugin there is no `app.netplay` yet: default body limit, no HTTP limit.
  const rateLimit = app.hasDecorator('netplay') ? app.netplay.rateLimit : undefined
  const bodyLimit = options.bodyLimit ?? rateLimit?.bodyLimit ?? DEFAULT_BODY_LIMIT
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => { route.bodyLimit ??= bodyLimit })
    scope.addHook('onRequest', requestIdHook)
    const httpLimit = rateLimit?.httpHook
    if (httpLimit !== undefined) scope.addHook('onRequest', httpLimit)
    scope.setErrorHandler(netplayErrorHandler)
    await routes(scope)
  }, { prefix: options.prefix ?? '' })
}
