import t from 'tap'
import { AbuseCounter } from '../../lib/abuse.ts'
import { TokenBucket } from '../../lib/token-bucket.ts'
import { encodeCompact } from '../../plugins/datachannel-guard/codecs.ts'
import {
  InputGuard, USERID_MISMATCH, type CheckResult, type InputGuardInit,
  checkDataProducerUserid, guardConfig, isGuardedLabel
} from '../../plugins/datachannel-guard/guard.ts'

const B = (p: number, k: number, v: number, f = 0, s = 0): Buffer => Buffer.from(JSON.stringify({ t: 'i', f, s, p, k, v }))
const C = (player: number, index: number, value: number): string => JSON.stringify({ player, index, value })
const PING = Buffer.from('{"type":"ping","count":1,"timestamp":1700000000000}')

function guard (init: Partial<InputGuardInit> = {}): InputGuard {
  return new InputGuard({ seat: 1, userid: 'guest-1', protocol: '', label: 'netplay-input', now: 0, ...init })
}

function reason (result: CheckResult): string {
  return result.ok ? 'ok' : result.reason
}

t.test('family B binds the seat on p, never on s (real clients send s: 0)', async (t) => {
  const g = guard({ seat: 2 })
  t.equal(reason(g.check(B(2, 8, 1, 0, 0), true, 0)), 'ok', 'p = seat, s = 0')
  t.equal(reason(g.check(B(2, 8, 0, 0, 5), true, 0)), 'ok', 's is ignored')
  t.equal(reason(g.check(B(0, 8, 1, 0, 2), true, 0)), 'wrong_seat', 's = seat does not help when p is another player')
  t.equal(reason(g.check(B(1, 8, 1), true, 0)), 'wrong_seat')
})

t.test('family C: the sender\'s seat is written into player; text only on a protocol "json" producer', async (t) => {
  const g = guard({ seat: 2, protocol: 'json', label: 'ejs-inputs' })
  t.equal(reason(g.check(C(2, 3, 1), false, 0)), 'ok')
  // Generation 1 never learns its seat and sends its preferred player (0 by default).
  const other = g.check(C(0, 3, 1), false, 0)
  t.same(other.ok && [other.frame.player, other.frame.index, other.frame.value], [2, 3, 1], 'bound to the seat, not refused')
  t.equal(g.invalid.total, 0, 'no strike')
  const refusing = guard({ seat: 2, protocol: 'json', config: guardConfig({ familyCPlayer: 'refuse' }) })
  t.equal(reason(refusing.check(C(0, 3, 1), false, 0)), 'wrong_seat', 'familyCPlayer: "refuse"')
  t.equal(reason(guard({ seat: null, protocol: 'json' }).check(C(0, 3, 1), false, 0)), 'spectator', 'a spectator gets no seat written in')
  t.equal(reason(guard({ seat: 2 }).check(B(0, 3, 1), true, 0)), 'wrong_seat', 'family B clients know their seat: still refused')
  const binaryOnly = guard({ seat: 0, protocol: '' })
  t.equal(reason(binaryOnly.check(C(0, 3, 1), false, 0)), 'not_binary')
  t.equal(reason(binaryOnly.check(Buffer.from(C(0, 3, 1)), false, 0)), 'not_binary', 'text PPID with bytes')
  t.equal(reason(binaryOnly.check(Buffer.from(C(0, 3, 1)), true, 0)), 'ok', 'the same JSON sent as binary')
})

t.test('family C snapshots (generation 1\'s default): every input checked, bound to the seat', async (t) => {
  const g = guard({ seat: 1, protocol: 'json', label: 'ejs-inputs' })
  const state = new Array(30).fill(0)
  state[0] = 1
  state[17] = 16383.5
  const result = g.check(JSON.stringify({ player: 0, state }), false, 0)
  t.ok(result.ok)
  if (result.ok) {
    t.same([result.frame.kind, result.frame.player], ['snapshot', 1], 'player 0 (the default) bound to seat 1')
    t.equal(result.frame.state?.[17], 16383, 'analog values truncated like single inputs')
    t.equal(result.frame.state?.length, 30)
  }
  // A fresh guard each: six refusals would cut one sender off.
  const check = (message: Record<string, unknown>): string => reason(guard({ seat: 1, protocol: 'json' }).check(JSON.stringify(message), false, 0))
  const bad = (values: unknown[], extra: Record<string, unknown> = {}): string => check({ player: 1, state: values, ...extra })
  t.equal(bad([0, 2]), 'out_of_range', 'a digital input at 2')
  t.equal(bad([0, 0, '1']), 'malformed', 'numbers only')
  t.equal(bad([]), 'malformed', 'empty')
  t.equal(bad(new Array(31).fill(0)), 'malformed', 'more inputs than a host reads')
  t.equal(bad([1], { index: 3, value: 1 }), 'malformed', 'a snapshot and a single input in one message')
  t.equal(check({ state: [1] }), 'malformed', 'no player')
  t.equal(check({ player: 9, state: [1] }), 'out_of_range')
  const narrow = guard({ seat: 1, protocol: 'json', config: guardConfig({ indexRange: { min: 0, max: 15 } }) })
  const withHotkeyOff = new Array(30).fill(0)
  t.equal(reason(narrow.check(JSON.stringify({ player: 1, state: withHotkeyOff }), false, 0)), 'ok', 'inputs outside indexRange may be 0')
  withHotkeyOff[24] = 1
  t.equal(reason(narrow.check(JSON.stringify({ player: 1, state: withHotkeyOff }), false, 0)), 'out_of_range', 'and nothing else')
  t.equal(reason(guard({ seat: null, protocol: 'json' }).check(JSON.stringify({ player: 0, state: [1] }), false, 0)), 'spectator')
})

t.test('after a seat change, the previous seat is stale for seatChangeGraceMs: dropped without a strike', async (t) => {
  const g = guard({ seat: 1 })
  g.rebind(2, 1000)
  for (let i = 0; i < 50; i++) t.equal(reason(g.check(B(1, 0, 1), true, 1000 + i * 10)), 'stale_seat')
  t.equal(g.invalid.total, 0, 'fifty in-flight inputs of the old seat: no strike')
  t.notOk(g.cutOff)
  t.equal(reason(g.check(B(2, 0, 1), true, 1600)), 'ok', 'the new seat is accepted at once')
  t.equal(reason(g.check(B(3, 0, 1), true, 1600)), 'wrong_seat', 'any other seat is still wrong')
  t.equal(reason(g.check(B(1, 0, 1), true, 3001)), 'wrong_seat', 'after 2 s the old seat is wrong too')
  g.rebind(2, 4000)
  t.equal(reason(g.check(B(1, 0, 1), true, 4000)), 'wrong_seat', 'rebinding to the same seat is no change')
})

t.test('a player who just moved to spectating: inputs from its seat are stale for the grace, then spectator', async (t) => {
  const g = guard({ seat: 1 })
  g.rebind(null, 1000)
  for (let i = 0; i < 20; i++) t.equal(reason(g.check(B(1, 0, 1), true, 1000 + i * 10)), 'stale_seat')
  t.equal(g.invalid.total, 0, 'no strike: the client sent them before it heard of the move')
  t.equal(reason(g.check(B(2, 0, 1), true, 1500)), 'spectator', 'another seat is a spectator\'s input')
  t.equal(reason(g.check(B(1, 0, 1), true, 3001)), 'spectator', 'after 2 s its old seat is one too')
  t.equal(reason(g.check(PING, true, 3002)), 'ok', 'pings still pass')
})

t.test('invalid strikes are forgiven one a minute; a burst still cuts off, and a cut-off stays', async (t) => {
  const g = guard()
  const junk = Buffer.from('nope')
  for (let round = 0; round < 4; round++) {
    for (let i = 0; i < 5; i++) t.equal(reason(g.check(junk, true, round * 300_000 + i)), 'malformed')
    t.notOk(g.cutOff, `five slips in round ${round + 1}, forgiven before the next`)
  }
  t.equal(g.invalid.total, 20, 'every strike is still counted for metrics')
  t.equal(g.invalid.standing(1_200_000), 0)
  for (let i = 0; i < 5; i++) g.check(junk, true, 1_200_000)
  t.equal(g.invalid.standing(1_200_000 + 60_000), 4, 'one forgiven after a minute')
  for (let i = 0; i < 2; i++) g.check(junk, true, 1_200_000 + 60_000)
  t.ok(g.cutOff, 'six standing: cut off')
  t.equal(reason(g.check(B(1, 0, 1), true, 10_000_000)), 'cut_off', 'waiting does not undo a cut-off')
})

t.test('the accepted frame is the decoded message', async (t) => {
  const g = guard()
  const result = g.check(B(1, 16, 20000.5, 40), true, 0)
  t.ok(result.ok)
  if (result.ok) t.same(result.frame, { format: 'family-b', kind: 'input', player: 1, index: 16, value: 20000, frame: 40, seq: undefined, timestamp: undefined, slot: 0, state: undefined })
  const compact = g.check(encodeCompact({ kind: 'input', player: 1, index: 3, value: 1, frame: 41, seq: undefined, timestamp: undefined }), true, 0)
  t.ok(compact.ok && compact.frame.format === 'compact' && compact.frame.frame === 41)
})

t.test('spectators may not send inputs; pings are allowed', async (t) => {
  const g = guard({ seat: null })
  t.equal(reason(g.check(B(8, 0, 1), true, 0)), 'out_of_range', 'slot 8 is not a player')
  t.equal(reason(g.check(B(0, 0, 1), true, 0)), 'spectator')
  t.equal(reason(g.check(PING, true, 0)), 'ok')
  t.equal(g.invalid.total, 2, 'both inputs were strikes')
})

t.test('frame window: newer frames move it, 32 back still accepted, older is stale; stale never strikes', async (t) => {
  const g = guard()
  t.equal(reason(g.check(B(1, 0, 1, 100), true, 0)), 'ok')
  t.equal(reason(g.check(B(1, 0, 0, 68), true, 0)), 'ok', 'highest - 32')
  t.equal(reason(g.check(B(1, 0, 0, 67), true, 0)), 'stale_frame', 'highest - 33')
  t.equal(reason(g.check(B(1, 1, 1, 100), true, 0)), 'ok', 'another input of the same frame')
  t.equal(reason(g.check(B(1, 1, 1, 100), true, 0)), 'ok', 'an exact repeat (client retry) is forwarded by default')
  t.equal(reason(g.check(B(1, 1, 0, 90), true, 0)), 'ok', 'reordered within the window')
  t.equal(reason(g.check(B(1, 1, 0, 200), true, 0)), 'ok')
  t.equal(reason(g.check(B(1, 1, 0, 150), true, 0)), 'stale_frame')
  t.equal(g.invalid.total, 0)
  g.resetFrames()
  t.equal(reason(g.check(B(1, 1, 0, 1), true, 0)), 'ok', 'after a restart frames count from the start again')
})

t.test('live-stream rooms send f = 0 always: unnumbered, never stale', async (t) => {
  const g = guard()
  t.equal(reason(g.check(B(1, 0, 1, 500), true, 0)), 'ok')
  for (let i = 0; i < 50; i++) t.equal(reason(g.check(B(1, i % 16, i % 2, 0), true, 0)), 'ok')
  t.equal(reason(g.check(B(1, 0, 1, 0), true, 0)), 'ok', 'repeated f = 0 with the same input')
  t.equal(reason(g.check(C(1, 0, 1), true, 0)), 'ok', 'family C has no frame at all')
})

t.test('reorderWindow is configurable; 0 accepts only the newest frame or later', async (t) => {
  const g = guard({ config: guardConfig({ reorderWindow: 0 }) })
  t.equal(reason(g.check(B(1, 0, 1, 10), true, 0)), 'ok')
  t.equal(reason(g.check(B(1, 1, 1, 10), true, 0)), 'ok')
  t.equal(reason(g.check(B(1, 1, 1, 9), true, 0)), 'stale_frame')
})

t.test("duplicates: 'drop' drops an exact repeat of an index's last accepted event, not other inputs of the frame", async (t) => {
  const g = guard({ config: guardConfig({ duplicates: 'drop' }) })
  t.equal(reason(g.check(B(1, 0, 1, 10), true, 0)), 'ok')
  t.equal(reason(g.check(B(1, 0, 1, 10), true, 0)), 'duplicate')
  t.equal(reason(g.check(B(1, 1, 1, 10), true, 0)), 'ok', 'another index in the same frame')
  t.equal(reason(g.check(B(1, 0, 0, 10), true, 0)), 'ok', 'release in the same frame')
  t.equal(reason(g.check(B(1, 0, 1, 10), true, 0)), 'ok', 'press again in the same frame')
  t.equal(reason(g.check(B(1, 0, 1, 0), true, 0)), 'ok', 'unnumbered frames are never duplicates')
  t.equal(reason(g.check(B(1, 0, 1, 0), true, 0)), 'ok')
  t.equal(g.invalid.total, 0, 'duplicates never strike')
  g.resetFrames()
  t.equal(reason(g.check(B(1, 0, 1, 10), true, 0)), 'ok', 'reset forgets the last events')
})

t.test('cut off after more than 5 invalid messages; later messages are refused unread', async (t) => {
  const g = guard()
  for (let i = 0; i < 5; i++) {
    const result = g.check(Buffer.from('nope'), true, 0)
    t.same([reason(result), result.cutOff], ['malformed', false])
  }
  const sixth = g.check(B(2, 0, 1), true, 0)
  t.same([reason(sixth), sixth.cutOff], ['wrong_seat', true])
  t.ok(g.cutOff)
  const after = g.check(B(1, 0, 1), true, 0)
  t.same([reason(after), after.cutOff], ['cut_off', true])
  t.equal(g.bucket.tokens, 4000 - 6, 'a cut-off sender no longer takes tokens')
})

t.test('rate limit: bucket 4000 at 2000/s; the excess is dropped, and only floods beyond 4 times the rate strike', async (t) => {
  const g = guard()
  const send = (now: number): ReturnType<InputGuard['check']> => {
    const result = g.check(B(1, 0, 1), true, now)
    if (result.ok) g.release()
    return result
  }
  for (let i = 0; i < 4000; i++) t.equal(reason(send(0)), 'ok')
  let shed = 0
  for (let i = 0; i < 4000; i++) if (reason(send(0)) === 'rate_limited') shed++
  t.equal(shed, 4000, 'one more burst is dropped as rate_limited')
  t.equal(g.drops.total, 0, 'no strike for it')
  for (let i = 0; i < 20; i++) {
    const result = send(0)
    t.same([reason(result), result.cutOff], ['flooding', false])
  }
  t.equal(reason(send(500)), 'ok', 'refilled 1000 tokens after 500 ms')
  let result = send(500)
  while (result.ok || result.reason === 'rate_limited') result = send(500)
  t.same([reason(result), result.cutOff], ['flooding', true], 'the 21st flooding message cuts it off')
  t.equal(reason(send(10_000)), 'cut_off', 'for good, even with a full bucket')
  t.equal(g.drops.total, 21)
  t.equal(g.invalid.total, 0, 'floods are not invalid messages')
})

t.test('EmulatorJS gamepad rates: both sticks for a minute pass; 3,000/s is shed without a cut-off; 20,000/s is cut off', async (t) => {
  // One analog axis change is 4 inputs and a gamepad is polled every 10 ms:
  // a guest moving both sticks sends 1,600 inputs a second.
  const run = (perSecond: number, seconds: number): { accepted: number, refused: Record<string, number>, cutOffAtMs: number | null } => {
    const g = guard()
    let cutOffAtMs: number | null = null
    for (let i = 0; i < perSecond * seconds; i++) {
      const now = Math.floor(i * 1000 / perSecond)
      const result = g.check(B(1, 16 + (i % 4), i % 2 === 0 ? 0x7fff : 0), true, now)
      if (result.ok) g.release()
      else if (result.cutOff && cutOffAtMs === null) cutOffAtMs = now
    }
    return { accepted: g.accepted, refused: g.stats().refused, cutOffAtMs }
  }
  const sticks = run(1600, 60)
  t.same([sticks.accepted, sticks.refused, sticks.cutOffAtMs], [96_000, {}, null], 'two sticks for a minute: every input through')
  const fast = run(3000, 20)
  t.equal(fast.cutOffAtMs, null, '3,000/s (1.5 times the limit): never cut off')
  t.ok((fast.refused.rate_limited ?? 0) > 0, 'its excess is dropped')
  t.equal(fast.refused.flooding, undefined)
  const flood = run(20_000, 5)
  t.ok(flood.cutOffAtMs !== null && flood.cutOffAtMs < 1000, `20,000/s is cut off within a second (at ${String(flood.cutOffAtMs)} ms)`)
})

t.test("the rate-limit plugin's bucket and counters are used when passed in", async (t) => {
  const strikes = new Map<string, number>()
  const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 0 }, 0)
  const g = guard({ bucket, invalid: new AbuseCounter(1, strikes), drops: new AbuseCounter(1, strikes) })
  t.equal(reason(g.check(B(1, 0, 1), true, 0)), 'ok')
  t.equal(reason(g.check(Buffer.from('{}'), true, 0)), 'malformed')
  // A bucket made without a ceiling: every refusal is a flood.
  const third = g.check(B(1, 0, 1), true, 0)
  t.same([reason(third), third.cutOff], ['flooding', false])
  const fourth = g.check(B(1, 0, 1), true, 0)
  t.same([reason(fourth), fourth.cutOff], ['flooding', true], 'drop limit 1')
  t.same(Object.fromEntries(strikes), { malformed: 1, flooding: 2 }, 'strikes land in the shared tally')
  t.equal(bucket.tokens, 0)
})

t.test('pending queue: an accepted message holds a slot until release(); full queue refuses without a strike', async (t) => {
  const g = guard({ config: guardConfig({ bucket: { capacity: 1000 } }) })
  for (let i = 0; i < 128; i++) t.equal(reason(g.check(B(1, 0, i % 2), true, 0)), 'ok')
  t.equal(g.pending, 128)
  const full = g.check(B(1, 0, 1), true, 0)
  t.same([reason(full), full.cutOff], ['queue_full', false])
  t.equal(reason(g.check(B(1, 0, 1, 7), true, 0)), 'queue_full')
  t.equal(reason(g.check(B(1, 0, 1, 8), true, 0)), 'queue_full', 'a refused frame did not move the window')
  g.release()
  t.equal(reason(g.check(PING, true, 0)), 'ok', 'pings use the queue too')
  g.release(1000)
  t.equal(g.pending, 0, 'never below zero')
  t.equal(g.invalid.total + g.drops.total, 0)
})

t.test('counters by reason, per guard and aggregated through an injected tally', async (t) => {
  const tally = new Map<string, number>()
  const a = guard({ tally })
  const b = guard({ tally, seat: 2 })
  a.check(Buffer.from('x'), true, 0)
  a.check(B(2, 0, 1), true, 0)
  a.check(B(1, 0, 1), true, 0)
  b.check(B(1, 0, 1), true, 0)
  b.check(C(2, 0, 1), false, 0)
  b.check(Buffer.alloc(5000), true, 0)
  t.same(a.stats(), { accepted: 1, refused: { malformed: 1, wrong_seat: 1 }, pending: 1, cutOff: false })
  t.same(b.stats(), { accepted: 0, refused: { wrong_seat: 1, not_binary: 1, too_large: 1 }, pending: 0, cutOff: false })
  t.same(Object.fromEntries(tally), { malformed: 1, wrong_seat: 2, not_binary: 1, too_large: 1 })
})

t.test('rebind: a slot change moves the binding and resets the window', async (t) => {
  const g = guard()
  t.equal(reason(g.check(B(1, 0, 1, 1000), true, 0)), 'ok')
  g.rebind(3, 0)
  t.equal(g.seat, 3)
  t.equal(reason(g.check(B(1, 0, 1, 1001), true, 0)), 'stale_seat', 'in flight from the old seat')
  t.equal(reason(g.check(B(1, 0, 1, 1001), true, 5000)), 'wrong_seat')
  t.equal(reason(g.check(B(3, 0, 1, 5), true, 5000)), 'ok', 'window reset with the new seat')
  g.rebind(null, 5000)
  t.equal(reason(g.check(B(3, 0, 1, 6), true, 8000)), 'spectator')
})

t.test('message size cap is configurable', async (t) => {
  const g = guard({ config: guardConfig({ maxMessageBytes: 64 }) })
  t.equal(reason(g.check(B(1, 0, 1), true, 0)), 'ok')
  t.equal(reason(g.check(Buffer.from(JSON.stringify({ t: 'i', f: 0, s: 0, p: 1, k: 0, v: 1, pad: 'x'.repeat(30) })), true, 0)), 'too_large')
})

t.test('data producers: appData.userid must be the bound identity; exact client string', async (t) => {
  t.equal(USERID_MISMATCH, 'userid mismatch for this connection')
  t.equal(checkDataProducerUserid({ userid: 'guest-1' }, 'guest-1'), null)
  t.equal(checkDataProducerUserid({ userid: 'host' }, 'guest-1'), 'userid mismatch for this connection')
  t.equal(checkDataProducerUserid({ userid: 1 }, '1'), USERID_MISMATCH, 'no coercion')
  t.equal(checkDataProducerUserid({}, 'guest-1'), null, 'absent: attributed to the bound identity')
  t.equal(checkDataProducerUserid(undefined, 'guest-1'), null)
  t.equal(checkDataProducerUserid({ userid: null }, 'guest-1'), null)
  const strict = guardConfig({ requireAppDataUserid: true })
  t.equal(checkDataProducerUserid({}, 'guest-1', strict), USERID_MISMATCH)
  t.equal(checkDataProducerUserid('guest-1', 'guest-1', strict), USERID_MISMATCH)
  t.equal(checkDataProducerUserid({ userid: 'guest-1' }, 'guest-1', strict), null)
})

t.test('guarded labels', async (t) => {
  t.ok(isGuardedLabel('netplay-input'))
  t.ok(isGuardedLabel('ejs-inputs'))
  t.notOk(isGuardedLabel('chat'))
  t.ok(isGuardedLabel('pads', guardConfig({ labels: ['pads'] })))
  t.notOk(isGuardedLabel('netplay-input', guardConfig({ labels: ['pads'] })))
})

t.test('options: defaults, and invalid options name the option', async (t) => {
  const { options } = guardConfig()
  t.same(
    [options.maxMessageBytes, options.indexRange, options.analogValues, options.reorderWindow, options.bucket, options.invalidLimit, options.dropLimit, options.pendingCap, options.labels],
    [4096, { min: 0, max: 29 }, { min: 0, max: 0x7fff }, 32, { capacity: 4000, refillPerSecond: 2000 }, 5, 20, 128, ['netplay-input', 'ejs-inputs']]
  )
  t.same(options.relay, { maxBytes: 16384, allowUnknown: true, maxSyncEntries: 64, ownerOnly: ['host-left'] })
  const invalid = (input: Parameters<typeof guardConfig>[0]): string => {
    try {
      guardConfig(input)
      return 'accepted'
    } catch (err) {
      return `${(err as { code: string }).code} ${(err as Error).message}`
    }
  }
  t.match(invalid({ indexRange: { min: 10, max: 5 } }), /^FST_NETPLAY_OPTIONS_INVALID .*datachannel-guard\.indexRange/)
  t.match(invalid({ maxMessageBytes: 10 }), /^FST_NETPLAY_OPTIONS_INVALID .*datachannel-guard\.maxMessageBytes/)
  t.match(invalid({ analogValues: { max: 40_000 } }), /^FST_NETPLAY_OPTIONS_INVALID .*analogValues\.max/, 'values stay inside int16')
  t.match(invalid({ nope: 1 } as never), /unknown option/)
  const input = { bucket: { capacity: 5 } }
  guardConfig(input)
  t.same(input, { bucket: { capacity: 5 } }, "the caller's object is not mutated")
})
