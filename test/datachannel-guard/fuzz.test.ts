// Property tests of every decoder and of the guard: random bytes and
// strings, and structured near-valid messages. Nothing ever throws, and the
// guard accepts a message exactly when an independent oracle (written from
// the rules, sharing no code with the guard) says every rule holds; when
// both accept, the decoded frame is the oracle's.
import t from 'tap'
import fc from 'fast-check'
import {
  decodeCompact, decodeFamilyB, decodeFamilyC, decodeInput, type InputFrame
} from '../../plugins/datachannel-guard/codecs.ts'
import { InputGuard, guardConfig, validateDataMessage } from '../../plugins/datachannel-guard/guard.ts'

// ---------- the oracle ----------

const MAX_BYTES = 4096
const WINDOW = 32
const INVALID_REASONS = new Set(['too_large', 'not_binary', 'malformed', 'out_of_range', 'wrong_seat', 'spectator'])

type Decoded = Pick<InputFrame, 'format' | 'kind' | 'player' | 'index' | 'value' | 'frame' | 'seq' | 'timestamp'> & { state?: number[] }
type Verdict = { outcome: 'invalid' } | { outcome: 'stale' } | { outcome: 'ok', decoded: Decoded }

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const has = (o: object, key: string): boolean => Object.hasOwn(o, key)

function valueAllowed (index: number, value: unknown): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null
  if (index >= 16 && index <= 23) {
    const whole = Math.trunc(value)
    return whole >= 0 && whole <= 0x7fff ? whole + 0 : null
  }
  return value === 0 || value === 1 ? value + 0 : null
}

function inputVerdict (format: Decoded['format'], player: unknown, index: unknown, value: unknown, frame: unknown): Decoded | null {
  if (!Number.isInteger(player) || !Number.isInteger(index)) return null
  const p = player as number
  const i = index as number
  if (p < 0 || p > 7 || i < 0 || i > 29) return null
  if (frame !== undefined && (!Number.isInteger(frame) || (frame as number) < 0 || (frame as number) > 4_294_967_295)) return null
  const v = valueAllowed(i, value)
  if (v === null) return null
  return { format, kind: 'input', player: p + 0, index: i + 0, value: v, frame: frame === undefined ? undefined : (frame as number) + 0, seq: undefined, timestamp: undefined }
}

function snapshotVerdict (player: unknown, state: unknown): Decoded | null {
  if (!Array.isArray(state) || typeof player !== 'number' || state.length === 0 || state.length > 30) return null
  if (!Number.isInteger(player) || player < 0 || player > 7) return null
  const values: number[] = []
  for (let i = 0; i < state.length; i++) {
    const v = valueAllowed(i, state[i])
    if (v === null) return null
    values.push(v)
  }
  return { format: 'family-c', kind: 'snapshot', player: player + 0, index: -1, value: 0, frame: undefined, seq: undefined, timestamp: undefined, state: values }
}

function jsonVerdict (root: unknown): Decoded | null {
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return null
  const o = root as Record<string, unknown>
  const inputKeys = ['t', 'p', 'k', 'v', 'player', 'index', 'value', 'state']
  if (has(o, 'type')) {
    if (o.type !== 'ping' || inputKeys.some((key) => has(o, key))) return null
    for (const key of ['count', 'timestamp']) {
      if (has(o, key) && !(typeof o[key] === 'number' && Number.isFinite(o[key]))) return null
    }
    return { format: 'family-b', kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: o.count as number | undefined, timestamp: o.timestamp as number | undefined }
  }
  if (has(o, 't')) {
    if (o.t !== 'i' || ['player', 'index', 'value', 'state'].some((key) => has(o, key))) return null
    if (typeof o.s !== 'number' || !has(o, 'f')) return null
    return inputVerdict('family-b', o.p, o.k, o.v, o.f)
  }
  if (has(o, 'state')) return ['index', 'value', 'frame'].some((key) => has(o, key)) ? null : snapshotVerdict(o.player, o.state)
  if (!has(o, 'player') || !has(o, 'index') || !has(o, 'value')) return null
  return inputVerdict('family-c', o.player, o.index, o.value, o.frame)
}

function compactVerdict (b: Buffer): Decoded | null {
  if (b.length < 6 || b[2] !== 1) return null
  const declared = b.readUInt16BE(4)
  if (b[3] === 1 && declared === 8 && b.length === 14) {
    return inputVerdict('compact', b[10], b[11], b.readInt16BE(12), b.readUInt32BE(6))
  }
  if (b[3] === 2 && declared === 12 && b.length === 18) {
    const timestamp = b.readDoubleBE(10)
    if (!Number.isFinite(timestamp)) return null
    return { format: 'compact', kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: b.readUInt32BE(6), timestamp }
  }
  return null
}

function decodeByOracle (message: Buffer | string, isBinary: boolean, protocol: string): Decoded | null {
  const size = typeof message === 'string' ? Buffer.byteLength(message, 'utf8') : message.length
  if (size > MAX_BYTES) return null
  if (!isBinary && protocol !== 'json') return null
  if (isBinary && typeof message !== 'string' && message[0] === 0x4e && message[1] === 0x50) return compactVerdict(message)
  let text: string
  if (typeof message === 'string') {
    text = message
  } else {
    try {
      text = strictUtf8.decode(message)
    } catch {
      return null
    }
  }
  let root: unknown
  try {
    root = JSON.parse(text)
  } catch {
    return null
  }
  return jsonVerdict(root)
}

class Oracle {
  high = 0
  readonly seat: number | null
  constructor (seat: number | null) {
    this.seat = seat
  }

  judge (message: Buffer | string, isBinary: boolean, protocol: string): Verdict {
    const decoded = decodeByOracle(message, isBinary, protocol)
    if (decoded === null) return { outcome: 'invalid' }
    if (decoded.kind !== 'ping') {
      if (this.seat === null) return { outcome: 'invalid' }
      // Generation-1 clients never learn their seat: the guard writes it in.
      if (decoded.format === 'family-c') decoded.player = this.seat
      if (decoded.player !== this.seat) return { outcome: 'invalid' }
      const frame = decoded.frame ?? 0
      if (frame > 0 && this.high - frame > WINDOW) return { outcome: 'stale' }
      if (frame > this.high) this.high = frame
    }
    return { outcome: 'ok', decoded }
  }
}

// A guard that only the rules can refuse: no rate limit, no cut-off, no queue limit.
function looseGuard (seat: number | null, protocol: string): InputGuard {
  const config = guardConfig({ bucket: { capacity: 1e9, refillPerSecond: 1e9 }, invalidLimit: 1_000_000, dropLimit: 1_000_000, pendingCap: 1_000_000 })
  return new InputGuard({ seat, userid: 'u', protocol, label: 'netplay-input', config, now: 0 })
}

function sameDecoded (frame: InputFrame, expected: Decoded): boolean {
  return frame.format === expected.format && frame.kind === expected.kind && frame.player === expected.player &&
    frame.index === expected.index && Object.is(frame.value, expected.value) && frame.frame === expected.frame &&
    frame.seq === expected.seq && frame.timestamp === expected.timestamp &&
    JSON.stringify(frame.state) === JSON.stringify(expected.state)
}

interface Message { message: Buffer | string, isBinary: boolean }

const stats = { accepted: 0, snapshots: 0, stale: 0, invalid: 0 }

function agree (seat: number | null, protocol: string, messages: Message[]): boolean {
  const guard = looseGuard(seat, protocol)
  const oracle = new Oracle(seat)
  for (const { message, isBinary } of messages) {
    const result = guard.check(message, isBinary, 0)
    const verdict = oracle.judge(message, isBinary, protocol)
    if (verdict.outcome === 'ok') {
      stats.accepted++
      if (verdict.decoded.kind === 'snapshot') stats.snapshots++
      if (!result.ok || !sameDecoded(result.frame, verdict.decoded)) return false
    } else if (verdict.outcome === 'stale') {
      stats.stale++
      if (result.ok || result.reason !== 'stale_frame') return false
    } else {
      stats.invalid++
      if (result.ok || !INVALID_REASONS.has(result.reason)) return false
    }
  }
  return true
}

// ---------- generators ----------

const seatArb = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constant(null) })
const protocolArb = fc.constantFrom('', 'json', 'binary')

const numberToken = fc.oneof(
  fc.constantFrom('0', '1', '-1', '1.5', '1e999', '-1e999', '-0', '1.0', '2', '7', '8', '15', '16', '23', '24', '29', '30',
    '32767', '32768', '-32767', '17366.71', '32767.9', '-0.4', '4294967295', '4294967296', '1e-7', '1e2', '0e0'),
  fc.integer({ min: -3, max: 40 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x))
)
const otherToken = fc.constantFrom('"1"', 'null', 'true', 'false', '[]', '{}', '"i"', '"ping"', '[1]', '{"p":1}', '""')
const anyToken = fc.oneof({ weight: 3, arbitrary: numberToken }, { weight: 1, arbitrary: otherToken })
const seatToken = (seat: number | null): fc.Arbitrary<string> => fc.oneof(
  { weight: 10, arbitrary: fc.constant(String(seat ?? 0)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 7 }).map(String) },
  { weight: 1, arbitrary: anyToken }
)
const frameToken = fc.oneof(
  { weight: 2, arbitrary: fc.constant('0') },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 50 }).map(String) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 120 }).map(String) },
  { weight: 1, arbitrary: anyToken }
)
const indexToken = fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 29 }).map(String) }, { weight: 1, arbitrary: anyToken })
const valueToken = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('0', '1') },
  { weight: 3, arbitrary: fc.constantFrom('32767', '17366.71', '100') },
  { weight: 1, arbitrary: anyToken }
)
const field = (key: string, token: fc.Arbitrary<string>, presence = 30): fc.Arbitrary<string | null> =>
  fc.oneof({ weight: presence, arbitrary: token.map((value) => `"${key}":${value}`) }, { weight: 1, arbitrary: fc.constant(null) })
const extraField = fc.tuple(
  fc.constantFrom('type', 'player', 'index', 'value', 'frame', 'count', 'timestamp', 'state', 'x', '__proto__', 't', 'p', 'f', 's', 'pad'),
  anyToken
).map(([key, value]) => `"${key}":${value}`)

function objectText (fields: Array<string | null>, extras: string[], space: boolean): string {
  const pairs = [...fields.filter((f): f is string => f !== null), ...extras]
  return space ? `{ ${pairs.join(' , ')} }\n` : `{${pairs.join(',')}}`
}

function jsonShape (seat: number | null): fc.Arbitrary<string> {
  const familyB = fc.tuple(
    field('t', fc.oneof({ weight: 8, arbitrary: fc.constant('"i"') }, { weight: 1, arbitrary: anyToken })),
    field('f', frameToken), field('s', fc.oneof({ weight: 4, arbitrary: fc.constant('0') }, { weight: 1, arbitrary: anyToken })),
    field('p', seatToken(seat)), field('k', indexToken), field('v', valueToken)
  )
  const familyC = fc.tuple(field('player', seatToken(seat)), field('index', indexToken), field('value', valueToken), field('frame', frameToken, 1))
  // Generation 1's default: the whole controller, 30 values, in every message
  // (mostly 0 and 1, so that whole snapshots are often valid).
  const snapshotValue = fc.oneof({ weight: 150, arbitrary: fc.constantFrom('0', '1') }, { weight: 1, arbitrary: valueToken })
  const stateToken = fc.oneof(
    { weight: 6, arbitrary: fc.constant(30) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 32 }) }
  ).chain((length) => fc.array(snapshotValue, { minLength: length, maxLength: length })).map((values) => `[${values.join(',')}]`)
  const snapshot = fc.tuple(field('player', seatToken(seat)), field('state', fc.oneof({ weight: 10, arbitrary: stateToken }, { weight: 1, arbitrary: anyToken })))
  const ping = fc.tuple(
    field('type', fc.oneof({ weight: 8, arbitrary: fc.constant('"ping"') }, { weight: 1, arbitrary: anyToken })),
    field('count', numberToken, 3), field('timestamp', numberToken, 3)
  )
  return fc.tuple(
    fc.oneof(familyB, familyC, snapshot, ping),
    fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.array(extraField, { maxLength: 3 }) }),
    fc.boolean()
  ).map(([fields, extras, space]) => objectText(fields as Array<string | null>, extras, space))
}

const u8 = fc.integer({ min: 0, max: 255 })
function compactShape (seat: number | null): fc.Arbitrary<Buffer> {
  return fc.record({
    version: fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: u8 }),
    type: fc.oneof({ weight: 12, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: u8 }),
    frame: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 50 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) }),
    player: fc.oneof({ weight: 10, arbitrary: fc.constant(seat ?? 0) }, { weight: 1, arbitrary: u8 }),
    index: fc.oneof({ weight: 10, arbitrary: fc.integer({ min: 0, max: 29 }) }, { weight: 1, arbitrary: u8 }),
    value: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 1) }, { weight: 2, arbitrary: fc.constantFrom(0x7fff, -1, 2, -0x8000) }, { weight: 1, arbitrary: fc.integer({ min: -0x8000, max: 0x7fff }) }),
    timestamp: fc.oneof(fc.double(), fc.constant(1_700_000_000_000)),
    lengthField: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
    resize: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 4 }) }),
    flip: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.tuple(fc.nat({ max: 17 }), u8) })
  }).map((m) => {
    const payload = m.type === 2 ? 12 : 8
    let b = Buffer.alloc(6 + payload)
    b[0] = 0x4e
    b[1] = 0x50
    b[2] = m.version
    b[3] = m.type
    b.writeUInt16BE(m.lengthField ?? payload, 4)
    if (m.type === 2) {
      b.writeUInt32BE(m.frame, 6)
      b.writeDoubleBE(m.timestamp, 10)
    } else {
      b.writeUInt32BE(m.frame, 6)
      b[10] = m.player
      b[11] = m.index
      b.writeInt16BE(m.value, 12)
    }
    if (m.flip !== null && m.flip[0] >= 2 && m.flip[0] < b.length) b[m.flip[0]] = m.flip[1]
    if (m.resize < 0) b = b.subarray(0, Math.max(0, b.length + m.resize))
    if (m.resize > 0) b = Buffer.concat([b, Buffer.alloc(m.resize)])
    return b
  })
}

// A valid input whose string field holds raw high bytes: sometimes UTF-8, mostly not.
function rawBytesInString (seat: number | null): fc.Arbitrary<Message> {
  return fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 6 }).map((raw) => ({
    message: Buffer.concat([Buffer.from(`{"t":"i","f":0,"s":0,"p":${seat ?? 0},"k":1,"v":1,"pad":"`), Buffer.from(raw), Buffer.from('"}')]),
    isBinary: true
  }))
}

function structured (seat: number | null): fc.Arbitrary<Message> {
  return fc.oneof(
    { weight: 1, arbitrary: rawBytesInString(seat) },
    { weight: 3, arbitrary: fc.tuple(jsonShape(seat), fc.constantFrom('binary', 'text', 'text-bytes')).map(([text, how]) => ({ message: how === 'text' ? text : Buffer.from(text, 'utf8'), isBinary: how === 'binary' })) },
    { weight: 2, arbitrary: compactShape(seat).map((message) => ({ message, isBinary: true })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ message: Buffer.from(bytes), isBinary: true })) }
  )
}

const randomMessage: fc.Arbitrary<Message> = fc.oneof(
  fc.tuple(fc.uint8Array({ maxLength: 4200 }), fc.boolean()).map(([bytes, isBinary]) => ({ message: Buffer.from(bytes), isBinary })),
  fc.tuple(fc.string({ unit: 'binary', maxLength: 200 }), fc.boolean()).map(([message, isBinary]) => ({ message, isBinary })),
  fc.tuple(fc.json({ maxDepth: 4 }), fc.boolean()).map(([text, isBinary]) => ({ message: isBinary ? Buffer.from(text) : text, isBinary }))
)

// ---------- properties ----------

t.test('no decoder throws on any bytes or string, 4 KiB and beyond included', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4200 }), fc.boolean(), fc.boolean(), (raw, isBinary, textAllowed) => {
    const bytes = Buffer.from(raw)
    for (const result of [decodeFamilyB(bytes), decodeCompact(bytes), decodeInput(bytes, isBinary, textAllowed), decodeInput(raw, isBinary, textAllowed), decodeFamilyC(bytes.toString('latin1'))]) {
      if (typeof result !== 'string' && typeof result.kind !== 'string') return false
    }
    return true
  }), { numRuns: 300 })
  fc.assert(fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), (raw) => {
    const withMagic = Buffer.from(raw)
    withMagic[0] = 0x4e
    withMagic[1] = 0x50
    return typeof decodeInput(Buffer.from(raw), true, true) === 'string' && decodeCompact(withMagic) === 'malformed'
  }), { numRuns: 50 })
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 5000 }), fc.boolean(), (text, isBinary) => {
    const result = decodeInput(text, isBinary, true)
    return typeof result === 'string' || result.kind === 'input' || result.kind === 'ping' || result.kind === 'snapshot'
  }), { numRuns: 300 })
})

t.test('random messages: the guard agrees with the oracle and never throws', async (t) => {
  fc.assert(fc.property(seatArb, protocolArb, fc.array(randomMessage, { maxLength: 12 }), agree), { numRuns: 300 })
})

t.test('structured near-valid messages: accepted exactly when every rule holds', async (t) => {
  const before = { ...stats }
  fc.assert(fc.property(
    seatArb.chain((seat) => fc.tuple(fc.constant(seat), protocolArb, fc.array(structured(seat), { minLength: 1, maxLength: 40 }))),
    ([seat, protocol, messages]) => agree(seat, protocol, messages)
  ), { numRuns: 600 })
  const accepted = stats.accepted - before.accepted
  const stale = stats.stale - before.stale
  const invalid = stats.invalid - before.invalid
  const snapshots = stats.snapshots - before.snapshots
  t.ok(accepted > 300 && snapshots > 30 && stale > 0 && invalid > 300, `the generators reach every outcome (accepted ${accepted}, of which snapshots ${snapshots}, stale ${stale}, invalid ${invalid})`)
})

t.test('frame ordering: dense frame numbers hit the window edges', async (t) => {
  const message = (seat: number) => fc.tuple(fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 45 }) }), fc.integer({ min: 0, max: 15 }))
    .map(([f, k]) => ({ message: Buffer.from(`{"t":"i","f":${f},"s":0,"p":${seat},"k":${k},"v":1}`), isBinary: true }))
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 7 }).chain((seat) => fc.tuple(fc.constant(seat), fc.array(message(seat), { minLength: 1, maxLength: 30 }))),
    ([seat, messages]) => agree(seat, '', messages)
  ), { numRuns: 500 })
})

t.test('the data-message validator never throws and never passes a broken known key', async (t) => {
  const relaySafe = (payload: unknown): boolean => {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false
    const text = JSON.stringify(payload)
    if (Buffer.byteLength(text, 'utf8') > 16 * 1024) return false
    const o = payload as Record<string, unknown>
    for (const key of ['pause', 'play', 'restart']) if (has(o, key) && typeof o[key] !== 'boolean') return false
    if (has(o, 'chat-message') && (typeof o['chat-message'] !== 'object' || o['chat-message'] === null || Array.isArray(o['chat-message']))) return false
    if (has(o, 'frameAck') && o.frameAck !== null && !(Number.isInteger(o.frameAck) && (o.frameAck as number) >= 0)) return false
    if (has(o, 'sync-control')) {
      const entries = o['sync-control']
      if (!Array.isArray(entries) || entries.length > 64) return false
      for (const entry of entries) {
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return false
        const frame = (entry as Record<string, unknown>).frame
        // null: an unnumbered frame (EmulatorJS-SFU's fallback before the guest has one).
        if (frame !== null && !(typeof frame === 'string' ? /^\d{1,10}$/.test(frame) : Number.isInteger(frame) && (frame as number) >= 0)) return false
        const input = (entry as Record<string, unknown>).connected_input
        if (input === undefined) continue
        if (!Array.isArray(input) || input.length !== 3 || !input.every((x) => typeof x === 'number')) return false
        const [player, index, value] = input as [number, number, number]
        if (!Number.isInteger(player)) return false
        if (player >= 0 && (player > 7 || !Number.isInteger(index) || index < 0 || index > 29 || valueAllowed(index, value) === null)) return false
      }
    }
    return true
  }
  const entry = fc.record({
    frame: fc.oneof(fc.nat(1000), fc.nat(1000).map(String), fc.constantFrom(-1, 1.5, 'x', null)),
    connected_input: fc.option(fc.oneof(
      fc.tuple(fc.integer({ min: -2, max: 9 }), fc.integer({ min: -1, max: 31 }), fc.oneof(fc.constantFrom(0, 1, 2, 32767, 17366.7), fc.double())),
      fc.array(fc.jsonValue(), { maxLength: 4 })
    ), { nil: undefined })
  }, { requiredKeys: ['frame'] })
  const known = fc.record({
    pause: fc.oneof(fc.boolean(), fc.jsonValue()),
    play: fc.boolean(),
    restart: fc.boolean(),
    'chat-message': fc.oneof(fc.object(), fc.jsonValue()),
    'sync-control': fc.oneof(fc.array(entry, { maxLength: 70 }), fc.jsonValue()),
    frameAck: fc.oneof(fc.nat(), fc.jsonValue()),
    type: fc.constantFrom('host-left', 'other'),
    extra: fc.jsonValue()
  }, { requiredKeys: [] })
  fc.assert(fc.property(fc.oneof(known, fc.anything(), fc.jsonValue()), (payload) => {
    const verdict = validateDataMessage(payload)
    return !verdict.ok || relaySafe(payload)
  }), { numRuns: 1000 })
})
