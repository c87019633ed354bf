// Runs the RomM sidecar: `ROMM_AUTH_SECRET_KEY=... REDIS_URL=redis://... node examples/romm-sidecar/server.ts`
import Fastify from 'fastify'
import netplay, { netplayServerOptions } from '../../index.ts'
import { rommSidecarOptions } from './config.ts'

const app = Fastify(netplayServerOptions())
await app.register(netplay, rommSidecarOptions())
await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.LISTEN_IP ?? '0.0.0.0' })
