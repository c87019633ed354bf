// Real HTTP servers on 127.0.0.1 standing in for a JWKS issuer or for RomM.
// No mocks: the auth plugin talks to them with its own fetch, through the
// loopback interface, and they can go down, hang or answer errors.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { IssuerKey } from './jwt.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface ReceivedRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export type Handler = (request: ReceivedRequest, response: ServerResponse) => void

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** Every request received so far. */
  readonly received: ReceivedRequest[]
  /** Closes the listener and every open connection (the server "goes down"). */
  stop (): Promise<void>
  /** Listens again on the same port. */
  start (): Promise<void>
}

export async function startServer (t: Teardown, handler: Handler): Promise<LoopbackServer> {
  const received: ReceivedRequest[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() }
      received.push(request)
      handler(request, res)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  async function stop (): Promise<void> {
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    // Keep-alive and hanging requests would hold close() open.
    server.closeAllConnections()
    await closed
  }

  t.teardown(stop)
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    stop,
    async start () {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    }
  }
}

export function sendJson (response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

/** How the JWKS server answers: its keys, or one of the ways an issuer fails. */
export type JwksMode = 'ok' | 'error' | 'hang' | 'garbage' | 'empty'

export interface JwksServer extends LoopbackServer {
  readonly jwksUrl: string
  /** The keys published (replace the array's contents to rotate). */
  keys: IssuerKey[]
  mode: JwksMode
  /** Requests for the JWKS document so far. */
  readonly fetches: number
}

/** A JWKS issuer serving `GET /jwks.json` from `keys`. */
export async function startJwksServer (t: Teardown, keys: IssuerKey[]): Promise<JwksServer> {
  const server = await startServer(t, (request, response) => {
    if (request.url !== '/jwks.json') return sendJson(response, 404, { error: 'not found' })
    switch (jwks.mode) {
      case 'hang': return // never answers; stop() cuts the connection
      case 'error': return sendJson(response, 500, { error: 'boom' })
      case 'garbage': response.writeHead(200, { 'content-type': 'application/json' }); return response.end('{"keys": [')
      case 'empty': return sendJson(response, 200, { keys: [] })
      default: return sendJson(response, 200, { keys: jwks.keys.map((key) => key.jwk) })
    }
  })
  const jwks: JwksServer = {
    ...server,
    jwksUrl: `${server.origin}/jwks.json`,
    keys,
    mode: 'ok',
    get fetches () { return server.received.filter((r) => r.url === '/jwks.json').length }
  }
  return jwks
}
