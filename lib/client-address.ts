// The client's address behind trusted reverse proxies, computed as Fastify
// computes `request.ip` from its `trustProxy` option, for the requests that
// never pass through Fastify (Socket.IO's handshake and long-polling).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import proxyAddr from '@fastify/proxy-addr'

/**
 * Fastify's `trustProxy`: trust every hop, or the proxies at these addresses
 * or CIDRs (comma-separated or a list). Hop counts are left out: Fastify 5
 * refuses them (they cannot check the nearest peer, so direct clients could
 * spoof X-Forwarded-For).
 */
export type TrustProxy = boolean | string | string[]

export type ClientAddress = (remoteAddress: string, headers: IncomingHttpHeaders) => string

export function clientAddress (trustProxy: TrustProxy): ClientAddress {
  if (trustProxy === false) return (remoteAddress) => remoteAddress
  const trust = trustProxy === true
    ? () => true
    : proxyAddr.compile(typeof trustProxy === 'string' ? trustProxy.split(',').map((s) => s.trim()) : trustProxy)
  return (remoteAddress, headers) => {
    // proxy-addr reads only the socket's address and X-Forwarded-For.
    const request = { headers, socket: { remoteAddress } } as unknown as IncomingMessage
    return proxyAddr(request, trust)
  }
}
