// Data-channel guard benchmark: validated input messages per second on one
// core, the guard alone (no transport), for each input format. Tight loops
// over a pool of pre-encoded messages; each accepted message is released
// at once, as a plugin forwarding synchronously would. Prints figures;
// asserts nothing.
//
//   npx node bench/guard.bench.ts
//   npx node bench/guard.bench.ts --seconds 5
//
// Target: >= 50,000 validated inputs/s per format.
import { performance } from 'node:perf_hooks'
import { encodeCompact, encodeFamilyB, encodeFamilyC } from '../plugins/datachannel-guard/codecs.ts'
import { InputGuard, guardConfig } from '../plugins/datachannel-guard/guard.ts'

function flag (name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}

const SECONDS = Number(flag('seconds') ?? 2.5)
const POOL = 1024
const SEAT = 1
const TARGET = 50_000
// The limits stay out of the way: this measures validation, not refusal.
const config = guardConfig({ bucket: { capacity: 1e9, refillPerSecond: 1e9 } })

interface Case {
  name: string
  protocol: string
  isBinary: boolean
  messages: Array<Buffer | string>
  /** Family C: also re-encode each accepted message, as the SFU relay forwards it (seat written in). */
  reencode?: boolean
}

function sample (i: number): { index: number, value: number, frame: number } {
  const index = i % 24
  const value = index >= 16 ? (i * 977) % 0x8000 : i & 1
  return { index, value, frame: i + 1 }
}

function pool<T> (make: (i: number) => T): T[] {
  return Array.from({ length: POOL }, (_, i) => make(i))
}

const cases: Case[] = [
  {
    name: 'family B (binary JSON)',
    protocol: '',
    isBinary: true,
    messages: pool((i) => {
      const { index, value, frame } = sample(i)
      return encodeFamilyB({ kind: 'input', player: SEAT, index, value, frame, seq: undefined, timestamp: undefined, slot: 0 })
    })
  },
  {
    name: 'family C (text JSON)',
    protocol: 'json',
    isBinary: false,
    messages: pool((i) => {
      const { index, value } = sample(i)
      return encodeFamilyC({ player: SEAT, index, value, frame: undefined })
    })
  },
  {
    // Generation 1's default: the whole controller in every message, naming player 0, forwarded as the seat.
    name: 'family C snapshot, fwd',
    protocol: 'json',
    isBinary: false,
    reencode: true,
    messages: pool((i) => {
      const state = new Array<number>(30).fill(0)
      for (let k = 0; k < 4; k++) {
        const { index, value } = sample(i + k * 7)
        state[index] = value
      }
      return JSON.stringify({ player: 0, state })
    })
  },
  {
    name: 'compact binary',
    protocol: '',
    isBinary: true,
    messages: pool((i) => {
      const { index, value, frame } = sample(i)
      return encodeCompact({ kind: 'input', player: SEAT, index, value, frame, seq: undefined, timestamp: undefined })
    })
  }
]

interface Figure { name: string, perSecond: number, nsPerMessage: number, accepted: number, refused: number }

function run (test: Case, seconds: number): Figure {
  const guard = new InputGuard({ seat: SEAT, userid: 'bench', protocol: test.protocol, label: 'netplay-input', config })
  const { messages, isBinary, reencode = false } = test
  let forwardedBytes = 0
  let accepted = 0
  let refused = 0
  let done = 0
  const start = performance.now()
  const deadline = start + seconds * 1000
  let now = start
  while (now < deadline) {
    // 4096 messages between clock reads; frames restart with the pool, as after a game restart.
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < POOL; i++) {
        const result = guard.check(messages[i] as Buffer | string, isBinary, 0)
        if (result.ok) {
          accepted++
          if (reencode) forwardedBytes += encodeFamilyC(result.frame).length
          guard.release()
        } else {
          refused++
        }
      }
      guard.resetFrames()
    }
    done += 4 * POOL
    now = performance.now()
  }
  const elapsed = (now - start) / 1000
  if (reencode && forwardedBytes === 0) throw new Error('nothing re-encoded')
  return { name: test.name, perSecond: done / elapsed, nsPerMessage: (elapsed * 1e9) / done, accepted, refused }
}

console.log(`data-channel guard: ${SECONDS} s per format on one core, Node ${process.version}`)
for (const test of cases) run(test, 0.3) // warm-up: let the JIT settle
for (const test of cases) {
  const figure = run(test, SECONDS)
  const verdict = figure.perSecond >= TARGET ? 'meets' : 'BELOW'
  console.log(
    `  ${figure.name.padEnd(24)} ${Math.round(figure.perSecond).toLocaleString('en-US').padStart(12)} msg/s` +
    `  ${figure.nsPerMessage.toFixed(0).padStart(6)} ns/msg  (${verdict} ${TARGET.toLocaleString('en-US')}/s; refused ${figure.refused})`
  )
}
console.log('reproduce: npx node bench/guard.bench.ts [--seconds N]')
