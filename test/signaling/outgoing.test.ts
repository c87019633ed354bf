// An event encoded once for several recipients is byte for byte what
// emitting it to each would send, on both transports.
import t from 'tap'
import * as ws from 'ws'
import { Encoder } from 'socket.io-parser'
import { OutgoingEvent, textFrame, textFrameOf } from '../../plugins/signaling/outgoing.ts'

// ws's own framing (what ws.send writes), untyped in @types/ws.
const { Sender } = ws as unknown as { Sender: { frame: (data: Buffer, options: Record<string, unknown>) => Buffer[] } }

const SAMPLES: unknown[] = [
  { 'sync-control': [{ frame: 1, connected_input: [0, 4, 1] }] },
  { text: 'é ✓ \u2028 "quoted" \\ back', n: 1e21, f: 0.1, neg: -0, nested: { a: [null, true, false] } },
  [1, 'two', { three: 3 }],
  'plain string',
  42,
  null,
  undefined,
  { dropped: undefined, fn: () => 1, kept: 1 }
]

t.test('plain WebSocket frame carries JSON.stringify({ event, data })', async (t) => {
  for (const data of SAMPLES) {
    const message = new OutgoingEvent('data-message', data)
    t.ok(message.wsWire.equals(textFrameOf(JSON.stringify({ event: 'data-message', data }))), 'the frame of JSON.stringify({ event, data })')
    t.equal(message.json, JSON.stringify(data))
  }
  const given = new OutgoingEvent('e', { a: 1 }, '{"a":1}')
  t.ok(given.wsWire.equals(textFrameOf('{"event":"e","data":{"a":1}}')), 'a JSON given by the caller is used as is')
})

t.test('Socket.IO packets equal what socket.emit encodes, per namespace', async (t) => {
  const encoder = new Encoder()
  for (const data of SAMPLES) {
    const message = new OutgoingEvent('users-updated', data)
    for (const nsp of ['/', '/netplay', '/']) {
      const encoded = message.socketIo(nsp, encoder)
      t.same(encoded.packets, encoder.encode({ type: 2, data: ['users-updated', data], nsp }))
      t.equal(encoded.opts.preEncoded, true)
      const frame = encoded.opts.wsPreEncodedFrame
      t.ok(frame !== undefined)
      t.same(Buffer.concat(frame ?? []), Buffer.concat(Sender.frame(Buffer.from(`4${String(encoded.packets[0])}`), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true })))
    }
  }
  const binary = new OutgoingEvent('data-message', { blob: Buffer.from([1, 2, 3]) })
  const encoded = binary.socketIo('/', encoder)
  t.equal(encoded.packets.length, 2, 'binary payloads keep their attachment')
  t.equal(encoded.opts.wsPreEncodedFrame, undefined, 'and are not pre-framed')
})

t.test('text frame headers for every length encoding', async (t) => {
  for (const length of [0, 125, 126, 65_535, 65_536, 70_000]) {
    const data = Buffer.alloc(length, 0x61)
    const ours = Buffer.concat(textFrame(data))
    const theirs = Buffer.concat(Sender.frame(data, { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true }))
    t.ok(ours.equals(theirs), `${length} bytes`)
  }
})

t.test('a whole frame from text, multi-byte UTF-8 included, is the frame ws would send', async (t) => {
  for (const text of ['', 'é'.repeat(62), 'a'.repeat(125), '€'.repeat(42), 'ü'.repeat(40_000), 'x'.repeat(70_000)]) {
    const theirs = Buffer.concat(Sender.frame(Buffer.from(text), { readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true }))
    t.ok(textFrameOf(text).equals(theirs), `${Buffer.byteLength(text)} bytes`)
  }
  const message = new OutgoingEvent('users-updated', { ü: { socketId: 'x' } })
  t.ok(message.wsWire.equals(textFrameOf(JSON.stringify({ event: 'users-updated', data: { ü: { socketId: 'x' } } }))), 'a push with multi-byte text')
})
