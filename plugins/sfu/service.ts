// What the mediasoup events do. Every call is checked against the caller's
// room binding (only the caller's room is ever visible), objects are created
// on the room's router, and after every await the caller is checked again:
// an object created for a member who left meanwhile is closed at once, so
// nothing outlives its owner.
import type { FastifyBaseLogger } from 'fastify'
import { isCoded } from '../../lib/errors.ts'
import type { Connection, SignalingApi } from '../signaling/index.ts'
import { EventError } from '../signaling/index.ts'
import type { Member, Room, RoomsApi } from '../rooms/index.ts'
import type { DatachannelGuardApi } from '../datachannel-guard/index.ts'
import { USERID_MISMATCH, checkDataProducerUserid, isGuardedLabel, type InputGuard } from '../datachannel-guard/guard.ts'
import {
  SfuCannotConsumeError, SfuClosedError, SfuInvalidParametersError, SfuLimitError, SfuNotInRoomError, SfuNotOwnerError, SfuSpectatorError,
  SfuUnknownProducerError, SfuUnknownTransportError, SfuWrongDirectionError
} from './errors.ts'
import { InputRelay, type RelayCounters } from './input-relay.ts'
import { isParameterError, type ms } from './mediasoup.ts'
import { RoomMedia, deliveryOf, oldestBeyond, type Direction, type Peer, type TransportAppData } from './room-media.ts'
import type { SfuOptions } from './schema.ts'
import { listenInfos, type PoolWorker, type WorkerPool } from './workers.ts'

/** Told to a room's members when its media went away under them (their transports are gone; create new ones). */
export const MEDIA_RESET_EVENT = 'sfu-media-reset'
/** Why: with `sfu-media-reset`, and with `room-closed` when nobody rebuilt the media in time. */
const MEDIA_LOST = 'media server restarted'

/** What a consumer's owner is told when it closes without being asked to. */
const consumerClosed = (consumer: ms.Consumer) => ({ consumerId: consumer.id, producerId: consumer.producerId, kind: consumer.kind })
const dataConsumerClosed = (consumer: ms.DataConsumer) => ({ dataConsumerId: consumer.id, dataProducerId: consumer.dataProducerId })

interface Context {
  room: Room
  member: Member
  media: RoomMedia
  peer: Peer
}

export interface SfuStats {
  available: boolean
  workers: number
  workerReplacements: number
  rooms: number
  transports: number
  producers: number
  consumers: number
  dataProducers: number
  dataConsumers: number
  inputs: RelayCounters
}

function cutOffMessage (guard: InputGuard): string {
  return guard.drops.exceeded ? 'input channel closed: too many inputs' : 'input channel closed: too many invalid inputs'
}

function unavailable (): EventError {
  return new EventError('FST_NETPLAY_SFU_UNAVAILABLE', 'sfu unavailable')
}

/**
 * mediasoup >= 3.25 describes SCTP by send/receive message sizes; clients
 * built on older mediasoup-client read `OS`, `MIS` and `maxMessageSize`.
 * Both are sent (newer clients ignore the old fields).
 */
function withLegacySctpFields (sctp: ms.SctpParameters | undefined): Record<string, unknown> | undefined {
  if (sctp === undefined) return undefined
  return { ...sctp, OS: 1024, MIS: 1024, maxMessageSize: sctp.maxReceiveMessageSize }
}

/** Runs a mediasoup call, turning its parameter and state errors into coded client errors. */
async function call<T> (operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (err) {
    if (isParameterError(err)) throw new SfuInvalidParametersError((err as Error).message)
    if (err instanceof Error && err.name === 'InvalidStateError') throw new SfuClosedError()
    throw err
  }
}

export class SfuService {
  readonly #pool: WorkerPool | null
  readonly #options: SfuOptions
  readonly #rtpCapabilities: ms.RtpCapabilities | null
  readonly #rooms: RoomsApi
  readonly #signaling: SignalingApi
  readonly #guard: DatachannelGuardApi
  readonly #log: FastifyBaseLogger
  /** Media being created or created, per room object (a reused room name is a new room). */
  readonly #pending = new Map<Room, Promise<RoomMedia>>()
  readonly #media = new Map<Room, RoomMedia>()
  /** Rooms whose worker died, until a member rebuilds their media or `mediaLostGraceMs` ends (then they close). */
  readonly #mediaLost = new Map<Room, NodeJS.Timeout>()
  readonly #inputs: RelayCounters = { forwarded: 0, refused: 0, guardSeconds: 0 }

  constructor (deps: { pool: WorkerPool | null, options: SfuOptions, rtpCapabilities: ms.RtpCapabilities | null, rooms: RoomsApi, signaling: SignalingApi, guard: DatachannelGuardApi, log: FastifyBaseLogger }) {
    this.#pool = deps.pool
    this.#options = deps.options
    this.#rtpCapabilities = deps.rtpCapabilities
    this.#rooms = deps.rooms
    this.#signaling = deps.signaling
    this.#guard = deps.guard
    this.#log = deps.log
    this.#rooms.onRoomClosed((room) => this.#closeRoom(room))
    this.#rooms.onMemberRemoved((room, member) => this.#media.get(room)?.removePeer(member.userid))
    this.#pool?.onWorkerDied((worker) => this.#workerDied(worker))
  }

  get available (): boolean {
    return this.#pool?.available ?? false
  }

  // ---------- events ----------

  /**
   * The same for every room (routers share the codec list), so a client may
   * ask before it has joined, and asking creates no router.
   */
  routerRtpCapabilities (): ms.RtpCapabilities {
    if (!this.available || this.#rtpCapabilities === null) throw unavailable()
    return this.#rtpCapabilities
  }

  async createTransport (connection: Connection, direction: Direction | undefined): Promise<Record<string, unknown>> {
    const ctx = await this.#context(connection)
    const { room, member, peer, media } = ctx
    // A reconnected client builds new transports: the ones its previous
    // socket made kept the stream going meanwhile and are retired now, each
    // by the first new one of its direction. Generation-1 clients keep their
    // input transport (a guest's send, a host's recv) across a reconnect and
    // go on producing and consuming on it; a client that rebuilds
    // everything still has each old transport replaced.
    const facing = direction ?? 'any'
    for (const transport of [...peer.transports.values()]) {
      const old = transport.appData
      if (old.connectionId !== connection.id && (facing === 'any' || old.direction === 'any' || old.direction === facing)) transport.close()
    }
    const limits = this.#options.limits
    if (peer.transports.size >= limits.transports) throw new SfuLimitError('transports', limits.transports)
    const options = this.#options
    const listen = media.worker.webRtcServer === null
      ? { listenInfos: listenInfos(options) }
      : { webRtcServer: media.worker.webRtcServer }
    const transport = await call(() => media.router.createWebRtcTransport<TransportAppData>({
      ...listen,
      enableUdp: options.enableUdp,
      enableTcp: options.enableTcp,
      preferUdp: options.preferUdp,
      enableSctp: true,
      maxSendMessageSize: options.maxSctpMessageSize,
      maxReceiveMessageSize: options.maxSctpMessageSize,
      initialAvailableOutgoingBitrate: options.initialAvailableOutgoingBitrate,
      appData: { direction: direction ?? 'any', connectionId: connection.id }
    }))
    this.#keep(ctx, transport)
    if (options.maxIncomingBitrate > 0 && direction !== 'recv') {
      await transport.setMaxIncomingBitrate(options.maxIncomingBitrate).catch(() => {})
    }
    peer.transports.set(transport.id, transport)
    transport.observer.once('close', () => peer.transports.delete(transport.id))
    // A DTLS session that failed or was ended by the peer never comes back
    // (clients build a new transport): its producers, consumers and port go
    // now, not when the member leaves.
    transport.on('dtlsstatechange', (dtlsState) => {
      if ((dtlsState !== 'failed' && dtlsState !== 'closed') || transport.closed) return
      this.#log.info({ room: room.key, userid: member.userid, transport: transport.id, dtlsState }, 'transport closed: its DTLS session ended')
      transport.close()
    })
    this.#mediaRebuilt(room)
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
      sctpParameters: withLegacySctpFields(transport.sctpParameters)
    }
  }

  async connectTransport (connection: Connection, transportId: string, dtlsParameters: unknown): Promise<true> {
    const ctx = await this.#context(connection)
    const transport = this.#transport(ctx, transportId)
    await call(() => transport.connect({ dtlsParameters: dtlsParameters as ms.DtlsParameters }))
    return true
  }

  async restartIce (connection: Connection, transportId: string): Promise<{ iceParameters: ms.IceParameters }> {
    const ctx = await this.#context(connection)
    const transport = this.#transport(ctx, transportId)
    return { iceParameters: await call(() => transport.restartIce()) }
  }

  /** Network switch: the client drops every transport and builds new ones. */
  recreateTransports (connection: Connection): true {
    const bound = this.#rooms.bindingOf(connection.id)
    if (bound === undefined) throw new SfuNotInRoomError()
    this.#media.get(bound.room)?.peers.get(bound.member.userid)?.closeTransports()
    return true
  }

  async produce (connection: Connection, payload: { transportId: string, kind: ms.MediaKind, rtpParameters: unknown, appData?: Record<string, unknown> | null }): Promise<string> {
    const ctx = await this.#context(connection)
    const { room, member, peer } = ctx
    if (member.slot === null) throw new SfuSpectatorError()
    const transport = this.#transport(ctx, payload.transportId, 'send')
    const producer = await call(() => transport.produce({
      kind: payload.kind,
      rtpParameters: payload.rtpParameters as ms.RtpParameters,
      appData: { ...payload.appData, userid: member.userid }
    }))
    this.#keep(ctx, producer, transport)
    // One producer per kind: the new one replaces the old, whose consumers
    // close with it (and their owners are told), so late joiners never see a
    // stale 0x0 track.
    const previous = peer.producers.get(payload.kind)
    peer.producers.set(payload.kind, producer)
    previous?.close()
    producer.observer.once('close', () => { if (peer.producers.get(payload.kind) === producer) peer.producers.delete(payload.kind) })
    this.#rooms.broadcast(room, 'new-producer', { id: producer.id, kind: producer.kind }, connection.id)
    return producer.id
  }

  async produceData (connection: Connection, payload: { transportId: string, sctpStreamParameters: unknown, label?: string, protocol?: string, appData?: Record<string, unknown> | null }): Promise<string> {
    const ctx = await this.#context(connection)
    const { room, member, media, peer } = ctx
    if (member.slot === null) throw new SfuSpectatorError()
    const config = this.#guard.config
    if (checkDataProducerUserid(payload.appData, member.userid, config) !== null) {
      throw new EventError('FST_NETPLAY_SFU_USERID_MISMATCH', USERID_MISMATCH)
    }
    const label = payload.label ?? ''
    const guarded = isGuardedLabel(label, config)
    const previousGuard = guarded ? peer.inputGuards.get(label) : undefined
    if (previousGuard?.cutOff === true) throw new EventError('FST_NETPLAY_SFU_INPUT_CUT_OFF', cutOffMessage(previousGuard))
    const limit = this.#options.limits.dataProducers
    if (peer.dataProducers.size >= limit && !peer.dataProducers.has(label)) throw new SfuLimitError('data producers', limit)
    const transport = this.#transport(ctx, payload.transportId, 'send')
    const dataProducer = await call(() => transport.produceData({
      sctpStreamParameters: payload.sctpStreamParameters as ms.SctpStreamParameters,
      label,
      protocol: payload.protocol ?? '',
      appData: { ...payload.appData, userid: member.userid }
    }))
    this.#keep(ctx, dataProducer, transport)
    let announced: ms.DataProducer = dataProducer
    if (guarded) {
      try {
        const relay = await this.#inputRelay(media)
        // A new guard per channel (its protocol and frame window are the
        // channel's), carrying the sender's bucket and strikes.
        const guard = this.#guard.inputGuard({ seat: member.slot, userid: member.userid, protocol: dataProducer.protocol, label, carry: previousGuard })
        peer.inputGuards.set(label, guard)
        const channel = await relay.attach(dataProducer, guard, () => room.members.get(member.userid)?.slot ?? null, (reason) => {
          this.#log.warn({ room: room.key, userid: member.userid, label, reason, refused: guard.stats().refused }, 'input channel cut off')
          dataProducer.close()
          const owner = room.members.get(member.userid)
          this.#tell(owner, 'netplay-error', { error: 'FST_NETPLAY_SFU_INPUT_CUT_OFF', message: cutOffMessage(guard) })
        })
        announced = channel.relay
        this.#keep(ctx, dataProducer, transport)
      } catch (err) {
        // The channel and its relay go together. If the channel closed
        // meanwhile with its transport (a failed DTLS session), mediasoup's
        // NotFoundError means just that.
        const closedMeanwhile = dataProducer.closed || transport.closed
        if (!dataProducer.closed) dataProducer.close()
        if (!announced.closed) announced.close()
        throw closedMeanwhile && !isCoded(err) ? new SfuClosedError() : err
      }
    }
    // One data producer per label: a new one replaces the old.
    const previous = peer.dataProducers.get(label)
    peer.dataProducers.set(label, dataProducer)
    previous?.close()
    dataProducer.observer.once('close', () => { if (peer.dataProducers.get(label) === dataProducer) peer.dataProducers.delete(label) })
    const delivery = announced === dataProducer ? undefined : deliveryOf(dataProducer.sctpStreamParameters)
    media.announcedData.set(announced.id, { dataProducer: announced, owner: peer, input: guarded, ...(delivery !== undefined ? { delivery } : {}) })
    announced.observer.once('close', () => media.announcedData.delete(announced.id))
    // A player's inputs are for the host alone: only the owner hears of an input relay.
    if (!guarded) this.#rooms.broadcast(room, 'new-data-producer', { id: announced.id }, connection.id)
    else if (room.ownerUserid !== member.userid) this.#tell(room.ownerUserid === null ? undefined : room.members.get(room.ownerUserid), 'new-data-producer', { id: announced.id })
    return dataProducer.id
  }

  /** The room's media producers, except the caller's own. */
  producers (connection: Connection): Array<{ id: string, kind: ms.MediaKind }> {
    const bound = this.#rooms.bindingOf(connection.id)
    if (bound === undefined) throw new SfuNotInRoomError()
    const media = this.#media.get(bound.room)
    const list: Array<{ id: string, kind: ms.MediaKind }> = []
    if (media === undefined) return list
    for (const peer of media.peers.values()) {
      if (peer.userid === bound.member.userid) continue
      for (const producer of peer.producers.values()) list.push({ id: producer.id, kind: producer.kind })
    }
    return list
  }

  /** The room's announced data producers: other channels as they are, and to the owner the guarded relays of input channels. */
  dataProducers (connection: Connection): Array<{ id: string, kind: 'data' }> {
    const bound = this.#rooms.bindingOf(connection.id)
    if (bound === undefined) throw new SfuNotInRoomError()
    const media = this.#media.get(bound.room)
    const owner = bound.room.ownerUserid === bound.member.userid
    const list: Array<{ id: string, kind: 'data' }> = []
    for (const [id, announced] of media?.announcedData ?? []) if (owner || !announced.input) list.push({ id, kind: 'data' })
    return list
  }

  async consume (connection: Connection, payload: { producerId: string, transportId: string, rtpCapabilities: unknown, ignoreDtx?: boolean }): Promise<Record<string, unknown>> {
    const ctx = await this.#context(connection)
    const { media, member, peer, room } = ctx
    const transport = this.#transport(ctx, payload.transportId, 'recv')
    const found = media.findProducer(payload.producerId)
    if (found === undefined) throw new SfuUnknownProducerError()
    const reads = (consumer: ms.Consumer): boolean => consumer.producerId === payload.producerId
    this.#checkLimit(peer.consumers, reads, 'consumers', this.#options.limits.consumers)
    const rtpCapabilities = payload.rtpCapabilities as ms.RtpCapabilities
    let consumable = false
    try {
      consumable = media.router.canConsume({ producerId: payload.producerId, rtpCapabilities })
    } catch {}
    if (!consumable) throw new SfuCannotConsumeError()
    const consumer = await call(() => transport.consume({
      producerId: payload.producerId,
      rtpCapabilities,
      paused: false,
      ...(payload.ignoreDtx !== undefined ? { ignoreDtx: payload.ignoreDtx } : {})
    }))
    this.#keep(ctx, consumer, transport)
    peer.consumers.set(consumer.id, consumer)
    consumer.observer.once('close', () => peer.consumers.delete(consumer.id))
    consumer.once('producerclose', () => this.#tell(room.members.get(peer.userid), 'consumer-closed', consumerClosed(consumer)))
    this.#retireOldest(member, peer.consumers, reads, 'consumer-closed', consumerClosed)
    return { id: consumer.id, producerId: consumer.producerId, kind: consumer.kind, rtpParameters: consumer.rtpParameters }
  }

  async consumeData (connection: Connection, payload: { dataProducerId: string, transportId: string }): Promise<Record<string, unknown>> {
    const ctx = await this.#context(connection)
    const { media, member, peer, room } = ctx
    const transport = this.#transport(ctx, payload.transportId, 'recv')
    const announced = media.announcedData.get(payload.dataProducerId)
    if (announced === undefined) throw new SfuUnknownProducerError()
    if (announced.input && room.ownerUserid !== member.userid) throw new SfuNotOwnerError()
    const reads = (consumer: ms.DataConsumer): boolean => consumer.dataProducerId === payload.dataProducerId
    this.#checkLimit(peer.dataConsumers, reads, 'data consumers', this.#options.limits.dataConsumers)
    const dataConsumer = await call(() => transport.consumeData({ dataProducerId: payload.dataProducerId, ...announced.delivery }))
    this.#keep(ctx, dataConsumer, transport)
    peer.dataConsumers.set(dataConsumer.id, dataConsumer)
    dataConsumer.observer.once('close', () => peer.dataConsumers.delete(dataConsumer.id))
    dataConsumer.once('dataproducerclose', () => this.#tell(room.members.get(peer.userid), 'data-consumer-closed', dataConsumerClosed(dataConsumer)))
    this.#retireOldest(member, peer.dataConsumers, reads, 'data-consumer-closed', dataConsumerClosed)
    return {
      id: dataConsumer.id,
      dataProducerId: dataConsumer.dataProducerId,
      sctpStreamParameters: dataConsumer.sctpStreamParameters,
      label: dataConsumer.label,
      protocol: dataConsumer.protocol,
      // The producer's appData (the real host reads the sender's userid from it).
      appData: announced.dataProducer.appData
    }
  }

  // ---------- bookkeeping ----------

  stats (): SfuStats {
    const stats: SfuStats = {
      available: this.available,
      workers: this.#pool?.live().length ?? 0,
      workerReplacements: this.#pool?.replacements ?? 0,
      rooms: this.#media.size,
      transports: 0,
      producers: 0,
      consumers: 0,
      dataProducers: 0,
      dataConsumers: 0,
      inputs: { ...this.#inputs }
    }
    for (const media of this.#media.values()) {
      for (const peer of media.peers.values()) {
        stats.transports += peer.transports.size
        stats.producers += peer.producers.size
        stats.consumers += peer.consumers.size
        stats.dataProducers += peer.dataProducers.size
        stats.dataConsumers += peer.dataConsumers.size
      }
    }
    return stats
  }

  closeAll (): void {
    for (const room of new Set([...this.#pending.keys(), ...this.#mediaLost.keys()])) this.#closeRoom(room)
  }

  /** The caller's room, member, media (created on first use) and peer. */
  async #context (connection: Connection): Promise<Context> {
    if (!this.available) throw unavailable()
    const bound = this.#rooms.bindingOf(connection.id)
    if (bound === undefined) throw new SfuNotInRoomError()
    const media = await this.#mediaOf(bound.room)
    const again = this.#rooms.bindingOf(connection.id)
    if (again === undefined || again.room !== bound.room || again.member !== bound.member || media.closed) throw new SfuNotInRoomError()
    return { room: bound.room, member: bound.member, media, peer: media.peer(bound.member.userid) }
  }

  /**
   * After an await: if the caller's peer or room went away meanwhile, the
   * new object must not outlive it. Nor if the transport it was made on
   * closed meanwhile (its DTLS session failed): its close passed before the
   * bookkeeping could watch for it, or, when the transport closed before
   * mediasoup answered, the worker never kept the object at all.
   */
  #keep (ctx: Context, created: { close (): void, closed: boolean }, on?: { closed: boolean }): void {
    const memberGone = ctx.media.closed || ctx.media.peers.get(ctx.member.userid) !== ctx.peer || ctx.room.members.get(ctx.member.userid) !== ctx.member
    if (!memberGone && !created.closed && on?.closed !== true) return
    if (!created.closed) created.close()
    throw memberGone ? new SfuNotInRoomError() : new SfuClosedError()
  }

  /** Refuses one more consumer when the peer would hold `limit` or more once the oldest of the same producer retired. */
  #checkLimit<C> (held: Map<string, C>, reads: (consumer: C) => boolean, what: string, limit: number): void {
    const retiring = oldestBeyond(held, reads, this.#options.limits.consumersPerProducer - 1).length
    if (held.size - retiring >= limit) throw new SfuLimitError(what, limit)
  }

  /**
   * A peer keeps at most `consumersPerProducer` consumers of one producer.
   * The real host page consumes every channel twice each time it re-runs
   * its setup (every 5 s while it lacks a producer): kept, they reach the
   * per-connection limit within a minute and a new guest's inputs can no
   * longer be consumed. The oldest retire, their owner told as when a
   * producer goes.
   */
  #retireOldest<C extends ms.Consumer | ms.DataConsumer> (member: Member, held: Map<string, C>, reads: (consumer: C) => boolean, event: string, closed: (consumer: C) => unknown): void {
    for (const consumer of oldestBeyond(held, reads, this.#options.limits.consumersPerProducer)) {
      consumer.close()
      this.#tell(member, event, closed(consumer))
    }
  }

  #transport (ctx: Context, id: string, use?: Direction): ms.WebRtcTransport<TransportAppData> {
    const transport = ctx.peer.transports.get(id)
    if (transport === undefined) throw new SfuUnknownTransportError()
    const direction = transport.appData.direction
    if (use !== undefined && direction !== 'any' && direction !== use) throw new SfuWrongDirectionError(use)
    return transport
  }

  async #mediaOf (room: Room): Promise<RoomMedia> {
    let pending = this.#pending.get(room)
    if (pending === undefined) {
      pending = this.#createMedia(room)
      this.#pending.set(room, pending)
      pending.catch(() => { if (this.#pending.get(room) === pending) this.#pending.delete(room) })
    }
    return await pending
  }

  async #createMedia (room: Room): Promise<RoomMedia> {
    const worker = this.#pool?.leastLoaded() ?? null
    if (worker === null) throw unavailable()
    worker.routers++
    let router: ms.Router
    try {
      router = await worker.worker.createRouter({ mediaCodecs: this.#options.mediaCodecs as ms.RouterRtpCodecCapability[], appData: { room: room.key } })
    } catch (err) {
      worker.routers--
      throw err
    }
    router.observer.once('close', () => { worker.routers-- })
    const media = new RoomMedia(room.key, router, worker)
    if (room.closed || this.#pending.get(room) === undefined) {
      media.close()
      throw new SfuNotInRoomError()
    }
    this.#media.set(room, media)
    this.#log.debug({ room: room.key, worker: worker.index }, 'room media created')
    return media
  }

  #inputRelay (media: RoomMedia): Promise<InputRelay> {
    if (media.inputRelay === null) {
      const relay = InputRelay.create(media.router, this.#options.maxSctpMessageSize, this.#inputs)
      media.inputRelay = relay
      relay.catch(() => { if (media.inputRelay === relay) media.inputRelay = null })
    }
    return media.inputRelay
  }

  #closeRoom (room: Room): void {
    this.#mediaRebuilt(room)
    const pending = this.#pending.get(room)
    this.#pending.delete(room)
    const media = this.#media.get(room)
    this.#media.delete(room)
    media?.close()
    // Media still being created sees the room gone and closes itself.
    pending?.catch(() => {})
  }

  #workerDied (worker: PoolWorker): void {
    for (const [room, media] of [...this.#media]) {
      if (media.worker !== worker) continue
      this.#pending.delete(room)
      this.#media.delete(room)
      media.close()
      this.#rooms.broadcast(room, MEDIA_RESET_EVENT, { reason: MEDIA_LOST })
      this.#awaitRebuild(room)
    }
  }

  /**
   * A client able to rebuild creates new transports on `sfu-media-reset`;
   * the real ones never do (generation 2 does not listen for it; generation
   * 1 leaves once the server drops its socket, as when romm-sfu-server exits
   * on a worker's death). A room nobody rebuilds within `mediaLostGraceMs`
   * is closed: its members are told and disconnected instead of watching a
   * frozen stream.
   */
  #awaitRebuild (room: Room): void {
    clearTimeout(this.#mediaLost.get(room))
    const graceMs = this.#options.mediaLostGraceMs
    const close = (): void => {
      this.#mediaLost.delete(room)
      if (room.closed) return
      this.#log.info({ room: room.key, graceMs }, 'room closed: its media server died and nobody rebuilt its media')
      this.#rooms.close(room, MEDIA_LOST, { disconnect: true })
    }
    if (graceMs === 0) close()
    else this.#mediaLost.set(room, setTimeout(close, graceMs))
  }

  /** A member built a transport (or the room closed): the room no longer waits for its media. */
  #mediaRebuilt (room: Room): void {
    clearTimeout(this.#mediaLost.get(room))
    this.#mediaLost.delete(room)
  }

  #tell (member: Member | undefined, event: string, data: unknown): void {
    const connectionId = member?.connectionId
    if (connectionId !== null && connectionId !== undefined) this.#signaling.connection(connectionId)?.emit(event, data)
  }
}
