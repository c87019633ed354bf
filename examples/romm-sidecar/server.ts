// Runs the RomM sidecar: `ROMM_AUTH_SECRET_KEY=... REDIS_URL=redis://... node --max-semi-space-size=8 examples/romm-sidecar/server.ts`
// (the young-generation cap the standalone server applies itself: see examples/standalone/young-generation.ts).
import Fastify from 'fastify'
import netplay, { netplayServerOptions } from '../../index.ts'
import { rommSidecarOptions, rommSidecarTrustProxy } from './config.ts'

const app = Fastify({ ...netplayServerOptions(), trustProxy: rommSidecarTrustProxy() })
await app.register(netplay, rommSidecarOptions())
// `docker stop` sends SIGTERM: close properly, so players are told and RomM
// stops listing this node's rooms now rather than when their keys expire.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    setTimeout(() => process.exit(1), 15_000).unref()
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}
await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.LISTEN_IP ?? '0.0.0.0' })
