// `datachannel-guard`: every input message validated and bound to its
// sender's seat before it reaches the host. Today it guards the Socket.IO
// `data-message` relay of P2P rooms (size, known shapes, owner-only kinds,
// seat-bound sync inputs) and hands out per-sender InputGuards; the SFU
// plugin will put one in front of each guest's input DataProducer.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { PACKAGE, netplayNamespace } from '../../lib/netplay.ts'
import { serializedBytes } from '../../lib/serialized.ts'
import { guardConfig, InputGuard, SeatHistory, validateDataMessage, type GuardConfig, type InputGuardInit, type RelayVerdict } from './guard.ts'
import type { GuardOptionsInput } from './schema.ts'

export interface DatachannelGuardApi {
  readonly config: GuardConfig
  /**
   * A guard for one input sender, with the rate-limit plugin's `data` bucket
   * and abuse counters, or those of `carry` (the sender's previous guard), so
   * a sender's limits and strikes survive a new channel.
   */
  inputGuard (init: Pick<InputGuardInit, 'seat' | 'userid' | 'protocol' | 'label'> & { carry?: InputGuard }): InputGuard
  /** Checks one relayed `data-message` from a room member (`byteLength`: its JSON size, when known). */
  checkRelay (payload: unknown, sender: { isOwner: boolean, seat: number | null, previousSeat?: number | null }, byteLength?: number): RelayVerdict
  /** Refusals by reason (inputs and relayed messages), for metrics. */
  stats (): { rejects: Record<string, number> }
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    datachannelGuard: DatachannelGuardApi
  }
}

async function datachannelGuard (app: FastifyInstance, input: GuardOptionsInput): Promise<void> {
  const config = guardConfig(input)
  const tally = new Map<string, number>()
  const { rateLimit, rooms, signaling } = app.netplay

  const checkRelay = (payload: unknown, sender: { isOwner: boolean, seat: number | null, previousSeat?: number | null }, byteLength?: number): RelayVerdict => {
    const verdict = validateDataMessage(payload, config, sender, byteLength)
    if (!verdict.ok) tally.set(`relay:${verdict.reason}`, (tally.get(`relay:${verdict.reason}`) ?? 0) + 1)
    return verdict
  }

  // Each relaying member's seat history, updated as its messages arrive.
  // Seats change under a client's feet (upstream rooms renumber when a
  // player leaves), and its inputs keep naming the old seat until it hears
  // of the change: those are dropped as stale, not held against it, for
  // seatChangeGraceMs (as the SFU input guards do).
  const seats = new WeakMap<object, SeatHistory>()
  const adoptSeat = config.options.familyCPlayer === 'seat'
  const staleSeat = (member: object, seat: number | null, now: number): number | null | undefined => {
    let history = seats.get(member)
    if (history === undefined) seats.set(member, history = new SeatHistory(seat, config.options.seatChangeGraceMs))
    history.move(seat, now)
    return history.staleSeat(now)
  }

  // Only room members relay (rooms refuses the rest with "not in room"); the
  // guard needs the member's seat and ownership, which only rooms knows.
  signaling.guard('data-message', (payload, connection) => {
    const bound = rooms.bindingOf(connection.id)
    if (bound === undefined) return null
    // The schema made it an object; rooms sends this same text if it passes.
    const byteLength = serializedBytes(payload as object)
    const { member, room } = bound
    const sender = { isOwner: room.ownerUserid === member.userid, seat: member.slot, previousSeat: staleSeat(member, member.slot, Date.now()) }
    const verdict = checkRelay(payload, sender, byteLength)
    if (verdict.ok) return null
    // Dropped, not held against the sender: inputs from a seat it had a
    // moment ago, and a generation-1 client's (it never learns its seat, and
    // sends sync-control naming its preferred player until its input
    // override is installed; familyCPlayer 'seat' trusts the seat instead).
    const quiet = verdict.reason === 'stale_seat' || (verdict.reason === 'wrong_seat' && member.style === 'sfu-gen1' && adoptSeat)
    return quiet ? { reason: verdict.reason, quiet: true } : verdict.reason
  })

  netplayNamespace(app).datachannelGuard = {
    config,
    inputGuard: ({ carry, ...init }) => new InputGuard({
      ...init,
      config,
      bucket: carry?.bucket ?? rateLimit.bucket('data'),
      invalid: carry?.invalid ?? rateLimit.abuseCounter(config.options.invalidLimit),
      drops: carry?.drops ?? rateLimit.abuseCounter(config.options.dropLimit),
      tally
    }),
    checkRelay,
    stats: () => ({ rejects: Object.fromEntries(tally) })
  }
}

export default fp(datachannelGuard, {
  fastify: '5.x',
  name: `${PACKAGE}/datachannel-guard`,
  dependencies: [`${PACKAGE}/rate-limit`, `${PACKAGE}/signaling`, `${PACKAGE}/rooms`]
})

export { USERID_MISMATCH, checkDataProducerUserid, InputGuard, validateDataMessage } from './guard.ts'
export { GuardOptions, type GuardOptionsInput } from './schema.ts'
export * from './codecs.ts'
