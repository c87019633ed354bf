// The transport-independent core of the data-channel guard: one
// `InputGuard` per sender (per guest input DataProducer) checks every
// message and binds it to the sender's seat before the plugin forwards it to
// the host; `validateDataMessage` does the same for the Socket.IO
// `data-message` relay of P2P rooms.
//
// Order of the checks, cheapest and most protective first:
//   cut off? -> token bucket -> size -> binary rule -> decode and ranges
//   -> spectator / seat -> frame window -> duplicate -> pending queue.
// The bucket comes before decoding so a flood is dropped without parsing.
// Pings carry no input: they are bound to no seat and accepted from
// spectators too (rate-limited and queued like inputs).
//
// Seats: the player a message names must be the sender's seat. Two
// exceptions, both for real clients and neither a way to act as someone else:
// - Generation-1 clients (family C) never learn their seat: they send their
//   own preferred player (0 unless the player picked another). With
//   `familyCPlayer: 'seat'` (the default) the guard writes the sender's seat
//   into the message instead of refusing it; the plugin then forwards the
//   re-encoded message.
// - After a seat change, messages still naming the previous seat (sent
//   before the client learnt of the change) are `stale_seat` for
//   `seatChangeGraceMs`: dropped, never forwarded, no strike.
//
// Frame numbers: 0 (family B live-stream rooms) and absent (family C) mean
// "unnumbered" and skip the window. A numbered frame more than
// `reorderWindow` below the highest one seen is `stale_frame`; anything in
// the window is accepted, any number of times: a frame carries several
// inputs (one message per changed input), clients resend inputs on unordered
// channels, and setting an input to the value it has is idempotent for the
// host. `duplicates: 'drop'` drops an exact repeat of the last accepted
// event of an input index (same frame and value) instead.
//
// Strikes: decode failures, `wrong_seat` and `spectator` are invalid
// messages (cut off once there are more than `invalidLimit` standing).
// Over the rate limit a message is `rate_limited`: dropped, no strike (real
// clients overshoot in bursts); beyond the abuse ceiling (4 times the limit)
// it is `flooding`, a drop strike (cut off above `dropLimit`). Strikes are
// forgiven over time (see AbuseCounter). `stale_frame`, `stale_seat`,
// `duplicate` and `queue_full` are normal on a lossy, reordering channel or
// a slow host and never strike.
import { AbuseCounter, DEFAULT_ABUSE_CEILING, DEFAULT_FORGIVE_MS } from '../../lib/abuse.ts'
import { OptionsInvalidError } from '../../lib/errors.ts'
import { optionsParser } from '../../lib/options.ts'
import { TokenBucket } from '../../lib/token-bucket.ts'
import {
  type DecodeFailure, type InputFrame, type InputRules,
  decodeInputInto, inputRules, newInputFrame, normalizeValue
} from './codecs.ts'
import { GuardOptions, type GuardOptionsInput } from './schema.ts'

export type RefusalReason = DecodeFailure | 'wrong_seat' | 'stale_seat' | 'spectator' | 'stale_frame' | 'duplicate' | 'rate_limited' | 'flooding' | 'queue_full' | 'cut_off'

export interface Accepted {
  readonly ok: true
  /** Reused by the guard's next check(): read it now, copy what you keep. */
  readonly frame: InputFrame
  readonly cutOff: false
}

export interface Refused {
  readonly ok: false
  readonly reason: RefusalReason
  /** True once the sender has crossed a limit: close its producer. */
  readonly cutOff: boolean
}

export type CheckResult = Accepted | Refused

type Strike = 'invalid' | 'drop' | null

const STRIKES: Readonly<Record<RefusalReason, Strike>> = {
  too_large: 'invalid',
  not_binary: 'invalid',
  malformed: 'invalid',
  out_of_range: 'invalid',
  wrong_seat: 'invalid',
  spectator: 'invalid',
  stale_seat: null,
  rate_limited: null,
  flooding: 'drop',
  stale_frame: null,
  duplicate: null,
  queue_full: null,
  cut_off: null
}

/** The exact string family B clients see when a data producer claims someone else's userid. */
export const USERID_MISMATCH = 'userid mismatch for this connection'

// ---------- options ----------

/** Options compiled once (at plugin registration) and shared by every guard. */
export interface GuardConfig {
  readonly options: GuardOptions
  readonly rules: InputRules
  readonly labels: ReadonlySet<string>
  readonly ownerOnly: ReadonlySet<string>
}

const parseOptions = optionsParser('datachannel-guard', GuardOptions)

function checkRange (name: string, range: { min: number, max: number }): void {
  if (range.min > range.max) throw new OptionsInvalidError(`datachannel-guard.${name}`, 'min must not exceed max')
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

export function guardConfig (input: GuardOptionsInput = {}): GuardConfig {
  const options = parseOptions(input)
  for (const name of ['playerRange', 'indexRange', 'analogIndices', 'digitalValues', 'analogValues', 'otherValues'] as const) {
    checkRange(name, options[name])
  }
  // Frozen through and through: one config is shared by every guard of an app.
  return Object.freeze({
    options: deepFreeze(options),
    rules: inputRules(options),
    labels: new Set(options.labels),
    ownerOnly: new Set<string>(options.relay.ownerOnly)
  })
}

let defaultConfig: GuardConfig | undefined
/** The defaults, compiled on first use (immutable, so sharing it is safe). */
export function defaultGuardConfig (): GuardConfig {
  defaultConfig ??= guardConfig()
  return defaultConfig
}

// ---------- data producers ----------

/** True when a data producer's label carries inputs and must go through a guard. */
export function isGuardedLabel (label: string, config: GuardConfig = defaultGuardConfig()): boolean {
  return config.labels.has(label)
}

/**
 * Checks a data producer's `appData.userid` against the connection's bound
 * identity: the exact client-facing error string, or null when it may
 * produce. A missing userid is allowed unless `requireAppDataUserid`; the
 * producer is attributed to the bound identity either way.
 */
export function checkDataProducerUserid (appData: unknown, boundUserid: string, config: GuardConfig = defaultGuardConfig()): typeof USERID_MISMATCH | null {
  const userid = typeof appData === 'object' && appData !== null ? (appData as Record<string, unknown>).userid : undefined
  if (userid === undefined || userid === null) return config.options.requireAppDataUserid ? USERID_MISMATCH : null
  return userid === boundUserid ? null : USERID_MISMATCH
}

// ---------- seats ----------

/**
 * A sender's seat and the one it had before, for `seatChangeGraceMs`: a
 * client keeps sending inputs under its old seat until it hears of a change
 * (a slot change, a move to spectating, upstream seats closing up), and
 * those are stale, not lies. Shared by the input guards and the relay.
 */
export class SeatHistory {
  seat: number | null
  #previous: number | null = null
  #changedAt = Number.NEGATIVE_INFINITY
  readonly #graceMs: number

  constructor (seat: number | null, graceMs: number) {
    this.seat = seat
    this.#graceMs = graceMs
  }

  /** Records the current seat; a change starts the grace of the previous one. Returns whether it changed. */
  move (seat: number | null, now: number): boolean {
    if (seat === this.seat) return false
    this.#previous = this.seat
    this.#changedAt = now
    this.seat = seat
    return true
  }

  /** The seat the sender left, while its grace runs; undefined otherwise. */
  staleSeat (now: number): number | null | undefined {
    return now - this.#changedAt <= this.#graceMs ? this.#previous : undefined
  }

  /** Whether `player` is the seat the sender left, within the grace. */
  isStale (player: number, now: number): boolean {
    return player === this.staleSeat(now)
  }
}

// ---------- the per-sender guard ----------

export interface InputGuardInit {
  /** The sender's bound player index; null for a spectator. */
  seat: number | null
  /** The sender's bound identity. */
  userid: string
  /** The producer's declared `protocol`; only `"json"` allows text messages. */
  protocol?: string
  /** The producer's `label`. */
  label?: string
  config?: GuardConfig
  /** From the rate-limit plugin (`rateLimit.bucket('data')`); else one from `options.bucket`. */
  bucket?: TokenBucket
  /** Invalid-message strikes (`rateLimit.abuseCounter(5)`); else one with `options.invalidLimit`, forgiving one a minute. */
  invalid?: AbuseCounter
  /** Rate-limit drop strikes (`rateLimit.abuseCounter(20)`); else one with `options.dropLimit`. */
  drops?: AbuseCounter
  /** Refusals by reason across guards, for metrics. */
  tally?: Map<string, number>
  now?: number
}

export interface GuardStats {
  accepted: number
  refused: Record<string, number>
  pending: number
  cutOff: boolean
}

export class InputGuard {
  readonly userid: string
  readonly protocol: string
  readonly label: string
  readonly config: GuardConfig
  readonly bucket: TokenBucket
  readonly invalid: AbuseCounter
  readonly drops: AbuseCounter
  /** Refusals of this sender by reason. */
  readonly byReason = new Map<string, number>()
  /** Messages accepted. */
  accepted = 0
  readonly #seats: SeatHistory
  #pending = 0
  #highFrame = 0
  readonly #textAllowed: boolean
  readonly #rules: InputRules
  readonly #window: number
  readonly #pendingCap: number
  readonly #adoptSeat: boolean
  readonly #tally: Map<string, number> | undefined
  // Last accepted (frame, value) per input index, only in `duplicates: 'drop'` mode.
  readonly #lastFrame: Uint32Array | undefined
  readonly #lastValue: Int32Array | undefined
  // Results and frame are reused: check() allocates nothing of its own.
  readonly #frame: InputFrame = newInputFrame()
  readonly #accepted: Accepted
  readonly #refused: { ok: false, reason: RefusalReason, cutOff: boolean } = { ok: false, reason: 'malformed', cutOff: false }

  constructor (init: InputGuardInit) {
    const config = init.config ?? defaultGuardConfig()
    const options = config.options
    this.config = config
    this.userid = init.userid
    this.protocol = init.protocol ?? ''
    this.label = init.label ?? ''
    this.#seats = new SeatHistory(init.seat, options.seatChangeGraceMs)
    this.#textAllowed = this.protocol === 'json'
    this.#rules = config.rules
    this.#window = options.reorderWindow
    this.#pendingCap = options.pendingCap
    this.#adoptSeat = options.familyCPlayer === 'seat'
    this.#tally = init.tally
    this.bucket = init.bucket ?? new TokenBucket(options.bucket, init.now, DEFAULT_ABUSE_CEILING)
    this.invalid = init.invalid ?? new AbuseCounter(options.invalidLimit, undefined, DEFAULT_FORGIVE_MS)
    this.drops = init.drops ?? new AbuseCounter(options.dropLimit, undefined, DEFAULT_FORGIVE_MS)
    if (options.duplicates === 'drop') {
      this.#lastFrame = new Uint32Array(options.indexRange.max + 1)
      this.#lastValue = new Int32Array(options.indexRange.max + 1)
    }
    this.#accepted = { ok: true, frame: this.#frame, cutOff: false }
  }

  /** The bound player index; null for a spectator. */
  get seat (): number | null {
    return this.#seats.seat
  }

  /** Messages accepted and not yet released. */
  get pending (): number {
    return this.#pending
  }

  get cutOff (): boolean {
    return this.invalid.exceeded || this.drops.exceeded
  }

  /** After `update-player-slot` or a move to or from spectating. */
  rebind (seat: number | null, now = Date.now()): void {
    if (this.#seats.move(seat, now)) this.resetFrames()
  }

  /** Forgets the frame window: call when the game (re)starts and frames count from the beginning again. */
  resetFrames (): void {
    this.#highFrame = 0
    this.#lastFrame?.fill(0)
  }

  /** The plugin forwarded (or gave up on) `count` accepted messages. */
  release (count = 1): void {
    this.#pending = Math.max(0, this.#pending - count)
  }

  /**
   * Checks one message of the sender's input channel. An accepted message
   * holds one pending slot until `release()`. The result is reused by the
   * next call on this guard.
   */
  check (message: Uint8Array | string, isBinary: boolean, now = Date.now()): CheckResult {
    if (this.invalid.exceeded || this.drops.exceeded) return this.#refuse('cut_off', now)
    const admission = this.bucket.admit(1, now)
    if (admission !== 'allowed') return this.#refuse(admission === 'shed' ? 'rate_limited' : 'flooding', now)
    const frame = this.#frame
    const status = decodeInputInto(message, isBinary, this.#textAllowed, this.#rules, frame)
    if (status !== 'ok') return this.#refuse(status, now)
    let number = 0
    if (frame.kind !== 'ping') {
      const seat = this.#seats.seat
      if (seat === null) return this.#refuse(this.#seats.isStale(frame.player, now) ? 'stale_seat' : 'spectator', now)
      if (frame.player !== seat) {
        if (frame.format === 'family-c' && this.#adoptSeat) frame.player = seat
        else return this.#refuse(this.#seats.isStale(frame.player, now) ? 'stale_seat' : 'wrong_seat', now)
      }
      number = frame.frame ?? 0
      if (number !== 0) {
        if (this.#highFrame - number > this.#window) return this.#refuse('stale_frame', now)
        const lastFrame = this.#lastFrame
        if (lastFrame !== undefined && lastFrame[frame.index] === number && (this.#lastValue as Int32Array)[frame.index] === frame.value) {
          return this.#refuse('duplicate', now)
        }
      }
    }
    if (this.#pending >= this.#pendingCap) return this.#refuse('queue_full', now)
    if (number !== 0) {
      if (number > this.#highFrame) this.#highFrame = number
      if (this.#lastFrame !== undefined) {
        this.#lastFrame[frame.index] = number
        ;(this.#lastValue as Int32Array)[frame.index] = frame.value
      }
    }
    this.#pending++
    this.accepted++
    return this.#accepted
  }

  stats (): GuardStats {
    return { accepted: this.accepted, refused: Object.fromEntries(this.byReason), pending: this.#pending, cutOff: this.cutOff }
  }

  #refuse (reason: RefusalReason, now: number): Refused {
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1)
    if (this.#tally !== undefined) this.#tally.set(reason, (this.#tally.get(reason) ?? 0) + 1)
    const strike = STRIKES[reason]
    if (strike === 'invalid') this.invalid.strike(reason, now)
    else if (strike === 'drop') this.drops.strike(reason, now)
    const refused = this.#refused
    refused.reason = reason
    refused.cutOff = this.invalid.exceeded || this.drops.exceeded
    return refused
  }
}

// ---------- the Socket.IO data-message relay (families A and B) ----------

export type RelayKind = 'pause' | 'play' | 'restart' | 'chat-message' | 'sync-control' | 'frameAck' | 'host-left' | 'unknown'
export type RelayRefusal = 'too_large' | 'malformed' | 'out_of_range' | 'unknown_shape' | 'not_owner' | 'wrong_seat' | 'stale_seat' | 'spectator'
export type RelayVerdict = { readonly ok: true, readonly kind: RelayKind } | { readonly ok: false, readonly reason: RelayRefusal }

/** Who sent the message, when the caller knows; checks that need it are skipped otherwise. */
export interface RelaySender {
  /** False for everyone but the room owner: `relay.ownerOnly` kinds are refused. */
  isOwner?: boolean
  /** The sender's seat (null: spectator). A non-owner's sync-control inputs must name it. */
  seat?: number | null
  /** The seat it had until a moment ago (see `seatChangeGraceMs`): inputs naming it are `stale_seat`, not `wrong_seat`. */
  previousSeat?: number | null
}

const RELAY_KINDS: readonly RelayKind[] = ['pause', 'play', 'restart', 'chat-message', 'sync-control', 'frameAck', 'host-left', 'unknown']
const RELAY_REFUSALS: readonly RelayRefusal[] = ['too_large', 'malformed', 'out_of_range', 'unknown_shape', 'not_owner', 'wrong_seat', 'stale_seat', 'spectator']
const RELAY_OK = Object.freeze(Object.fromEntries(RELAY_KINDS.map((kind) => [kind, Object.freeze({ ok: true, kind })]))) as Readonly<Record<RelayKind, RelayVerdict>>
const RELAY_REFUSED = Object.freeze(Object.fromEntries(RELAY_REFUSALS.map((reason) => [reason, Object.freeze({ ok: false, reason })]))) as Readonly<Record<RelayRefusal, RelayVerdict>>
const SYNC_FRAME_TEXT = /^\d{1,10}$/

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function jsonBytes (value: unknown): number {
  try {
    const text = JSON.stringify(value)
    return text === undefined ? 0 : Buffer.byteLength(text, 'utf8')
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

/** One `sync-control` entry: `{ frame, connected_input: [player, index, value] }`; player < 0 is the "no input" marker hosts skip. */
function checkSyncEntry (entry: unknown, rules: InputRules, seat: number | null | undefined, previousSeat: number | null | undefined): RelayRefusal | null {
  if (!isPlainObject(entry)) return 'malformed'
  const frame = entry.frame
  if (typeof frame === 'number') {
    if (!Number.isInteger(frame) || frame < 0 || frame > 0xffff_ffff) return 'out_of_range'
  } else if (frame !== null && (typeof frame !== 'string' || !SYNC_FRAME_TEXT.test(frame))) {
    // null is unnumbered: an EmulatorJS-SFU guest's fallback sends currentFrame + delay before it has a frame.
    return 'malformed'
  }
  const input = entry.connected_input
  if (input === undefined) return null
  if (!Array.isArray(input) || input.length !== 3) return 'malformed'
  const [player, index, value] = input as unknown[]
  if (typeof player !== 'number' || typeof index !== 'number' || typeof value !== 'number') return 'malformed'
  if (!Number.isInteger(player)) return 'out_of_range'
  if (player < 0) return null
  if (seat === null) return player === previousSeat ? 'stale_seat' : 'spectator'
  if (seat !== undefined && player !== seat) return player === previousSeat ? 'stale_seat' : 'wrong_seat'
  if (player > rules.playerMax || player < rules.playerMin) return 'out_of_range'
  if (!Number.isInteger(index) || index < rules.indexMin || index > rules.indexMax) return 'out_of_range'
  return Number.isNaN(normalizeValue(index, value, rules)) ? 'out_of_range' : null
}

/**
 * Validates one relayed `data-message` payload (already parsed by the
 * transport). Known keys must have their known shape; unknown keys and
 * shapes pass only when `relay.allowUnknown`. `byteLength`, when the
 * transport knows it, saves re-serializing the payload.
 */
export function validateDataMessage (payload: unknown, config: GuardConfig = defaultGuardConfig(), sender: RelaySender = {}, byteLength?: number): RelayVerdict {
  const relay = config.options.relay
  if (!isPlainObject(payload)) return RELAY_REFUSED.malformed
  if ((byteLength ?? jsonBytes(payload)) > relay.maxBytes) return RELAY_REFUSED.too_large
  const notOwner = sender.isOwner === false
  let kind: RelayKind | null = null
  let unknown = false
  for (const key of Object.keys(payload)) {
    const value = payload[key]
    let found: RelayKind | null = null
    switch (key) {
      case 'pause':
      case 'play':
      case 'restart':
        if (typeof value !== 'boolean') return RELAY_REFUSED.malformed
        found = key
        break
      case 'chat-message':
        if (!isPlainObject(value)) return RELAY_REFUSED.malformed
        found = key
        break
      case 'frameAck':
        // EmulatorJS-SFU's fallback acks parseInt(frame) of an unnumbered frame: NaN, sent as null.
        if (value === null) {
          found = key
          break
        }
        if (typeof value !== 'number') return RELAY_REFUSED.malformed
        if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) return RELAY_REFUSED.out_of_range
        found = key
        break
      case 'sync-control': {
        if (!Array.isArray(value)) return RELAY_REFUSED.malformed
        if (value.length > relay.maxSyncEntries) return RELAY_REFUSED.out_of_range
        const seat = sender.isOwner === true ? undefined : sender.seat
        for (const entry of value) {
          const refusal = checkSyncEntry(entry, config.rules, seat, sender.previousSeat)
          if (refusal !== null) return RELAY_REFUSED[refusal]
        }
        found = key
        break
      }
      case 'type':
        if (value === 'host-left') found = 'host-left'
        else unknown = true
        break
      default:
        unknown = true
    }
    if (found !== null) {
      if (notOwner && config.ownerOnly.has(found)) return RELAY_REFUSED.not_owner
      kind ??= found
    }
  }
  if (unknown && !relay.allowUnknown) return RELAY_REFUSED.unknown_shape
  return RELAY_OK[kind ?? 'unknown']
}
