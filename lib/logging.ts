// Logger and request-id settings for hosts. Plugins cannot configure the
// host's logger, so hosts spread `netplayServerOptions()` into `Fastify({...})`;
// the standalone server does. The redact list covers every place a token,
// password or TURN credential could reach a log line.
import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-romm-sfu-secret"]',
  'req.query.token',
  'headers.authorization',
  'headers.cookie',
  'token',
  '*.token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'credential',
  '*.credential',
  'iceServers[*].credential',
  '*.iceServers[*].credential'
]

/** Fastify logs each request's URL, and `?token=` (the EmulatorJS-SFU client's) is a credential: keep the parameter, drop its value. */
function redactedUrl (url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[redacted]')
}

function censor (value: unknown, path: string[]): unknown {
  return path.at(-1) === 'url' && typeof value === 'string' ? redactedUrl(value) : '[redacted]'
}

export const REQUEST_ID_HEADER = 'x-request-id'
const MAX_REQUEST_ID = 128
const SAFE_REQUEST_ID = /^[\w.:@/+=-]+$/

function wellFormed (incoming: unknown): incoming is string {
  return typeof incoming === 'string' && incoming.length > 0 && incoming.length <= MAX_REQUEST_ID && SAFE_REQUEST_ID.test(incoming)
}

/** Echoes a well-formed incoming request id (bounded length, safe charset) or generates one. */
export function requestIdFor (incoming: unknown): string {
  return wellFormed(incoming) ? incoming : randomUUID()
}

/**
 * onRequest hook: every netplay response carries a request id. With
 * `netplayServerOptions()` it is the id in the logs; on a host with its own
 * id scheme, a well-formed incoming id is still echoed.
 */
export function requestIdHook (request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const incoming = request.headers[REQUEST_ID_HEADER]
  reply.header(REQUEST_ID_HEADER, wellFormed(incoming) ? incoming : request.id)
  done()
}

export interface NetplayServerOptionsInput {
  level?: string
  /** Pretty or extra pino options to merge. */
  logger?: Record<string, unknown>
}

/** Server options that give every request a bounded `X-Request-Id` and a logger that redacts secrets. */
export function netplayServerOptions (input: NetplayServerOptionsInput = {}): Pick<FastifyServerOptions, 'logger' | 'genReqId' | 'requestIdHeader'> {
  return {
    logger: { level: input.level ?? 'info', ...input.logger, redact: { paths: [...REDACT_PATHS, 'req.url'], censor } },
    requestIdHeader: false,
    genReqId: (req) => requestIdFor(req.headers[REQUEST_ID_HEADER])
  }
}
