// A room's media: one mediasoup Router on one worker, the peers (one per
// member identity, so a Socket.IO reconnect inside the grace keeps the
// stream flowing) and the input relay. Closing the room media closes the
// router, which closes every transport, producer and consumer in it.
import type { InputGuard } from '../datachannel-guard/guard.ts'
import type { InputRelay } from './input-relay.ts'
import type { ms } from './mediasoup.ts'
import type { PoolWorker } from './workers.ts'

export type Direction = 'send' | 'recv'

export interface TransportAppData extends ms.AppData {
  direction: Direction | 'any'
  /** The socket that created it: after a reconnect, the old socket's transports are stale. */
  connectionId: string
}

/** A data producer the room's host may consume: a guest's own, or the guarded relay of an input channel. */
export interface AnnouncedData {
  readonly dataProducer: ms.DataProducer
  readonly owner: Peer
  /** The guarded relay of an input channel: it carries a player's inputs, for the room's owner alone. */
  readonly input: boolean
  /**
   * For an input relay (produced on a DirectTransport, which has no SCTP
   * stream), the delivery its sender chose, for the consumers to keep:
   * mediasoup would otherwise make them ordered and reliable.
   */
  readonly delivery?: DataDelivery
}

/** SCTP delivery of a data channel: what `consumeData` takes to keep a sender's choice. */
export interface DataDelivery { ordered: boolean, maxPacketLifeTime?: number, maxRetransmits?: number }

export function deliveryOf (params: ms.SctpStreamParameters | undefined): DataDelivery | undefined {
  if (params === undefined) return undefined
  return {
    ordered: params.ordered ?? true,
    ...(params.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: params.maxPacketLifeTime } : {}),
    ...(params.maxRetransmits !== undefined ? { maxRetransmits: params.maxRetransmits } : {})
  }
}

/**
 * Of the consumers in `held` that read one producer (`reads`), those past
 * the newest `keep`, oldest first: a Map iterates in insertion order.
 */
export function oldestBeyond<C> (held: Map<string, C>, reads: (consumer: C) => boolean, keep: number): C[] {
  const same = [...held.values()].filter(reads)
  return same.slice(0, Math.max(0, same.length - keep))
}

/** One member's mediasoup objects. */
export class Peer {
  readonly userid: string
  readonly transports = new Map<string, ms.WebRtcTransport<TransportAppData>>()
  /** At most one producer per kind: a re-produce replaces (and closes) the old one. */
  readonly producers = new Map<ms.MediaKind, ms.Producer>()
  /** At most one data producer per label. */
  readonly dataProducers = new Map<string, ms.DataProducer>()
  readonly consumers = new Map<string, ms.Consumer>()
  readonly dataConsumers = new Map<string, ms.DataConsumer>()
  /**
   * The guard of each input label, kept across re-produces: its bucket and
   * strikes follow the sender, so a sender cut off for abuse cannot start
   * over by opening a new channel.
   */
  readonly inputGuards = new Map<string, InputGuard>()

  constructor (userid: string) {
    this.userid = userid
  }

  /** Closes every transport (and with them every producer and consumer) of this peer. */
  closeTransports (): void {
    for (const transport of [...this.transports.values()]) transport.close()
    this.transports.clear()
  }
}

export class RoomMedia {
  readonly roomKey: string
  readonly router: ms.Router
  readonly worker: PoolWorker
  readonly peers = new Map<string, Peer>()
  /** Data producers announced to the room, by the id a consumer asks for. */
  readonly announcedData = new Map<string, AnnouncedData>()
  inputRelay: Promise<InputRelay> | null = null
  #closed = false

  constructor (roomKey: string, router: ms.Router, worker: PoolWorker) {
    this.roomKey = roomKey
    this.router = router
    this.worker = worker
  }

  get closed (): boolean { return this.#closed || this.router.closed }

  peer (userid: string): Peer {
    let peer = this.peers.get(userid)
    if (peer === undefined) {
      peer = new Peer(userid)
      this.peers.set(userid, peer)
    }
    return peer
  }

  /** A media producer of this room, with its owner. */
  findProducer (id: string): { producer: ms.Producer, owner: Peer } | undefined {
    for (const owner of this.peers.values()) {
      for (const producer of owner.producers.values()) if (producer.id === id) return { producer, owner }
    }
    return undefined
  }

  /** Closes a member's objects when it leaves the room for good. */
  removePeer (userid: string): void {
    const peer = this.peers.get(userid)
    if (peer === undefined) return
    this.peers.delete(userid)
    peer.closeTransports()
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.peers.clear()
    this.announcedData.clear()
    if (!this.router.closed) this.router.close()
  }
}
