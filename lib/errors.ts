// Coded errors shared by every plugin. Each error class carries a stable
// `code` (FST_NETPLAY_*) and an HTTP status; the wire body is always
// `{ error, message }` so browsers, sockets and HTTP clients read one shape.
import createError from '@fastify/error'

export interface NetplayError extends Error {
  code: string
  statusCode?: number
  /** The `error` field on the wire when it differs from `code` (compatibility strings). */
  wireCode?: string
  /** Extra fields a client reads (e.g. `retryAfterMs`). Never secrets. */
  details?: Record<string, unknown>
}

export type NetplayErrorClass<Args extends unknown[]> = ReturnType<typeof createError<string, number, Args>>

/**
 * Defines an error class. `wireCode` is for the few places where a client
 * already matches on a fixed string (e.g. `rate_limited`).
 */
export function defineError<Args extends unknown[] = []> (
  code: `FST_NETPLAY_${string}`,
  message: string,
  statusCode: number,
  wireCode?: string
): NetplayErrorClass<Args> {
  const Klass = createError<string, number, Args>(code, message, statusCode)
  if (wireCode !== undefined) {
    Object.defineProperty(Klass.prototype, 'wireCode', { value: wireCode, enumerable: false })
  }
  return Klass
}

export interface ErrorBody {
  error: string
  message: string
  [extra: string]: unknown
}

export function isCoded (err: unknown): err is NetplayError {
  return err instanceof Error && typeof (err as NetplayError).code === 'string'
}

/** Turns any thrown value into the wire body, hiding internals of unexpected errors. */
export function errorBody (err: unknown): ErrorBody {
  if (isCoded(err) && err.code.startsWith('FST_')) {
    return { ...err.details, error: err.wireCode ?? err.code, message: err.message }
  }
  return { error: 'FST_NETPLAY_INTERNAL', message: 'internal error' }
}

export function statusOf (err: unknown): number {
  const status = (err as NetplayError | undefined)?.statusCode
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500
}

export const OptionsInvalidError = defineError<[string, string]>(
  'FST_NETPLAY_OPTIONS_INVALID',
  'Invalid option "%s": %s',
  500
)

export const InternalError = defineError('FST_NETPLAY_INTERNAL', 'internal error', 500)
