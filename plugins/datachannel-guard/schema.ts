import Type, { type Static } from 'typebox'

// Options of the data-channel guard: what an input message may look like,
// how fast a sender may send, and when it is cut off. Every bound is an
// integer; value ranges stay inside int16 so the compact format can always
// carry a value that the JSON formats accept.

const Range = (min: number, max: number, lo: number, hi: number, description: string) => Type.Object({
  min: Type.Integer({ minimum: lo, maximum: hi, default: min }),
  max: Type.Integer({ minimum: lo, maximum: hi, default: max })
}, { additionalProperties: false, default: {}, description })

export const GuardOptions = Type.Object({
  maxMessageBytes: Type.Integer({ minimum: 64, maximum: 262_144, default: 4096, description: 'Largest input message (bytes; text is measured as UTF-8).' }),
  playerRange: Range(0, 7, 0, 255, 'Player indices a message may name (seat binding then narrows it to one).'),
  indexRange: Range(0, 29, 0, 255, 'Input indices (EmulatorJS: 0-15 buttons, 16-23 analog half-axes, 24-29 hotkeys).'),
  analogIndices: Range(16, 23, 0, 255, 'Input indices that carry analog values; lower ones are digital, higher ones "other".'),
  digitalValues: Range(0, 1, -32768, 32767, 'Values of input indices below analogIndices.min.'),
  analogValues: Range(0, 0x7fff, -32768, 32767, 'Values of analog indices. EmulatorJS splits each axis into two half-axes of 0..0x7fff.'),
  otherValues: Range(0, 1, -32768, 32767, 'Values of input indices above analogIndices.max.'),
  fractionalAnalog: Type.Union([Type.Literal('truncate'), Type.Literal('reject')], {
    default: 'truncate',
    description: 'EmulatorJS sends 0x7fff * axis for gamepad sticks (not an integer): truncate it as the core would, or refuse it.'
  }),
  reorderWindow: Type.Integer({ minimum: 0, maximum: 65_536, default: 32, description: 'Frames below the highest seen that are still accepted (unordered channels reorder).' }),
  duplicates: Type.Union([Type.Literal('forward'), Type.Literal('drop')], {
    default: 'forward',
    description: 'An exact repeat of the last accepted event of an input index (same frame and value): forward it (clients retry on unordered channels) or drop it.'
  }),
  bucket: Type.Object({
    capacity: Type.Number({ exclusiveMinimum: 0, maximum: 1e9, default: 4000 }),
    refillPerSecond: Type.Number({ minimum: 0, maximum: 1e9, default: 2000 })
  }, { additionalProperties: false, default: {}, description: 'Per-sender token bucket (used when the rate-limit plugin does not hand one out).' }),
  invalidLimit: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 5, description: 'Invalid messages tolerated (strikes standing: the rate-limit plugin forgives one per abuse.forgiveMs); one more cuts the sender off.' }),
  dropLimit: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 20, description: 'Flooding messages (beyond the abuse ceiling, 4 times the rate limit) tolerated (strikes standing, as invalidLimit); one more cuts the sender off.' }),
  familyCPlayer: Type.Union([Type.Literal('seat'), Type.Literal('refuse')], {
    default: 'seat',
    description: 'Generation-1 clients (family C) never learn their seat and name their own preferred player: "seat" writes the sender\'s seat into the message, "refuse" drops it as wrong_seat.'
  }),
  seatChangeGraceMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 2000, description: 'After a seat change, messages still naming the previous seat are dropped without a strike (stale_seat) for this long.' }),
  pendingCap: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 128, description: 'Accepted messages of one sender awaiting forwarding.' }),
  labels: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
    default: ['netplay-input', 'ejs-inputs'],
    maxItems: 32,
    description: 'Data-producer labels that carry inputs and go through the guard.'
  }),
  requireAppDataUserid: Type.Boolean({ default: false, description: 'Refuse data producers whose appData carries no userid (clients seen so far always send it).' }),
  relay: Type.Object({
    maxBytes: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16 * 1024, description: 'Largest relayed data-message (JSON bytes).' }),
    allowUnknown: Type.Boolean({ default: true, description: 'Relay data-message keys and shapes this project does not know (clients add fields).' }),
    maxSyncEntries: Type.Integer({ minimum: 1, maximum: 10_000, default: 64, description: 'Entries of one sync-control array.' }),
    ownerOnly: Type.Array(Type.Union([
      Type.Literal('pause'), Type.Literal('play'), Type.Literal('restart'), Type.Literal('host-left'), Type.Literal('sync-control')
    ]), { default: ['host-left'], uniqueItems: true, description: 'data-message kinds only the room owner may send (checked when the caller says who the owner is).' })
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false })

export type GuardOptions = Static<typeof GuardOptions>

/** What a caller may pass: every field optional, nested objects partial. */
export type GuardOptionsInput = Partial<Omit<GuardOptions, 'playerRange' | 'indexRange' | 'analogIndices' | 'digitalValues' | 'analogValues' | 'otherValues' | 'bucket' | 'relay'>> & {
  playerRange?: Partial<GuardOptions['playerRange']>
  indexRange?: Partial<GuardOptions['indexRange']>
  analogIndices?: Partial<GuardOptions['analogIndices']>
  digitalValues?: Partial<GuardOptions['digitalValues']>
  analogValues?: Partial<GuardOptions['analogValues']>
  otherValues?: Partial<GuardOptions['otherValues']>
  bucket?: Partial<GuardOptions['bucket']>
  relay?: Partial<GuardOptions['relay']>
}
