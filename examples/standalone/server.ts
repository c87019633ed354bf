#!/usr/bin/env node
// The standalone netplay server a RomM admin runs as a sidecar:
// `npm start` (port 3001, memory stores, works with upstream EmulatorJS
// clients out of the box), or `fastify-netplay --help`. The server itself
// is ./app.ts; this entry sizes V8's young generation first, before the
// server's modules load, since capping it means re-executing the process.
import { execWithYoungGenerationCap } from './young-generation.ts'

if (import.meta.main) {
  execWithYoungGenerationCap()
  const { main } = await import('./app.ts')
  await main()
}
