// The client's address behind trusted reverse proxies, computed as Fastify
// computes `request.ip` from its `trustProxy` option, for the requests that
// never pass through Fastify (Socket.IO's handshake and long-polling).
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import proxyAddr from '@fastify/proxy-addr'

/**
 * Fastify's `trustProxy`: trust every hop, or the proxies at these addresses
 * or CIDRs (comma-separated or a list). Hop counts are left out: Fastify 5
 * refuses them (they cannot check the nearest peer, so direct clients could
 * spoof X-Forwarded-For).
 */
export type TrustProxy = boolean | string | string[]

export type ClientAddress = (remoteAddress: string, headers: IncomingHttpHeaders) => string

const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal']

/**
 * A trustProxy from a flag or variable (`from` names it in the error):
 * true/yes/on, false/no/off, or comma-separated addresses, CIDRs and
 * proxy-addr's named ranges (loopback, linklocal, uniquelocal).
 */
export function parseTrustProxy (value: string, from: string): TrustProxy {
  const text = value.trim()
  if (/^(true|yes|on)$/i.test(text)) return true
  if (/^(false|no|off)$/i.test(text)) return false
  const addresses = text.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const address of addresses) {
    const [ip = '', bits] = address.split('/')
    const cidr = isIP(ip) !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits))
    if (!cidr && !NAMED_RANGES.includes(address)) {
      throw new Error(`invalid ${from}: "${address}" is not an address, a CIDR, loopback, linklocal or uniquelocal`)
    }
  }
  return addresses
}

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
