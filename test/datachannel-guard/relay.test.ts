import t from 'tap'
import { guardConfig, validateDataMessage } from '../../plugins/datachannel-guard/guard.ts'

const verdict = (payload: unknown, ...rest: unknown[]): string => {
  const result = validateDataMessage(payload, ...(rest as [never, never, never]))
  return result.ok ? `ok:${result.kind}` : result.reason
}

t.test('the known shapes of families A and B pass with their kind', async (t) => {
  t.equal(verdict({ pause: true }), 'ok:pause')
  t.equal(verdict({ play: true }), 'ok:play')
  t.equal(verdict({ restart: true }), 'ok:restart')
  t.equal(verdict({ 'chat-message': { name: 'Ann', message: 'hi' } }), 'ok:chat-message')
  t.equal(verdict({ 'sync-control': [{ frame: 120, connected_input: [1, 8, 1] }, { frame: '121', connected_input: [1, 16, 17366.7] }] }), 'ok:sync-control')
  t.equal(verdict({ 'sync-control': [{ frame: 5, connected_input: [-1, 0, 0] }] }), 'ok:sync-control', 'player -1 is the "no input" marker hosts skip')
  t.equal(verdict({ 'sync-control': [{ frame: 5 }] }), 'ok:sync-control')
  t.equal(verdict({ frameAck: 300 }), 'ok:frameAck')
  t.equal(verdict({ type: 'host-left' }), 'ok:host-left')
})

t.test('known keys with the wrong shape are malformed or out of range', async (t) => {
  t.equal(verdict({ pause: 'yes' }), 'malformed')
  t.equal(verdict({ 'chat-message': 'hi' }), 'malformed')
  t.equal(verdict({ 'chat-message': ['hi'] }), 'malformed')
  t.equal(verdict({ frameAck: '3' }), 'malformed')
  t.equal(verdict({ frameAck: -1 }), 'out_of_range')
  t.equal(verdict({ frameAck: 1.5 }), 'out_of_range')
  t.equal(verdict({ 'sync-control': {} }), 'malformed')
  t.equal(verdict({ 'sync-control': [null] }), 'malformed')
  t.equal(verdict({ 'sync-control': [{ frame: 'soon' }] }), 'malformed')
  t.equal(verdict({ 'sync-control': [{ frame: -3 }] }), 'out_of_range')
  t.equal(verdict({ 'sync-control': [{ frame: 1, connected_input: [1, 8] }] }), 'malformed')
  t.equal(verdict({ 'sync-control': [{ frame: 1, connected_input: [1, 8, '1'] }] }), 'malformed')
  t.equal(verdict({ 'sync-control': [{ frame: 1, connected_input: [1, 40, 1] }] }), 'out_of_range')
  t.equal(verdict({ 'sync-control': [{ frame: 1, connected_input: [1, 8, 7] }] }), 'out_of_range')
  t.equal(verdict({ 'sync-control': [{ frame: 1, connected_input: [1.5, 8, 1] }] }), 'out_of_range')
  t.equal(verdict({ 'sync-control': [{ frame: 1, connected_input: [9, 8, 1] }] }), 'out_of_range')
  t.equal(verdict({ 'sync-control': Array.from({ length: 65 }, (_, i) => ({ frame: i })) }), 'out_of_range', 'more than maxSyncEntries')
  t.equal(verdict({ pause: true, frameAck: 'x' }), 'malformed', 'every known key is checked')
})

t.test('non-object payloads are malformed', async (t) => {
  for (const payload of [null, undefined, 1, 'pause', [{ pause: true }], true]) t.equal(verdict(payload), 'malformed', String(payload))
})

t.test('size cap: measured, or taken from the transport', async (t) => {
  t.equal(verdict({ 'chat-message': { message: 'x'.repeat(17_000) } }), 'too_large')
  t.equal(verdict({ pause: true }, undefined, {}, 20_000), 'too_large', 'byteLength given by the caller')
  t.equal(verdict({ 'chat-message': { message: 'x'.repeat(3000) } }, guardConfig({ relay: { maxBytes: 2048 } })), 'too_large')
  const cyclic: Record<string, unknown> = { pause: true }
  cyclic.self = cyclic
  t.equal(verdict(cyclic), 'too_large', 'an unserializable payload never passes')
})

t.test('unknown keys and shapes: relayed by default, refused when allowUnknown is false', async (t) => {
  t.equal(verdict({ ready: true }), 'ok:unknown')
  t.equal(verdict({ type: 'something-else' }), 'ok:unknown')
  t.equal(verdict({ pause: true, shortPause: 'p1' }), 'ok:pause')
  const strict = guardConfig({ relay: { allowUnknown: false } })
  t.equal(verdict({ ready: true }, strict), 'unknown_shape')
  t.equal(verdict({ pause: true, shortPause: 'p1' }, strict), 'unknown_shape')
  t.equal(verdict({ pause: true }, strict), 'ok:pause')
  t.equal(verdict({}, strict), 'ok:unknown', 'an empty object has no unknown key')
})

t.test('owner-only kinds: host-left by default, configurable; checked only when the caller says', async (t) => {
  t.equal(verdict({ type: 'host-left' }, undefined, { isOwner: false }), 'not_owner')
  t.equal(verdict({ type: 'host-left' }, undefined, { isOwner: true }), 'ok:host-left')
  t.equal(verdict({ type: 'host-left' }, undefined, {}), 'ok:host-left', 'unknown ownership: not enforced')
  t.equal(verdict({ pause: true }, undefined, { isOwner: false }), 'ok:pause')
  const config = guardConfig({ relay: { ownerOnly: ['pause', 'play', 'restart', 'host-left'] } })
  t.equal(verdict({ pause: true }, config, { isOwner: false }), 'not_owner')
  t.equal(verdict({ restart: true }, config, { isOwner: true }), 'ok:restart')
})

t.test('sync-control seat binding: a guest may send only its own inputs; the owner relays everyone', async (t) => {
  const message = { 'sync-control': [{ frame: 10, connected_input: [2, 8, 1] }] }
  t.equal(verdict(message, undefined, { isOwner: false, seat: 2 }), 'ok:sync-control')
  t.equal(verdict(message, undefined, { isOwner: false, seat: 1 }), 'wrong_seat')
  t.equal(verdict(message, undefined, { isOwner: false, seat: null }), 'spectator')
  t.equal(verdict(message, undefined, { isOwner: true, seat: 0 }), 'ok:sync-control')
  t.equal(verdict({ 'sync-control': [{ frame: 10, connected_input: [-1, 0, 0] }] }, undefined, { isOwner: false, seat: null }), 'ok:sync-control')
})

t.test('an EmulatorJS-SFU guest\'s fallback inputs before it has a frame: null frame and frameAck pass', async (t) => {
  // InputSync sends frame: currentFrame + frameDelay, and a guest never sets
  // currentFrame (only the host does), so the Socket.IO fallback carries
  // frame: null and its acks parseInt(null) (NaN, sent as null).
  t.equal(verdict({ 'sync-control': [{ frame: null, connected_input: [1, 4, 1] }] }, undefined, { isOwner: false, seat: 1 }), 'ok:sync-control')
  t.equal(verdict({ frameAck: null }), 'ok:frameAck')
  t.equal(verdict({ 'sync-control': [{ frame: null, connected_input: [2, 4, 1] }] }, undefined, { isOwner: false, seat: 1 }), 'wrong_seat', 'the seat is still checked')
  t.equal(verdict({ 'sync-control': [{ frame: {}, connected_input: [1, 4, 1] }] }), 'malformed', 'other non-numbers are not')
})
