// The one event table every transport serves: event name -> payload schema
// -> handler -> ack. Plugins define their events here and never touch a
// transport. Dispatch validates, rate-limits and counts abuse the same way
// for Socket.IO and plain WebSocket clients, and a handler never throws into
// the transport.
import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import type { FastifyBaseLogger } from 'fastify'
import type { AbuseCounter } from '../../lib/abuse.ts'
import type { Identity } from '../../lib/netplay.ts'
import type { TokenBucket } from '../../lib/token-bucket.ts'
import { isCoded } from '../../lib/errors.ts'
import type { RateLimitApi } from '../rate-limit/index.ts'
import type { OutgoingEvent } from './outgoing.ts'
import { DuplicateEventError, EventRateLimitedError, InvalidPayloadError, TableFrozenError, UnknownEventError } from './errors.ts'

/** One client connection, whatever its transport. */
export interface Connection {
  /** The id peers see as `socketId` (the Socket.IO socket id, or a generated one for WebSocket). */
  readonly id: string
  readonly transport: 'socket.io' | 'websocket'
  /** Proven identity, or null when auth is off. */
  readonly identity: Identity | null
  readonly ip: string
  /** Epoch ms of the last message this client sent (any event, valid or not; set by the event table), or of its opening. */
  lastMessageAt: number
  /** Pushes a server event to this client. */
  emit (event: string, data?: unknown): void
  /**
   * Pushes an event prepared once for several clients (same bytes as
   * `emit(message.event, message.data)`, without encoding it again).
   * Optional: callers fall back to `emit`.
   */
  deliver? (message: OutgoingEvent): void
  /** Closes the connection, telling the client why. */
  close (reason: string): void
}

/**
 * An error a handler throws to answer the client. Socket.IO clients receive
 * `wire` (default: the message) as the ack's error argument, because real
 * EmulatorJS clients match on those exact strings; WebSocket clients get
 * `{ code, message }`.
 */
export class EventError extends Error {
  readonly code: string
  readonly wire: unknown
  constructor (code: string, message: string, wire?: unknown) {
    super(message)
    this.code = code
    this.wire = wire ?? message
  }
}

export type AckStyle = 'error-first' | 'value'

export interface SignalingEvent<S extends TSchema = TSchema> {
  name: string
  /** Other names clients use for the same event (e.g. generation-1 `sfu-produce-data`). */
  aliases?: string[]
  schema: S
  /** Named limit of the rate-limit plugin charged per message (per connection). Default `signaling`. */
  limit?: string
  /** Tokens one message costs, from its payload as received (before validation). Default 1. */
  cost?: (payload: unknown) => number
  /** `value`: the ack has a single argument (e.g. `sfu-available`). Default `error-first`. */
  ack?: AckStyle
  handler: (payload: Static<S>, connection: Connection) => unknown
}

export type AckResult = { ok: true, data: unknown } | { ok: false, error: EventError }

/** The reply of a message sent without an ack (every relayed data-message): one shared no-op. */
export const noReply = (_result: AckResult): void => {}

/**
 * A refusal that is not held against the sender: the message is answered
 * like any refusal but is no strike (e.g. an input naming the seat its
 * sender had a moment ago).
 */
export interface QuietRefusal { readonly reason: string, readonly quiet: true }

/**
 * A check another plugin adds to an event (e.g. the data-channel guard on
 * `data-message`): runs after schema validation, before the handler; a
 * returned reason refuses the message and counts as an invalid message,
 * unless it is a QuietRefusal.
 */
export type EventGuard = (payload: unknown, connection: Connection) => string | QuietRefusal | null

/** Told after a handler of the event it was registered for answered: how long it took and whether it succeeded (metrics). */
export type EventHandledListener = (seconds: number, ok: boolean) => void

interface CompiledEvent {
  definition: SignalingEvent
  check: (value: unknown) => boolean
  guards: EventGuard[]
  limit: string
  cost: ((payload: unknown) => number) | undefined
  ack: AckStyle
}

/**
 * Per-connection bookkeeping owned by the dispatcher. Made on first use:
 * most connections never strike, and an idle one holds no buckets.
 */
export interface ConnectionGuard {
  buckets: Map<string, TokenBucket> | null
  invalid: AbuseCounter | null
  drops: AbuseCounter | null
}

export class EventTable {
  readonly #events = new Map<string, CompiledEvent>()
  #frozen = false
  readonly #limits: RateLimitApi
  readonly #log: FastifyBaseLogger
  readonly #maxInvalid: number
  /** By event name: only the events someone measures pay for the timing. */
  readonly #handled = new Map<string, EventHandledListener[]>()

  constructor (limits: RateLimitApi, log: FastifyBaseLogger, maxInvalid: number) {
    this.#limits = limits
    this.#log = log
    this.#maxInvalid = maxInvalid
  }

  define<S extends TSchema> (event: SignalingEvent<S>): void {
    if (this.#frozen) throw new TableFrozenError(event.name)
    const validator = Compile(event.schema)
    const compiled: CompiledEvent = {
      definition: event as unknown as SignalingEvent,
      check: (value) => validator.Check(value),
      guards: [],
      limit: event.limit ?? 'signaling',
      cost: event.cost,
      ack: event.ack ?? 'error-first'
    }
    this.#limits.limit(compiled.limit) // unknown limit names fail at registration
    for (const name of [event.name, ...(event.aliases ?? [])]) {
      if (this.#events.has(name)) throw new DuplicateEventError(name)
      this.#events.set(name, compiled)
    }
  }

  freeze (): void { this.#frozen = true }

  onHandled (event: string, listener: EventHandledListener): void {
    const listeners = this.#handled.get(event)
    if (listeners === undefined) this.#handled.set(event, [listener])
    else listeners.push(listener)
  }

  /** Adds a guard to a defined event (during registration only). */
  addGuard (name: string, guard: EventGuard): void {
    if (this.#frozen) throw new TableFrozenError(name)
    const event = this.#events.get(name)
    if (event === undefined) throw new UnknownEventError()
    event.guards.push(guard)
  }

  ackStyle (name: string): AckStyle { return this.#events.get(name)?.ack ?? 'error-first' }

  guard (): ConnectionGuard {
    return { buckets: null, invalid: null, drops: null }
  }

  /**
   * Runs one client message. `reply` is called exactly once (unless the
   * connection is being cut off for abuse, in which case it is told why).
   */
  dispatch (connection: Connection, guard: ConnectionGuard, name: string, payload: unknown, reply: (result: AckResult) => void): void {
    connection.lastMessageAt = Date.now()
    const event = this.#events.get(name)
    // An event this server does not serve (a client feature turned off
    // here, such as the SFU, or a newer client's event) is answered and
    // charged like any message, not counted as invalid: clients retry
    // such calls on a timer. A flood of them is abuse like any other.
    if (!this.#admit(connection, guard, event?.limit ?? 'signaling', event?.cost?.(payload) ?? 1)) {
      reply({ ok: false, error: coded(new EventRateLimitedError()) })
      return
    }
    if (event === undefined) {
      reply({ ok: false, error: coded(new UnknownEventError()) })
      return
    }
    const data = payload === undefined || payload === null ? {} : payload
    if (!event.check(data)) {
      this.#strike(connection, guard.invalid ??= this.#invalidCounter(), 'invalid_payload')
      reply({ ok: false, error: coded(new InvalidPayloadError()) })
      return
    }
    let refusal: string | QuietRefusal | null = null
    try {
      for (const check of event.guards) if ((refusal = check(data, connection)) !== null) break
    } catch (err) {
      reply(this.#failure(name, err))
      return
    }
    if (refusal !== null) {
      const reason = typeof refusal === 'string' ? refusal : refusal.reason
      if (typeof refusal === 'string') this.#strike(connection, guard.invalid ??= this.#invalidCounter(), `rejected:${reason}`)
      reply({ ok: false, error: new EventError('FST_NETPLAY_SIGNALING_REJECTED', reason) })
      return
    }
    const measured = this.#handled.get(event.definition.name)
    if (measured !== undefined) reply = timed(measured, reply)
    try {
      const result = event.definition.handler(data, connection)
      if (result instanceof Promise) {
        result.then((value) => reply({ ok: true, data: value }), (err: unknown) => reply(this.#failure(name, err)))
      } else {
        reply({ ok: true, data: result })
      }
    } catch (err) {
      reply(this.#failure(name, err))
    }
  }

  /** A message that is not an event at all (a WebSocket frame that is not `{ event, data }` JSON): invalid. */
  malformed (connection: Connection, guard: ConnectionGuard, reply: (result: AckResult) => void): void {
    connection.lastMessageAt = Date.now()
    this.#strike(connection, guard.invalid ??= this.#invalidCounter(), 'malformed_frame')
    reply({ ok: false, error: coded(new InvalidPayloadError()) })
  }

  #invalidCounter (): AbuseCounter { return this.#limits.abuseCounter(this.#maxInvalid) }

  /** Charges one message to the connection's bucket of `limit`; false when it is dropped (a strike beyond the abuse ceiling). */
  #admit (connection: Connection, guard: ConnectionGuard, limit: string, cost: number): boolean {
    const buckets = guard.buckets ??= new Map()
    let bucket = buckets.get(limit)
    if (bucket === undefined) {
      bucket = this.#limits.bucket(limit)
      buckets.set(limit, bucket)
    }
    const admission = bucket.admit(cost)
    if (admission === 'allowed') return true
    if (admission === 'abusive') this.#strike(connection, guard.drops ??= this.#limits.abuseCounter(), `rate_limited:${limit}`)
    return false
  }

  #failure (name: string, err: unknown): AckResult {
    if (err instanceof EventError) return { ok: false, error: err }
    if (isCoded(err) && err.code.startsWith('FST_NETPLAY_') && (err.statusCode ?? 500) < 500) {
      return { ok: false, error: new EventError(err.code, err.message) }
    }
    this.#log.error({ err, event: name }, 'signaling handler failed')
    return { ok: false, error: new EventError('FST_NETPLAY_INTERNAL', 'internal error') }
  }

  #strike (connection: Connection, counter: AbuseCounter, reason: string): void {
    const already = counter.exceeded
    if (counter.strike(reason) && !already) {
      this.#log.warn({ connection: connection.id, reason, strikes: counter.total }, 'closing abusive signaling connection')
      connection.close(reason.startsWith('rate_limited') ? 'rate limit exceeded' : 'too many invalid messages')
    }
  }
}

function timed (listeners: EventHandledListener[], reply: (result: AckResult) => void): (result: AckResult) => void {
  const started = performance.now()
  return (result) => {
    reply(result)
    const seconds = (performance.now() - started) / 1000
    for (const listener of listeners) listener(seconds, result.ok)
  }
}

function coded (err: Error & { code: string }): EventError {
  return new EventError(err.code, err.message)
}
