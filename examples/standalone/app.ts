// The standalone netplay server a RomM admin runs as a sidecar: the app
// (buildServer) and its process (main), started by ./server.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import netplay, { netplayServerOptions } from '../../index.ts'
import { registerDemo } from '../demo/routes.ts'
import { HELP, configFrom, type StandaloneConfig } from './config.ts'
import { semiSpaceSetting } from './young-generation.ts'

const HSTS = 'max-age=15552000; includeSubDomains'

export async function buildServer (config: StandaloneConfig): Promise<FastifyInstance> {
  const app = Fastify({
    ...netplayServerOptions({ level: config.logLevel }),
    ...(config.tls !== null ? { https: config.tls } : {}),
    trustProxy: config.trustProxy,
    forceCloseConnections: true
  }) as unknown as FastifyInstance
  if (config.tls !== null) {
    app.addHook('onSend', async (_request, reply) => { reply.header('strict-transport-security', HSTS) })
  }
  await app.register(netplay, config.netplay)
  if (config.tls !== null) {
    // Socket.IO answers its long-polling requests itself, past Fastify's
    // hooks. engine.io runs its middlewares on each of them (and on
    // upgrades), and a header set there stays on whatever it answers,
    // errors included, where its 'headers' event misses the errors.
    app.netplay.signaling.io?.engine.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
      res.setHeader('strict-transport-security', HSTS)
      next()
    })
  }
  if (config.demo) await registerDemo(app, config.netplay.prefix)
  return app
}

export async function main (): Promise<void> {
  let config: StandaloneConfig | 'help'
  try {
    config = configFrom(process.argv.slice(2), process.env)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}\n`)
    process.exitCode = 2
    return
  }
  if (config === 'help') {
    process.stdout.write(`${HELP}\n`)
    return
  }
  const app = await buildServer(config)
  app.log.info({ maxSemiSpaceSize: semiSpaceSetting(process.execArgv, process.env.NODE_OPTIONS) ?? 'V8 default' }, 'V8 young generation sizing')
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.log.info({ signal }, 'shutting down: no new rooms, clients told, leaving the cluster')
      // The drain is bounded by drainTimeoutMs; this is the backstop if a close hangs.
      setTimeout(() => process.exit(1), config.drainTimeoutMs + 5000).unref()
      app.close().then(() => process.exit(0), () => process.exit(1))
    })
  }
  await app.listen({ port: config.port, host: config.host })
}
