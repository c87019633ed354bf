import t from 'tap'
import {
  COMPACT_HEADER_BYTES, DEFAULT_INPUT_RULES, type InputFrame,
  decodeCompact, decodeFamilyB, decodeFamilyC, decodeInput, encodeCompact, encodeFamilyB, encodeFamilyC, inputRules
} from '../../plugins/datachannel-guard/codecs.ts'
import { guardConfig } from '../../plugins/datachannel-guard/guard.ts'

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')

function input (player: number, index: number, value: number, frame: number | undefined): Pick<InputFrame, 'kind' | 'player' | 'index' | 'value' | 'frame' | 'seq' | 'timestamp' | 'slot'> {
  return { kind: 'input', player, index, value, frame, seq: undefined, timestamp: undefined, slot: undefined }
}

function frameOf (result: InputFrame | string): InputFrame {
  if (typeof result === 'string') throw new Error(`expected a frame, got ${result}`)
  return result
}

t.test('family B: the real client message decodes; p is the player, s is carried but not trusted', async (t) => {
  const frame = frameOf(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":8,"v":1}')))
  t.same(frame, { format: 'family-b', kind: 'input', player: 1, index: 8, value: 1, frame: 0, seq: undefined, timestamp: undefined, slot: 0 })
  t.equal(frameOf(decodeFamilyB(bytes('{"t":"i","f":120,"s":7,"p":2,"k":3,"v":0}'))).player, 2, 's: 7 does not change the player')
})

t.test('family B: round trips through encodeFamilyB', async (t) => {
  for (const sample of [input(1, 0, 1, 0), input(3, 16, 0x7fff, 4_294_967_295), input(0, 29, 0, 12)]) {
    const decoded = frameOf(decodeFamilyB(encodeFamilyB(sample)))
    t.same([decoded.player, decoded.index, decoded.value, decoded.frame, decoded.slot], [sample.player, sample.index, sample.value, sample.frame, 0])
  }
  const ping = { kind: 'ping' as const, player: -1, index: -1, value: 0, frame: undefined, seq: 41, timestamp: 1_700_000_000_123, slot: undefined }
  t.same(frameOf(decodeFamilyB(encodeFamilyB(ping))), { format: 'family-b', kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: 41, timestamp: 1_700_000_000_123, slot: undefined })
  t.equal(encodeFamilyB(input(1, 2, 1, undefined)).toString(), '{"t":"i","f":0,"s":0,"p":1,"k":2,"v":1}', 'unnumbered encodes as f: 0, as the client does')
})

t.test('family B pings: count and timestamp optional, numbers when present', async (t) => {
  t.equal(frameOf(decodeFamilyB(bytes('{"type":"ping"}'))).kind, 'ping')
  t.equal(frameOf(decodeFamilyB(bytes('{"type":"ping","count":3,"timestamp":5,"extra":[1,2]}'))).seq, 3)
  t.equal(decodeFamilyB(bytes('{"type":"ping","count":"3"}')), 'malformed')
  t.equal(decodeFamilyB(bytes('{"type":"ping","timestamp":null}')), 'malformed')
  t.equal(decodeFamilyB(bytes('{"type":"pong"}')), 'malformed', 'unknown message types')
  t.equal(decodeFamilyB(bytes('{"type":"ping","p":1}')), 'malformed', 'a ping carrying input fields is ambiguous')
  t.equal(decodeFamilyB(bytes('{"type":"ping","player":0,"index":0,"value":1}')), 'malformed', 'a family C host would act on it')
})

t.test('family B rejections', async (t) => {
  const cases: Array<[string, string]> = [
    ['[]', 'malformed'],
    ['1', 'malformed'],
    ['null', 'malformed'],
    ['"i"', 'malformed'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":8', 'malformed'],
    ['{"t":"x","f":0,"s":0,"p":1,"k":8,"v":1}', 'malformed'],
    ['{"t":"i","f":0,"p":1,"k":8,"v":1}', 'malformed'],
    ['{"t":"i","f":0,"s":"0","p":1,"k":8,"v":1}', 'malformed'],
    ['{"t":"i","f":0,"s":0,"p":"1","k":8,"v":1}', 'malformed'],
    ['{"t":"i","s":0,"p":1,"k":8,"v":1}', 'malformed'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":8,"v":true}', 'malformed'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":8,"v":1,"player":0}', 'malformed'],
    ['{"t":"i","f":0,"s":0,"p":1.5,"k":8,"v":1}', 'out_of_range'],
    ['{"t":"i","f":-1,"s":0,"p":1,"k":8,"v":1}', 'out_of_range'],
    ['{"t":"i","f":4294967296,"s":0,"p":1,"k":8,"v":1}', 'out_of_range'],
    ['{"t":"i","f":1.5,"s":0,"p":1,"k":8,"v":1}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":8,"k":8,"v":1}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":-1,"k":8,"v":1}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":30,"v":1}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":8,"v":2}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":8,"v":0.5}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":16,"v":32768}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":16,"v":-1}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":16,"v":1e999}', 'out_of_range'],
    ['{"t":"i","f":0,"s":0,"p":1,"k":24,"v":2}', 'out_of_range']
  ]
  for (const [text, reason] of cases) t.equal(decodeFamilyB(bytes(text)), reason, text)
  t.equal(decodeFamilyB(Buffer.from([0x7b, 0xff, 0x7d])), 'malformed', 'invalid UTF-8')
  t.equal(decodeFamilyB(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('{"t":"i","f":0,"s":0,"p":1,"k":8,"v":1}')])), 'malformed', 'a BOM is not JSON')
  t.equal(decodeFamilyB(Buffer.alloc(4097, 0x20)), 'too_large')
})

t.test('family B tolerates extra keys and reads duplicate keys as JSON.parse does (last wins, like the host)', async (t) => {
  t.equal(frameOf(decodeFamilyB(bytes('{"t":"i","f":9,"s":0,"p":1,"k":8,"v":1,"x":{"y":[1,2,3]},"__proto__":{"p":0}}'))).player, 1)
  t.equal(frameOf(decodeFamilyB(bytes('{"t":"i","f":9,"s":0,"p":0,"p":1,"k":8,"v":1}'))).player, 1)
})

t.test('analog values: fractional (0x7fff * axis) truncated by default, refused when configured; ranges configurable', async (t) => {
  t.equal(frameOf(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":16,"v":17366.71}'))).value, 17366)
  t.equal(frameOf(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":17,"v":32767.9}'))).value, 32767)
  t.ok(Object.is(frameOf(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":17,"v":-0.4}'))).value, 0), '-0.4 truncates to +0')
  const strict = guardConfig({ fractionalAnalog: 'reject' }).rules
  t.equal(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":16,"v":17366.71}'), strict), 'out_of_range')
  const signed = guardConfig({ analogValues: { min: -0x7fff }, indexRange: { max: 23 } }).rules
  t.equal(frameOf(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":16,"v":-32767}'), signed)).value, -32767)
  t.equal(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":24,"v":1}'), signed), 'out_of_range', 'indexRange narrowed to 0-23')
  const hotkeys = guardConfig({ otherValues: { min: 0, max: 0 } }).rules
  t.equal(decodeFamilyB(bytes('{"t":"i","f":0,"s":0,"p":1,"k":27,"v":1}'), hotkeys), 'out_of_range', 'hotkey presses refused when otherValues is 0..0')
})

t.test('family C: text { player, index, value }, optional frame; round trips', async (t) => {
  t.same(frameOf(decodeFamilyC('{"player":2,"index":5,"value":1}')), { format: 'family-c', kind: 'input', player: 2, index: 5, value: 1, frame: undefined, seq: undefined, timestamp: undefined, slot: undefined })
  for (const sample of [input(0, 0, 0, undefined), input(7, 23, 0x7fff, undefined), input(1, 3, 1, 99)]) {
    const decoded = frameOf(decodeFamilyC(encodeFamilyC(sample)))
    t.same([decoded.player, decoded.index, decoded.value, decoded.frame], [sample.player, sample.index, sample.value, sample.frame])
  }
  const cases: Array<[string, string]> = [
    ['{"player":2,"index":5}', 'malformed'],
    ['{"player":"2","index":5,"value":1}', 'malformed'],
    ['{"player":2,"index":5,"value":1,"frame":"3"}', 'malformed'],
    ['{"player":2.5,"index":5,"value":1}', 'out_of_range'],
    ['{"player":2,"index":5,"value":1,"frame":-3}', 'out_of_range'],
    ['{"player":2,"index":31,"value":1}', 'out_of_range'],
    ['not json', 'malformed']
  ]
  for (const [text, reason] of cases) t.equal(decodeFamilyC(text), reason, text)
  t.equal(decodeFamilyC('{"player":2,"index":5,"value":1,"pad":"' + 'é'.repeat(2100) + '"}'), 'too_large', 'measured in UTF-8 bytes, not characters')
})

t.test('compact: round trips for inputs and pings, exact sizes', async (t) => {
  const samples = [input(0, 0, 0, 0), input(1, 16, 0x7fff, 1), input(7, 29, 1, 0xffff_ffff), input(3, 8, 1, 123_456)]
  for (const sample of samples) {
    const encoded = encodeCompact(sample)
    t.equal(encoded.length, 14)
    t.same(frameOf(decodeCompact(encoded)), { format: 'compact', kind: 'input', player: sample.player, index: sample.index, value: sample.value, frame: sample.frame, seq: undefined, timestamp: undefined, slot: undefined })
  }
  const ping = { kind: 'ping' as const, player: -1, index: -1, value: 0, frame: undefined, seq: 0xffff_fffe, timestamp: 1_700_000_000_123.5 }
  const encoded = encodeCompact(ping)
  t.equal(encoded.length, 18)
  t.same(frameOf(decodeCompact(encoded)), { format: 'compact', kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: 0xffff_fffe, timestamp: 1_700_000_000_123.5, slot: undefined })
  t.same([...encodeCompact(input(1, 17, 12345, 77))], [0x4e, 0x50, 1, 1, 0, 8, 0, 0, 0, 77, 1, 17, 0x30, 0x39], 'the documented layout')
  const signed = guardConfig({ analogValues: { min: -0x8000 } }).rules
  t.equal(frameOf(decodeCompact(encodeCompact(input(1, 18, -0x8000, 5)), signed)).value, -0x8000, 'i16 carries negative values')
})

t.test('compact rejections', async (t) => {
  const good = encodeCompact(input(1, 8, 1, 10))
  const patch = (at: number, value: number): Buffer => {
    const copy = Buffer.from(good)
    copy[at] = value
    return copy
  }
  t.equal(decodeCompact(good.subarray(0, 13)), 'malformed', 'truncated')
  t.equal(decodeCompact(Buffer.concat([good, Buffer.from([0])])), 'malformed', 'trailing byte')
  t.equal(decodeCompact(good.subarray(0, COMPACT_HEADER_BYTES - 1)), 'malformed', 'shorter than the header')
  t.equal(decodeCompact(patch(0, 0x4f)), 'malformed', 'magic')
  t.equal(decodeCompact(patch(2, 2)), 'malformed', 'version 2')
  t.equal(decodeCompact(patch(3, 9)), 'malformed', 'unknown type')
  t.equal(decodeCompact(patch(3, 2)), 'malformed', 'ping type with an input payload length')
  t.equal(decodeCompact(patch(5, 9)), 'malformed', 'length field disagrees')
  t.equal(decodeCompact(patch(11, 30)), 'out_of_range', 'index 30')
  t.equal(decodeCompact(patch(10, 8)), 'out_of_range', 'player 8')
  t.equal(decodeCompact(patch(13, 2)), 'out_of_range', 'digital value 2')
  const negative = encodeCompact(input(1, 16, -1, 10))
  t.equal(decodeCompact(negative), 'out_of_range', 'negative analog by default')
  const nanPing = encodeCompact({ kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: 1, timestamp: 1 })
  nanPing.writeDoubleBE(Number.NaN, 10)
  t.equal(decodeCompact(nanPing), 'malformed', 'NaN timestamp')
  const huge = Buffer.alloc(5000)
  huge.set(good)
  t.equal(decodeCompact(huge), 'too_large')
})

t.test('encodeCompact refuses what the format cannot carry', async (t) => {
  t.throws(() => encodeCompact(input(256, 0, 0, 0)), RangeError)
  t.throws(() => encodeCompact(input(0, 300, 0, 0)), RangeError)
  t.throws(() => encodeCompact(input(0, 0, 40_000, 0)), RangeError)
  t.throws(() => encodeCompact(input(0, 0, 0, -1)), RangeError)
  t.throws(() => encodeCompact({ kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: 1.5, timestamp: 0 }), RangeError)
  t.throws(() => encodeCompact({ kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: 1, timestamp: Number.POSITIVE_INFINITY }), RangeError)
  t.equal(encodeCompact({ kind: 'ping', player: -1, index: -1, value: 0, frame: undefined, seq: undefined, timestamp: undefined }).length, 18, 'absent ping fields encode as 0')
})

t.test('decodeInput: the binary rule and dispatch', async (t) => {
  const b = bytes('{"t":"i","f":0,"s":0,"p":1,"k":8,"v":1}')
  const c = '{"player":1,"index":8,"value":1}'
  t.equal(frameOf(decodeInput(b, true, false)).format, 'family-b')
  t.equal(decodeInput(b, false, false), 'not_binary', 'text PPID on a binary-only channel')
  t.equal(decodeInput(c, false, false), 'not_binary')
  t.equal(frameOf(decodeInput(c, false, true)).format, 'family-c', 'protocol json allows text')
  t.equal(frameOf(decodeInput(bytes(c), false, true)).format, 'family-c', 'text may arrive as UTF-8 bytes')
  t.equal(frameOf(decodeInput(b, false, true)).format, 'family-b', 'JSON is read by shape')
  t.equal(frameOf(decodeInput(encodeCompact(input(1, 8, 1, 3)), true, false)).format, 'compact')
  t.equal(decodeInput(encodeCompact(input(1, 8, 1, 3)).toString('latin1'), false, true), 'malformed', 'compact is binary only')
  t.equal(decodeInput(new Uint8Array(b), true, false, DEFAULT_INPUT_RULES) !== 'malformed', true, 'plain Uint8Array works too')
  t.equal(decodeInput('x'.repeat(4097), false, true), 'too_large', 'size before the binary rule for text')
  t.equal(decodeInput(Buffer.alloc(4097), false, false), 'too_large')
  t.equal(decodeInput(Buffer.alloc(4096, 0x20), true, false), 'malformed', '4096 bytes is within the cap')
})

t.test('JSON nesting is bounded by the size cap and never throws', async (t) => {
  t.equal(decodeFamilyB(bytes('['.repeat(4096))), 'malformed')
  t.equal(decodeFamilyB(bytes('{"a":'.repeat(600) + '1' + '}'.repeat(600))), 'malformed', 'deep object without input fields')
  const rules = inputRules({ ...guardConfig().options, maxMessageBytes: 262_144 })
  t.equal(decodeFamilyC('['.repeat(200_000) + ']'.repeat(200_000).slice(0, 62_000), rules), 'malformed')
  t.equal(decodeFamilyC('['.repeat(131_072) + ']'.repeat(131_072), rules), 'malformed', 'deeply nested but valid JSON')
})

t.test('no message may carry `state`, the snapshot a generation-1 host applies as is', async (t) => {
  // EmulatorJS-SFU generation 1's host does `if (Array.isArray(data.state))`
  // and applies every entry to `data.player`, player 0 when it is missing:
  // passed on, `state` would let any seated guest press player 1's buttons.
  const state = '"state":[1,1,1,1,0,0,0,0,0,0,0,0]'
  t.equal(decodeFamilyB(bytes(`{"type":"ping","count":1,"timestamp":2,${state}}`)), 'malformed', 'in a ping')
  t.equal(decodeFamilyB(bytes(`{"t":"i","f":1,"s":0,"p":1,"k":3,"v":1,${state}}`)), 'malformed', 'in a family B input')
  t.equal(decodeFamilyC(`{"player":1,"index":3,"value":1,${state}}`), 'malformed', 'in a family C input')
  t.not(decodeFamilyB(bytes('{"t":"i","f":1,"s":0,"p":1,"k":3,"v":1,"note":"x"}')), 'malformed', 'other extra keys are still tolerated')
})
