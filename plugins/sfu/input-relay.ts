// The guarded input path. A guest's input DataProducer is never consumed by
// the host directly: the room's DirectTransport consumes it, every message
// goes through the sender's InputGuard, and accepted messages are sent on a
// server-side DataProducer (same label, protocol and appData) that the host
// consumes. The relay's id is the one announced with `new-data-producer`, so
// unmodified EmulatorJS-SFU hosts consume the guarded stream without knowing.
// Family C (generation-1) messages are forwarded re-encoded from what the
// guard checked: the sender's seat in `player`, no other field.
import { encodeFamilyC } from '../datachannel-guard/codecs.ts'
import type { InputGuard, RefusalReason } from '../datachannel-guard/guard.ts'
import type { ms } from './mediasoup.ts'

/** SCTP payload protocol ids (RFC 8831): binary and empty binary. */
const PPID_BINARY = 53
const PPID_BINARY_EMPTY = 57

export interface RelayCounters {
  forwarded: number
  refused: number
  /** Time inputs spent in this process: receive, check, forward. */
  guardSeconds: number
}

export interface InputChannel {
  /** The server-side DataProducer the host consumes. */
  readonly relay: ms.DataProducer
  readonly guard: InputGuard
}

export type CutOffListener = (reason: RefusalReason) => void

export class InputRelay {
  readonly #transport: ms.DirectTransport
  readonly #counters: RelayCounters

  private constructor (transport: ms.DirectTransport, counters: RelayCounters) {
    this.#transport = transport
    this.#counters = counters
  }

  /** `counters` are shared (the plugin sums every room's relay). */
  static async create (router: ms.Router, maxMessageSize: number, counters: RelayCounters): Promise<InputRelay> {
    return new InputRelay(await router.createDirectTransport({ maxSendMessageSize: maxMessageSize, maxReceiveMessageSize: maxMessageSize, appData: { purpose: 'input-relay' } }), counters)
  }

  get closed (): boolean { return this.#transport.closed }

  /**
   * Puts the guard between `source` and the host. `seatOf` is read on every
   * message so a slot change rebinds the guard; `onCutOff` runs once when the
   * sender crosses a limit (the caller closes the producer and tells why).
   */
  async attach (source: ms.DataProducer, guard: InputGuard, seatOf: () => number | null, onCutOff: CutOffListener): Promise<InputChannel> {
    const consumer = await this.#transport.consumeData({ dataProducerId: source.id })
    let relay: ms.DataProducer
    try {
      relay = await this.#transport.produceData({
        label: source.label,
        protocol: source.protocol,
        appData: { ...source.appData }
      })
    } catch (err) {
      consumer.close()
      throw err
    }
    const counters = this.#counters
    let cutOff = false
    consumer.on('message', (message, ppid) => {
      if (relay.closed) return
      const started = performance.now()
      const seat = seatOf()
      if (seat !== guard.seat) guard.rebind(seat)
      const result = guard.check(message, ppid === PPID_BINARY || ppid === PPID_BINARY_EMPTY)
      if (result.ok) {
        if (result.frame.format === 'family-c') relay.send(encodeFamilyC(result.frame))
        else relay.send(message, ppid)
        guard.release()
        counters.forwarded++
        counters.guardSeconds += (performance.now() - started) / 1000
        return
      }
      counters.refused++
      counters.guardSeconds += (performance.now() - started) / 1000
      if (result.cutOff && !cutOff) {
        cutOff = true
        onCutOff(result.reason)
      }
    })
    // Whichever side goes first takes the other two with it.
    const closeAll = (): void => {
      if (!consumer.closed) consumer.close()
      if (!relay.closed) relay.close()
    }
    consumer.on('dataproducerclose', closeAll)
    source.observer.once('close', closeAll)
    relay.observer.once('close', () => { if (!source.closed) source.close() })
    return { relay, guard }
  }

  close (): void {
    if (!this.#transport.closed) this.#transport.close()
  }
}
