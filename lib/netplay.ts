// The `app.netplay` namespace. Each plugin adds exactly one member
// (`auth`, `rateLimit`, `signaling`, `rooms`, ...) and types it by augmenting
// `NetplayDecorators`. Everything hangs off the Fastify instance: two apps in
// one process never share state.
import type { FastifyInstance } from 'fastify'

export type TokenKind = 'read' | 'write'

/** Who is on the other end of a request or socket, as proven by a token. */
export interface Identity {
  /** The token's `sub`. */
  sub: string
  /** Stable id derived from (`iss`, `sub`): the same person gets the same id on every node and reconnect. */
  userid: string
  /** Display name: the token's `name`/`netplay_username`, else `sub`. */
  name: string
  tokenKind: TokenKind
  /** The token's `iss` (or the RomM verifier's issuer). */
  issuer: string
}

export interface NetplayDecorators {}

declare module 'fastify' {
  interface FastifyInstance {
    netplay: NetplayDecorators
  }
  interface FastifyRequest {
    /** Set by the `auth` plugin on netplay routes; null when auth is off or the route is public. */
    netplayIdentity: Identity | null
  }
}

/** Returns the app's namespace object, creating it on first use. */
export function netplayNamespace (app: FastifyInstance): Partial<NetplayDecorators> {
  if (!app.hasDecorator('netplay')) app.decorate('netplay', {} as NetplayDecorators)
  return app.netplay
}

export const PACKAGE = 'fastify-netplay'
