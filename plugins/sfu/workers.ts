// The mediasoup worker pool: one worker per core by default, each with a
// WebRtcServer on one UDP and one TCP port (base port + worker index) unless
// transports get their own ports from a range. Rooms go to the worker with
// the fewest routers. A worker that dies is replaced at the same index (and
// so the same port) without exiting the process; whoever hosted a router on
// it is told, so rooms can rebuild.
import type { FastifyBaseLogger } from 'fastify'
import type { MediasoupModule, ms } from './mediasoup.ts'
import { WorkerStartError } from './errors.ts'
import type { SfuOptions } from './schema.ts'

const MAX_RESPAWN_DELAY_MS = 60_000

export interface PoolWorker {
  readonly index: number
  readonly worker: ms.Worker
  /** Null when transports listen on their own ports (`portRange`). */
  readonly webRtcServer: ms.WebRtcServer | null
  routers: number
}

export type WorkerDiedListener = (worker: PoolWorker, error: Error) => void

export function listenInfos (options: SfuOptions, port?: number): ms.TransportListenInfo[] {
  const protocols: Array<'udp' | 'tcp'> = []
  if (options.enableUdp) protocols.push('udp')
  if (options.enableTcp) protocols.push('tcp')
  return protocols.map((protocol) => ({
    protocol,
    ip: options.listenIp,
    ...(options.announcedAddress !== undefined ? { announcedAddress: options.announcedAddress } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(options.portRange !== undefined ? { portRange: { min: options.portRange.min, max: options.portRange.max } } : {})
  }))
}

export class WorkerPool {
  readonly #mediasoup: MediasoupModule
  readonly #options: SfuOptions
  readonly #workerBin: string
  readonly #log: FastifyBaseLogger
  readonly #slots: Array<PoolWorker | null>
  readonly #onDied: WorkerDiedListener[] = []
  readonly #respawnTimers = new Set<NodeJS.Timeout>()
  #closed = false
  /** Workers that died and were replaced (metrics). */
  replacements = 0

  constructor (mediasoup: MediasoupModule, options: SfuOptions, workerBin: string, size: number, log: FastifyBaseLogger) {
    this.#mediasoup = mediasoup
    this.#options = options
    this.#workerBin = workerBin
    this.#log = log
    this.#slots = new Array<PoolWorker | null>(size).fill(null)
  }

  get size (): number { return this.#slots.length }

  /** True while at least one worker runs. */
  get available (): boolean {
    return !this.#closed && this.#slots.some((slot) => slot !== null)
  }

  live (): PoolWorker[] {
    return this.#slots.filter((slot): slot is PoolWorker => slot !== null)
  }

  onWorkerDied (listener: WorkerDiedListener): void { this.#onDied.push(listener) }

  /** Starts every worker; the first failure closes what started and throws. */
  async start (): Promise<void> {
    try {
      for (let index = 0; index < this.#slots.length; index++) this.#slots[index] = await this.#spawn(index)
    } catch (err) {
      this.close()
      throw err
    }
  }

  /** The live worker with the fewest routers, or null when none runs. */
  leastLoaded (): PoolWorker | null {
    let best: PoolWorker | null = null
    for (const slot of this.#slots) if (slot !== null && (best === null || slot.routers < best.routers)) best = slot
    return best
  }

  close (): void {
    this.#closed = true
    for (const timer of this.#respawnTimers) clearTimeout(timer)
    this.#respawnTimers.clear()
    for (const slot of this.#slots) slot?.worker.close()
    this.#slots.fill(null)
  }

  async #spawn (index: number): Promise<PoolWorker> {
    const options = this.#options
    let worker: ms.Worker
    try {
      worker = await this.#mediasoup.createWorker({
        logLevel: options.workerLogLevel,
        workerBin: this.#workerBin,
        ...(options.portRange !== undefined ? { rtcMinPort: options.portRange.min, rtcMaxPort: options.portRange.max } : {}),
        appData: { index }
      })
    } catch (err) {
      throw new WorkerStartError(this.#workerBin, (err as Error).message)
    }
    let webRtcServer: ms.WebRtcServer | null = null
    if (options.portRange === undefined) {
      try {
        webRtcServer = await worker.createWebRtcServer({ listenInfos: listenInfos(options, options.port === 0 ? undefined : options.port + index) })
      } catch (err) {
        worker.close()
        throw new WorkerStartError(this.#workerBin, `WebRtcServer on ${options.listenIp}:${options.port + index}: ${(err as Error).message}`)
      }
    }
    const pooled: PoolWorker = { index, worker, webRtcServer, routers: 0 }
    worker.on('died', (error) => this.#died(pooled, error))
    this.#log.info({ worker: index, pid: worker.pid, port: webRtcServer === null || options.port === 0 ? null : options.port + index }, 'mediasoup worker started')
    return pooled
  }

  #died (pooled: PoolWorker, error: Error): void {
    if (this.#slots[pooled.index] !== pooled) return
    this.#slots[pooled.index] = null
    this.#log.error({ worker: pooled.index, pid: pooled.worker.pid, err: error }, 'mediasoup worker died; replacing it')
    for (const listener of this.#onDied) listener(pooled, error)
    this.#respawn(pooled.index, this.#options.workerRespawnDelayMs)
  }

  #respawn (index: number, delayMs: number): void {
    if (this.#closed) return
    const timer = setTimeout(() => {
      this.#respawnTimers.delete(timer)
      this.#spawn(index).then((pooled) => {
        if (this.#closed) {
          pooled.worker.close()
          return
        }
        this.#slots[index] = pooled
        this.replacements++
      }, (err: Error) => {
        const next = Math.min(MAX_RESPAWN_DELAY_MS, Math.max(1000, delayMs * 2))
        this.#log.error({ worker: index, err, retryInMs: next }, 'mediasoup worker replacement failed')
        this.#respawn(index, next)
      })
    }, delayMs)
    timer.unref()
    this.#respawnTimers.add(timer)
  }
}
