// Input-message codecs of the data-channel guard: the three formats a
// guest's input channel may carry, decoded into one `InputFrame` and
// checked against the input rules. Decoders never throw, whatever the bytes:
// a bad message yields a reason code. The `...Into` decoders write into a
// caller-owned frame so the hot path allocates nothing beyond JSON.parse
// (and, for the compact format, nothing at all).
//
// Family B (EmulatorJS-SFU generation 2): UTF-8 JSON sent as binary,
//   {"t":"i","f":<frame>,"s":<slot>,"p":<player>,"k":<index>,"v":<value>}
//   and pings {"type":"ping","count":<n>,"timestamp":<ms>}.
// Family C (generation 1, `protocol: "json"` channels): text JSON
//   {"player":<p>,"index":<i>,"value":<v>} (an optional "frame" is checked too),
//   or, by default (unordered channel without retransmits), a snapshot of the
//   sender's whole controller in every message:
//   {"player":<p>,"state":[<value of input 0>, ..., <value of input 29>]}
//   which a generation-1 host applies input by input, so lost packets
//   (a lost button release) are corrected by the next one.
// JSON messages are told apart by shape, not by transport: a family B shape
// arriving as text on a `json` channel is read as family B.
//
// Compact binary format (version 1), for future clients. Big-endian
// (network order) throughout; the total length must match exactly.
//
//   offset size field
//   0      2    magic 0x4E 0x50 ("NP"); a JSON text never starts with "N"
//   2      1    version = 0x01
//   3      1    type: 0x01 input, 0x02 ping
//   4      2    payload length, u16 BE (input: 8, ping: 12)
//   -- type 0x01 input (total 14 bytes)
//   6      4    frame, u32 BE (0 = unnumbered, as in live-stream rooms)
//   10     1    player, u8
//   11     1    input index, u8
//   12     2    value, i16 BE (two's complement)
//   -- type 0x02 ping (total 18 bytes)
//   6      4    seq (the ping `count`), u32 BE
//   10     8    timestamp, float64 BE (sender's Date.now(), milliseconds)
//
// The value is i16 because libretro's input state is int16_t: analog
// half-axes fit (0..0x7fff), and a client that ever sends signed axes
// (-0x8000..0x7fff) fits without a new version; u16 would waste the sign
// bit on values no core accepts. The option schema keeps every value range
// inside int16, so anything the JSON formats accept can be re-encoded here.
import { Buffer, isUtf8 } from 'node:buffer'
import type { GuardOptions } from './schema.ts'

export type InputFormat = 'family-b' | 'family-c' | 'compact'
export type InputKind = 'input' | 'ping' | 'snapshot'

/**
 * One decoded input message. Every field is always present (undefined when
 * the format has no such field) so all frames share one hidden class. For a
 * ping, `player` and `index` are -1 and `value` is 0; for a snapshot,
 * `index` is -1, `value` 0 and `state` holds the values.
 */
export interface InputFrame {
  format: InputFormat
  kind: InputKind
  player: number
  index: number
  /** Normalized: fractional analog values truncated toward zero (what the core does). */
  value: number
  /** Frame number; 0 or undefined means unnumbered (live-stream rooms, family C). */
  frame: number | undefined
  /** The ping `count`. */
  seq: number | undefined
  /** The ping `timestamp` (sender's clock, ms). */
  timestamp: number | undefined
  /** Family B `s`: sent by clients (always 0 so far), never trusted, not used for binding. */
  slot: number | undefined
  /** A snapshot's values, normalized, input index = position. */
  state: number[] | undefined
}

export type DecodeFailure = 'too_large' | 'not_binary' | 'malformed' | 'out_of_range'
export type DecodeStatus = 'ok' | DecodeFailure

/** The input rules in flat form: compiled once from the options, read per message. */
export interface InputRules {
  readonly maxMessageBytes: number
  readonly playerMin: number
  readonly playerMax: number
  readonly indexMin: number
  readonly indexMax: number
  readonly analogFirst: number
  readonly analogLast: number
  readonly digitalMin: number
  readonly digitalMax: number
  readonly analogMin: number
  readonly analogMax: number
  readonly otherMin: number
  readonly otherMax: number
  readonly truncateAnalog: boolean
}

export const MAX_FRAME = 0xffff_ffff
export const COMPACT_MAGIC_0 = 0x4e
export const COMPACT_MAGIC_1 = 0x50
export const COMPACT_VERSION = 1
export const COMPACT_TYPE_INPUT = 1
export const COMPACT_TYPE_PING = 2
export const COMPACT_HEADER_BYTES = 6
export const COMPACT_INPUT_PAYLOAD = 8
export const COMPACT_PING_PAYLOAD = 12
/** Inputs of a generation-1 snapshot: what its host reads (EmulatorJS's 30 input indices). */
export const SNAPSHOT_INPUTS = 30

type RuleOptions = Pick<GuardOptions, 'maxMessageBytes' | 'playerRange' | 'indexRange' | 'analogIndices' | 'digitalValues' | 'analogValues' | 'otherValues' | 'fractionalAnalog'>

export function inputRules (options: RuleOptions): InputRules {
  return Object.freeze({
    maxMessageBytes: options.maxMessageBytes,
    playerMin: options.playerRange.min,
    playerMax: options.playerRange.max,
    indexMin: options.indexRange.min,
    indexMax: options.indexRange.max,
    analogFirst: options.analogIndices.min,
    analogLast: options.analogIndices.max,
    digitalMin: options.digitalValues.min,
    digitalMax: options.digitalValues.max,
    analogMin: options.analogValues.min,
    analogMax: options.analogValues.max,
    otherMin: options.otherValues.min,
    otherMax: options.otherValues.max,
    truncateAnalog: options.fractionalAnalog === 'truncate'
  })
}

/** The defaults of the option schema, in flat form. */
export const DEFAULT_INPUT_RULES: InputRules = inputRules({
  maxMessageBytes: 4096,
  playerRange: { min: 0, max: 7 },
  indexRange: { min: 0, max: 29 },
  analogIndices: { min: 16, max: 23 },
  digitalValues: { min: 0, max: 1 },
  analogValues: { min: 0, max: 0x7fff },
  otherValues: { min: 0, max: 1 },
  fractionalAnalog: 'truncate'
})

export function newInputFrame (): InputFrame {
  return { format: 'compact', kind: 'input', player: -1, index: -1, value: 0, frame: undefined, seq: undefined, timestamp: undefined, slot: undefined, state: undefined }
}

// ---------- rules shared by every format ----------

function isInteger (x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x)
}

function isFiniteNumber (x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x)
}

/**
 * The value an input may take at `index`, normalized; NaN when refused.
 * Analog values may be fractional (EmulatorJS sends 0x7fff * axis) and are
 * truncated toward zero unless the rules say otherwise; all others must be
 * integers. `+ 0` turns -0 into 0.
 */
export function normalizeValue (index: number, value: number, rules: InputRules): number {
  if (!Number.isFinite(value)) return Number.NaN
  if (index >= rules.analogFirst && index <= rules.analogLast) {
    const whole = rules.truncateAnalog ? Math.trunc(value) : value
    if (!Number.isInteger(whole) || whole < rules.analogMin || whole > rules.analogMax) return Number.NaN
    return whole + 0
  }
  if (!Number.isInteger(value)) return Number.NaN
  if (index < rules.analogFirst) {
    return value < rules.digitalMin || value > rules.digitalMax ? Number.NaN : value + 0
  }
  return value < rules.otherMin || value > rules.otherMax ? Number.NaN : value + 0
}

/** Fills `out` with one input after checking player, index, value and frame; the caller has checked the types. */
function setInput (out: InputFrame, format: InputFormat, player: number, index: number, value: number, frame: number | undefined, slot: number | undefined, rules: InputRules): DecodeStatus {
  if (player < rules.playerMin || player > rules.playerMax) return 'out_of_range'
  if (index < rules.indexMin || index > rules.indexMax) return 'out_of_range'
  if (frame !== undefined && (frame < 0 || frame > MAX_FRAME)) return 'out_of_range'
  const normalized = normalizeValue(index, value, rules)
  if (Number.isNaN(normalized)) return 'out_of_range'
  out.format = format
  out.kind = 'input'
  out.player = player + 0
  out.index = index + 0
  out.value = normalized
  out.frame = frame === undefined ? undefined : frame + 0
  out.seq = undefined
  out.timestamp = undefined
  out.slot = slot
  out.state = undefined
  return 'ok'
}

function setPing (out: InputFrame, format: InputFormat, seq: number | undefined, timestamp: number | undefined): DecodeStatus {
  out.format = format
  out.kind = 'ping'
  out.player = -1
  out.index = -1
  out.value = 0
  out.frame = undefined
  out.seq = seq
  out.timestamp = timestamp
  out.slot = undefined
  out.state = undefined
  return 'ok'
}

/**
 * A generation-1 snapshot: at most SNAPSHOT_INPUTS numbers, each a value
 * input `i` may take; inputs outside the index range may only be 0 (the
 * client zero-fills them). Values are normalized like single inputs.
 */
function setSnapshot (out: InputFrame, player: number, state: unknown[], rules: InputRules): DecodeStatus {
  if (player < rules.playerMin || player > rules.playerMax) return 'out_of_range'
  const length = state.length
  if (length === 0 || length > SNAPSHOT_INPUTS) return 'malformed'
  const values: number[] = []
  for (let i = 0; i < length; i++) {
    const value = state[i]
    if (typeof value !== 'number') return 'malformed'
    const normalized = i < rules.indexMin || i > rules.indexMax
      ? (value === 0 ? 0 : Number.NaN)
      : normalizeValue(i, value, rules)
    if (Number.isNaN(normalized)) return 'out_of_range'
    values.push(normalized)
  }
  out.format = 'family-c'
  out.kind = 'snapshot'
  out.player = player + 0
  out.index = -1
  out.value = 0
  out.frame = undefined
  out.seq = undefined
  out.timestamp = undefined
  out.slot = undefined
  out.state = values
  return 'ok'
}

// ---------- JSON (families B and C) ----------

/**
 * Reads a parsed JSON root. A message must have exactly one meaning to
 * every host: a family B input or a ping may not also carry the family C
 * fields (`player`/`index`/`value`/`state`) that a family C host would act
 * on, a ping may carry no input field at all, and a family C snapshot
 * (`state`) may not also carry a single input. Other extra keys are
 * tolerated; the size cap bounds them (and family C messages reach the host
 * re-encoded, with the checked fields only).
 */
export function decodeJsonValueInto (root: unknown, rules: InputRules, out: InputFrame): DecodeStatus {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return 'malformed'
  const o = root as Record<string, unknown>
  const type = o.type
  if (type !== undefined) {
    if (type !== 'ping') return 'malformed'
    if (o.t !== undefined || o.p !== undefined || o.k !== undefined || o.v !== undefined ||
      o.player !== undefined || o.index !== undefined || o.value !== undefined || o.state !== undefined) return 'malformed'
    const count = o.count
    const timestamp = o.timestamp
    if (count !== undefined && !isFiniteNumber(count)) return 'malformed'
    if (timestamp !== undefined && !isFiniteNumber(timestamp)) return 'malformed'
    return setPing(out, 'family-b', count, timestamp)
  }
  const t = o.t
  if (t !== undefined) {
    if (t !== 'i') return 'malformed'
    if (o.player !== undefined || o.index !== undefined || o.value !== undefined || o.state !== undefined) return 'malformed'
    const f = o.f
    const s = o.s
    const p = o.p
    const k = o.k
    const v = o.v
    // The family B host drops an input without a numeric `s`, so it is required, though never trusted.
    if (typeof s !== 'number' || typeof v !== 'number') return 'malformed'
    if (!isInteger(f) || !isInteger(p) || !isInteger(k)) return typeof f === 'number' && typeof p === 'number' && typeof k === 'number' ? 'out_of_range' : 'malformed'
    return setInput(out, 'family-b', p, k, v, f, s, rules)
  }
  const player = o.player
  const index = o.index
  const value = o.value
  const frame = o.frame
  const state = o.state
  if (state !== undefined) {
    if (!Array.isArray(state) || typeof player !== 'number' || index !== undefined || value !== undefined || frame !== undefined) return 'malformed'
    return Number.isInteger(player) ? setSnapshot(out, player, state, rules) : 'out_of_range'
  }
  if (typeof value !== 'number' || typeof player !== 'number' || typeof index !== 'number') return 'malformed'
  if (frame !== undefined && typeof frame !== 'number') return 'malformed'
  if (!Number.isInteger(player) || !Number.isInteger(index) || (frame !== undefined && !Number.isInteger(frame))) return 'out_of_range'
  return setInput(out, 'family-c', player, index, value, frame, undefined, rules)
}

/** Parses a size-checked JSON text; the one try/catch of the hot path. */
function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** UTF-8 bytes of a string, or `limit + 1` as soon as it is known to exceed `limit`. */
function utf8LengthUpTo (text: string, limit: number): number {
  if (text.length > limit) return limit + 1
  if (text.length * 3 <= limit) return text.length
  return Buffer.byteLength(text, 'utf8')
}

function utf8Text (bytes: Uint8Array): string {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return buffer.toString('utf8')
}

/**
 * JSON from bytes. Invalid UTF-8 is refused: browsers would decode it with
 * replacement characters, and the host must parse exactly what was checked.
 */
export function decodeJsonBytesInto (bytes: Uint8Array, rules: InputRules, out: InputFrame): DecodeStatus {
  if (bytes.byteLength > rules.maxMessageBytes) return 'too_large'
  if (!isUtf8(bytes)) return 'malformed'
  return decodeJsonValueInto(parseJson(utf8Text(bytes)), rules, out)
}

export function decodeJsonTextInto (text: string, rules: InputRules, out: InputFrame): DecodeStatus {
  if (utf8LengthUpTo(text, rules.maxMessageBytes) > rules.maxMessageBytes) return 'too_large'
  return decodeJsonValueInto(parseJson(text), rules, out)
}

// ---------- compact binary ----------

export function isCompact (bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === COMPACT_MAGIC_0 && bytes[1] === COMPACT_MAGIC_1
}

export function decodeCompactInto (bytes: Uint8Array, rules: InputRules, out: InputFrame): DecodeStatus {
  const length = bytes.byteLength
  if (length > rules.maxMessageBytes) return 'too_large'
  if (length < COMPACT_HEADER_BYTES || !isCompact(bytes) || bytes[2] !== COMPACT_VERSION) return 'malformed'
  const type = bytes[3]
  const payload = ((bytes[4] as number) << 8) | (bytes[5] as number)
  if (length !== COMPACT_HEADER_BYTES + payload) return 'malformed'
  if (type === COMPACT_TYPE_INPUT) {
    if (payload !== COMPACT_INPUT_PAYLOAD) return 'malformed'
    const frame = readU32(bytes, 6)
    const value = (((bytes[12] as number) << 8) | (bytes[13] as number)) << 16 >> 16
    return setInput(out, 'compact', bytes[10] as number, bytes[11] as number, value, frame, undefined, rules)
  }
  if (type === COMPACT_TYPE_PING) {
    if (payload !== COMPACT_PING_PAYLOAD) return 'malformed'
    const timestamp = readF64(bytes, 10)
    if (!Number.isFinite(timestamp)) return 'malformed'
    return setPing(out, 'compact', readU32(bytes, 6), timestamp)
  }
  return 'malformed'
}

function readU32 (bytes: Uint8Array, at: number): number {
  return (bytes[at] as number) * 0x100_0000 + (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
}

// One 8-byte scratch per process for float64 conversion: stateless between calls.
const f64 = new Float64Array(1)
const f64Bytes = new Uint8Array(f64.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

function readF64 (bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN ? 7 - i : i] = bytes[at + i] as number
  return f64[0] as number
}

// ---------- one entry point ----------

/**
 * Decodes one message of an input channel. `isBinary` is the transport's
 * flag (SCTP PPID); `textAllowed` is true only for producers that declared
 * `protocol: "json"`. Text may arrive as a string or as its UTF-8 bytes.
 */
export function decodeInputInto (message: Uint8Array | string, isBinary: boolean, textAllowed: boolean, rules: InputRules, out: InputFrame): DecodeStatus {
  if (typeof message === 'string') {
    if (utf8LengthUpTo(message, rules.maxMessageBytes) > rules.maxMessageBytes) return 'too_large'
    if (!isBinary && !textAllowed) return 'not_binary'
    return decodeJsonValueInto(parseJson(message), rules, out)
  }
  if (message.byteLength > rules.maxMessageBytes) return 'too_large'
  if (!isBinary) {
    if (!textAllowed) return 'not_binary'
    return decodeJsonBytesInto(message, rules, out)
  }
  return isCompact(message) ? decodeCompactInto(message, rules, out) : decodeJsonBytesInto(message, rules, out)
}

// ---------- allocating conveniences (tests, tools, the non-hot paths) ----------

export function decodeFamilyB (bytes: Uint8Array, rules: InputRules = DEFAULT_INPUT_RULES): InputFrame | DecodeFailure {
  const out = newInputFrame()
  const status = decodeJsonBytesInto(bytes, rules, out)
  return status === 'ok' ? out : status
}

export function decodeFamilyC (text: string, rules: InputRules = DEFAULT_INPUT_RULES): InputFrame | DecodeFailure {
  const out = newInputFrame()
  const status = decodeJsonTextInto(text, rules, out)
  return status === 'ok' ? out : status
}

export function decodeCompact (bytes: Uint8Array, rules: InputRules = DEFAULT_INPUT_RULES): InputFrame | DecodeFailure {
  const out = newInputFrame()
  const status = decodeCompactInto(bytes, rules, out)
  return status === 'ok' ? out : status
}

export function decodeInput (message: Uint8Array | string, isBinary: boolean, textAllowed: boolean, rules: InputRules = DEFAULT_INPUT_RULES): InputFrame | DecodeFailure {
  const out = newInputFrame()
  const status = decodeInputInto(message, isBinary, textAllowed, rules, out)
  return status === 'ok' ? out : status
}

// ---------- encoders ----------

/** Family B bytes as the generation-2 client sends them (`s` defaults to 0, `f` to 0). */
export function encodeFamilyB (frame: Pick<InputFrame, 'kind' | 'player' | 'index' | 'value' | 'frame' | 'seq' | 'timestamp' | 'slot'>): Buffer {
  const message = frame.kind === 'ping'
    ? { type: 'ping', count: frame.seq, timestamp: frame.timestamp }
    : { t: 'i', f: frame.frame ?? 0, s: frame.slot ?? 0, p: frame.player, k: frame.index, v: frame.value }
  return Buffer.from(JSON.stringify(message), 'utf8')
}

/** Family C text: a snapshot when the frame has `state`, else one input (`frame` written only when it has one). */
export function encodeFamilyC (frame: Pick<InputFrame, 'player' | 'index' | 'value' | 'frame'> & { state?: readonly number[] | undefined }): string {
  if (frame.state !== undefined) return JSON.stringify({ player: frame.player, state: frame.state })
  return JSON.stringify(frame.frame === undefined
    ? { player: frame.player, index: frame.index, value: frame.value }
    : { player: frame.player, index: frame.index, value: frame.value, frame: frame.frame })
}

/**
 * Compact bytes. Throws RangeError for a frame the format cannot carry
 * (it encodes frames this module produced, not client input).
 */
export function encodeCompact (frame: Pick<InputFrame, 'kind' | 'player' | 'index' | 'value' | 'frame' | 'seq' | 'timestamp'>): Buffer {
  if (frame.kind === 'ping') {
    const seq = frame.seq ?? 0
    const timestamp = frame.timestamp ?? 0
    if (!isInteger(seq) || seq < 0 || seq > MAX_FRAME) throw new RangeError('compact ping seq must be a u32')
    if (!Number.isFinite(timestamp)) throw new RangeError('compact ping timestamp must be finite')
    const out = Buffer.allocUnsafe(COMPACT_HEADER_BYTES + COMPACT_PING_PAYLOAD)
    writeHeader(out, COMPACT_TYPE_PING, COMPACT_PING_PAYLOAD)
    out.writeUInt32BE(seq, 6)
    out.writeDoubleBE(timestamp, 10)
    return out
  }
  const number = frame.frame ?? 0
  if (!isInteger(number) || number < 0 || number > MAX_FRAME) throw new RangeError('compact frame must be a u32')
  if (!isInteger(frame.player) || frame.player < 0 || frame.player > 0xff) throw new RangeError('compact player must be a u8')
  if (!isInteger(frame.index) || frame.index < 0 || frame.index > 0xff) throw new RangeError('compact index must be a u8')
  const value = Math.trunc(frame.value)
  if (!Number.isFinite(value) || value < -0x8000 || value > 0x7fff) throw new RangeError('compact value must fit int16')
  const out = Buffer.allocUnsafe(COMPACT_HEADER_BYTES + COMPACT_INPUT_PAYLOAD)
  writeHeader(out, COMPACT_TYPE_INPUT, COMPACT_INPUT_PAYLOAD)
  out.writeUInt32BE(number, 6)
  out[10] = frame.player
  out[11] = frame.index
  out.writeInt16BE(value, 12)
  return out
}

function writeHeader (out: Buffer, type: number, payload: number): void {
  out[0] = COMPACT_MAGIC_0
  out[1] = COMPACT_MAGIC_1
  out[2] = COMPACT_VERSION
  out[3] = type
  out.writeUInt16BE(payload, 4)
}
