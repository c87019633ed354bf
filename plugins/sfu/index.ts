// `sfu`: the host's video and audio through mediasoup (workers, a router per
// room, WebRTC transports, producers and consumers), every input channel
// routed through the datachannel-guard, and ICE/TURN data for clients.
// mediasoup is optional: without it (or without a working worker) the
// plugin fails at boot with a coded error, or, with `required: false`, runs
// with `sfu-available` answering false.
import { availableParallelism, networkInterfaces } from 'node:os'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { OptionsInvalidError } from '../../lib/errors.ts'
import { netplayRoutes } from '../../lib/http.ts'
import { PACKAGE, netplayNamespace, type Identity } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { defineSfuEvents } from './events.ts'
import { iceServersFor, type IceInfo } from './ice.ts'
import { loadMediasoup, workerBinOf, type ms } from './mediasoup.ts'
import { SfuOptions, type SfuOptionsInput } from './schema.ts'
import { SfuService, type SfuStats } from './service.ts'
import { WorkerPool } from './workers.ts'

export interface SfuApi {
  /** True while at least one mediasoup worker runs. */
  readonly available: boolean
  /** ICE servers (with TURN credentials minted for this identity) and where this node is. */
  ice (identity: Identity | null, url?: string): IceInfo
  stats (): SfuStats
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    sfu: SfuApi
  }
}

const parseOptions = optionsParser('sfu', SfuOptions)

/**
 * What ICE candidates carry when the workers listen on every interface and
 * no address is announced: mediasoup would put the wildcard itself
 * (0.0.0.0) in them, which no client can reach. This host's first external
 * IPv4 address instead (loopback when it has none): right on a LAN, and
 * what a host behind NAT replaces with `announcedAddress`.
 */
export function defaultAnnouncedAddress (listenIp: string, interfaces = networkInterfaces()): string | undefined {
  if (listenIp !== '0.0.0.0' && listenIp !== '::') return undefined
  for (const addresses of Object.values(interfaces)) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address
  }
  return '127.0.0.1'
}

/** Closing a worker only signals its process; wait (bounded) for it to exit so app.close() leaves nothing running. */
const WORKER_EXIT_WAIT_MS = 3000

async function sfu (app: FastifyInstance, input: SfuOptionsInput): Promise<void> {
  const parsed = parseOptions(input)
  const options = { ...parsed, announcedAddress: parsed.announcedAddress ?? defaultAnnouncedAddress(parsed.listenIp) }
  if (parsed.announcedAddress === undefined && options.announcedAddress !== undefined) {
    app.log.info({ announcedAddress: options.announcedAddress }, 'SFU: ICE candidates announce this address (set sfu.announcedAddress for clients that reach this host elsewhere, e.g. behind NAT)')
  }
  if (options.portRange !== undefined && options.portRange.min > options.portRange.max) {
    throw new OptionsInvalidError('sfu.portRange', 'min must not exceed max')
  }
  const { rooms, signaling, datachannelGuard } = app.netplay

  let pool: WorkerPool | null = null
  let rtpCapabilities: ms.RtpCapabilities | null = null
  try {
    const mediasoup = await loadMediasoup()
    try {
      // What every router of this app will answer (mediasoup derives a router's capabilities from its codecs this way).
      rtpCapabilities = mediasoup.ortc.generateRouterRtpCapabilities(structuredClone(options.mediaCodecs) as ms.RouterRtpCodecCapability[])
    } catch (err) {
      throw new OptionsInvalidError('sfu.mediaCodecs', (err as Error).message)
    }
    const size = options.workers ?? availableParallelism()
    const candidate = new WorkerPool(mediasoup, options, workerBinOf(mediasoup, options.workerBin), size, app.log)
    await candidate.start()
    pool = candidate
  } catch (err) {
    if (options.required || (err as { code?: string }).code === 'FST_NETPLAY_OPTIONS_INVALID') throw err
    app.log.warn({ code: (err as { code?: string }).code, reason: (err as Error).message }, 'SFU disabled: sfu-available answers false')
  }

  const service = new SfuService({ pool, options, rtpCapabilities, rooms, signaling, guard: datachannelGuard, log: app.log })
  const ice = (identity: Identity | null, url?: string): IceInfo => ({
    iceServers: iceServersFor(options.ice, identity),
    nodeId: rooms.nodeId,
    url: options.publicUrl ?? url ?? null,
    announcedIp: options.announcedAddress ?? null
  })
  defineSfuEvents(signaling, service, (connection) => ice(connection.identity))

  await netplayRoutes(app, { prefix: options.prefix, corsOrigins: signaling.corsOrigins }, (scope) => {
    scope.get('/ice', { preHandler: app.netplay.auth.requireIdentity({ need: 'read' }) }, async (request, reply) => {
      // Credentials inside: never cached by the browser or a proxy.
      reply.header('cache-control', 'no-store')
      return ice(request.netplayIdentity, `${request.protocol}://${request.host}`)
    })
  })

  app.addHook('onClose', async () => {
    service.closeAll()
    if (pool === null) return
    const exits = pool.live().map(({ worker }) => worker.subprocessClosed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WORKER_EXIT_WAIT_MS)
        worker.once('subprocessclose', () => { clearTimeout(timer); resolve() })
      }))
    pool.close()
    await Promise.all(exits)
  })

  netplayNamespace(app).sfu = {
    get available () { return service.available },
    ice,
    stats: () => service.stats()
  }
}

export default fp(sfu, {
  fastify: '5.x',
  name: `${PACKAGE}/sfu`,
  dependencies: [`${PACKAGE}/auth`, `${PACKAGE}/signaling`, `${PACKAGE}/rooms`, `${PACKAGE}/datachannel-guard`]
})

export { SfuOptions, DEFAULT_CODECS, type SfuOptionsInput } from './schema.ts'
export { MEDIA_RESET_EVENT, type SfuStats } from './service.ts'
export { loadMediasoup } from './mediasoup.ts'
export { turnCredentials, verifyTurnCredentials, TURN_DEFAULT_TTL_MS, TURN_MAX_TTL_MS } from './turn.ts'
export type { IceInfo, IceServer } from './ice.ts'
export * from './errors.ts'
