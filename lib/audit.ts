// Audit lines: structured, one per security-relevant event, marked
// `audit: true` so operators can route them. Callers pass reason codes and
// identifiers, never token material.
import type { FastifyBaseLogger } from 'fastify'

export type AuditEvent =
  | 'auth.failure'
  | 'auth.token_consumed'
  | 'auth.token_minted'
  | 'auth.key_rotated'
  | 'rate_limit.cut_off'
  | 'rooms.password_failure'

export function audit (log: FastifyBaseLogger, event: AuditEvent, fields: Record<string, unknown>): void {
  log.info({ audit: true, event, ...fields }, event)
}
