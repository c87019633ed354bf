import { createHash } from 'node:crypto'
import type { Identity, TokenKind } from '../../lib/netplay.ts'

export type UseridMode = 'scoped' | 'romm-sfu'

function asUuid (hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/**
 * A stable id for (issuer, subject). `scoped` keeps two issuers' "alice"
 * apart; `romm-sfu` reproduces romm-sfu-server's id (sha256 of `sub` only)
 * for deployments that mix both servers.
 */
export function useridFor (mode: UseridMode, iss: string, sub: string): string {
  const input = mode === 'romm-sfu' ? sub : `${iss}\n${sub}`
  return asUuid(createHash('sha256').update(input).digest('hex'))
}

const MAX_NAME = 64

export function identityFrom (mode: UseridMode, iss: string, sub: string, kind: TokenKind, name?: unknown): Identity {
  const display = typeof name === 'string' && name.trim() !== '' ? name.trim() : sub
  // Frozen: one identity may be shared by every request presenting the same token.
  return Object.freeze({ sub, userid: useridFor(mode, iss, sub), name: display.slice(0, MAX_NAME), tokenKind: kind, issuer: iss })
}

/** RomM's `type` claim: `sfu:write` is one-time; `sfu:read` and legacy `sfu` are read tokens. */
export function tokenKindOf (type: unknown): TokenKind | null {
  if (type === 'sfu:write') return 'write'
  if (type === 'sfu:read' || type === 'sfu') return 'read'
  return null
}
