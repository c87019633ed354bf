// Token verifications per second on one core: `app.netplay.auth.verify` in a
// tight loop (one await per token), single process, no HTTP. Prints figures;
// asserts nothing.
//
//   npx node bench/auth-verify.bench.ts                 (or: npm run bench)
//   npx node bench/auth-verify.bench.ts --seconds 5 --tokens 20000
//
// Cases:
//   HS256  read tokens signed with a shared secret (RomM's `romm:sfu` issuer)
//   RS256  read tokens from a JWKS issuer served by a loopback HTTP server;
//          its keys are fetched once and cached (the fetch count is printed)
// Every token is distinct (pre-minted before timing, distinct `sub` and
// `jti`), so no cache can hide the cost of a verification.
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { availableParallelism, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import Fastify, { type FastifyInstance } from 'fastify'
import { createSigner } from 'fast-jwt'
import netplay from '../index.ts'

function flag (name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

const SECONDS = flag('seconds', 3)
const WARMUP_SECONDS = 0.5
const TOKENS = flag('tokens', 10_000)
const HS256_TARGET = 50_000
const SECRET = 'bench-secret-0123456789abcdef0123456789'
const JWKS_ISSUER = 'https://idp.bench.invalid'

type Sign = (payload: Record<string, unknown>) => string

function mintTokens (sign: Sign): string[] {
  const exp = Math.floor(Date.now() / 1000) + 3600
  return Array.from({ length: TOKENS }, (_, i) => sign({ sub: `player-${i}`, type: 'sfu:read', jti: randomUUID(), exp }))
}

interface Measured { ops: number, seconds: number }

/** Verifies tokens one after the other for `seconds`; a failure stops the bench (a refused token would be a cheap path). */
async function measure (app: FastifyInstance, tokens: string[], seconds: number): Promise<Measured> {
  const { verify } = app.netplay.auth
  const started = performance.now()
  const end = started + seconds * 1000
  let ops = 0
  while (performance.now() < end) {
    // 256 verifications between clock reads keep the clock out of the figure.
    for (let i = 0; i < 256; i++) await verify(tokens[(ops + i) % tokens.length] as string)
    ops += 256
  }
  return { ops, seconds: (performance.now() - started) / 1000 }
}

async function appWith (auth: Record<string, unknown>): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(netplay, { auth })
  await app.ready()
  return app
}

async function main (): Promise<void> {
  const loadAtStart = loadavg()[0] as number
  const rows: Array<{ name: string, opsPerSec: number, note: string }> = []

  // HS256
  const hs = await appWith({ secrets: [SECRET] })
  const hsTokens = mintTokens(createSigner({ algorithm: 'HS256', key: SECRET, iss: 'romm:sfu', noTimestamp: true }) as Sign)
  await measure(hs, hsTokens, WARMUP_SECONDS)
  const hsResult = await measure(hs, hsTokens, SECONDS)
  await hs.close()
  rows.push({ name: 'HS256 (shared secret)', opsPerSec: hsResult.ops / hsResult.seconds, note: `target >= ${HS256_TARGET.toLocaleString('en-US')}/s` })

  // RS256 through a JWKS served on loopback
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const kid = 'bench-key-1'
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] })
  let jwksRequests = 0
  const jwksServer = createServer((_request, response) => {
    jwksRequests++
    response.writeHead(200, { 'content-type': 'application/json' }).end(jwks)
  })
  jwksServer.listen(0, '127.0.0.1')
  await once(jwksServer, 'listening')
  const { port } = jwksServer.address() as { port: number }
  try {
    const rs = await appWith({ issuers: [{ iss: JWKS_ISSUER, jwksUrl: `http://127.0.0.1:${port}/jwks.json`, algorithms: ['RS256'] }] })
    const rsSign = createSigner({ algorithm: 'RS256', key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), kid, iss: JWKS_ISSUER, noTimestamp: true }) as Sign
    const rsTokens = mintTokens(rsSign)
    await measure(rs, rsTokens, WARMUP_SECONDS)
    const rsResult = await measure(rs, rsTokens, SECONDS)
    const fetches = rs.netplay.auth.jwksFetches()[JWKS_ISSUER] ?? 0
    await rs.close()
    rows.push({ name: 'RS256 (JWKS issuer)', opsPerSec: rsResult.ops / rsResult.seconds, note: `JWKS fetched ${fetches}x (${jwksRequests} HTTP request${jwksRequests === 1 ? '' : 's'})` })
  } finally {
    jwksServer.close()
  }

  console.log(`auth-verify: app.netplay.auth.verify(readToken), one await per token, ${SECONDS} s per case after ${WARMUP_SECONDS} s warm-up, ${TOKENS.toLocaleString('en-US')} distinct tokens per case, one core, Node ${process.version}`)
  console.log(`machine: ${availableParallelism()} cores, load average ${loadAtStart.toFixed(2)} at start (other processes competing for the core make the figures noisy)`)
  console.log('')
  console.log(`${'case'.padEnd(24)}${'verifications/s'.padStart(17)}${'µs/op'.padStart(9)}  note`)
  for (const row of rows) {
    console.log(`${row.name.padEnd(24)}${Math.round(row.opsPerSec).toLocaleString('en-US').padStart(17)}${(1e6 / row.opsPerSec).toFixed(1).padStart(9)}  ${row.note}`)
  }
  const hsOps = rows[0]?.opsPerSec ?? 0
  console.log('')
  console.log(`HS256 target >= ${HS256_TARGET.toLocaleString('en-US')}/s: ${hsOps >= HS256_TARGET ? 'meets' : 'MISSES'}`)
  console.log(`reproduce: npx node bench/auth-verify.bench.ts --seconds ${SECONDS} --tokens ${TOKENS}`)
}

await main()
