// Abuse counters: strikes against one connection or sender, by reason.
// Crossing the limit means "cut it off". The rate-limit plugin hands them
// out so signaling and the data-channel guard count the same way and the
// totals by reason land in one place for metrics.
//
// Strikes are forgiven over time: with `forgiveMs`, one strike is taken back
// per `forgiveMs` without a new one, so a player whose client misbehaves now
// and then over a long game is not cut off at the sixth slip of the evening,
// while a burst still crosses the limit at once. Once crossed, the counter
// stays exceeded: a sender cut off for abuse is not let back in by waiting.

/** The default of `abuse.forgiveMs`: one strike forgiven per minute without one. */
export const DEFAULT_FORGIVE_MS = 60_000

/**
 * The default of `abuse.ceiling`: a connection over a limit has the excess
 * dropped, and only what goes beyond four times the limit is a strike.
 * Real clients overshoot in bursts (an EmulatorJS guest moving an analog
 * stick sends 800 inputs a second); a flood goes far beyond.
 */
export const DEFAULT_ABUSE_CEILING = 4

export class AbuseCounter {
  readonly limit: number
  /** One strike forgiven per this many milliseconds without a strike; 0 never forgives. */
  readonly forgiveMs: number
  /** Every strike ever recorded, by reason (forgiven ones included). */
  readonly byReason = new Map<string, number>()
  /** Every strike ever recorded (forgiven ones included). */
  total = 0
  #level = 0
  // When the oldest unforgiven strike started counting towards forgiveness.
  #since = 0
  #exceeded = false
  readonly #tally: Map<string, number> | undefined

  constructor (limit: number, tally?: Map<string, number>, forgiveMs = 0) {
    this.limit = limit
    this.forgiveMs = forgiveMs
    this.#tally = tally
  }

  /** Records one strike; true once the strikes standing exceed the limit (and from then on). */
  strike (reason: string, now = Date.now()): boolean {
    this.total++
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1)
    if (this.#tally !== undefined) this.#tally.set(reason, (this.#tally.get(reason) ?? 0) + 1)
    this.#forgive(now)
    if (this.#level === 0) this.#since = now
    if (++this.#level > this.limit) this.#exceeded = true
    return this.#exceeded
  }

  /** Strikes not yet forgiven. */
  standing (now = Date.now()): number {
    this.#forgive(now)
    return this.#level
  }

  get exceeded (): boolean {
    return this.#exceeded
  }

  #forgive (now: number): void {
    if (this.forgiveMs <= 0 || this.#level === 0 || this.#exceeded) return
    const forgiven = Math.floor((now - this.#since) / this.forgiveMs)
    if (forgiven <= 0) return
    this.#level = Math.max(0, this.#level - forgiven)
    this.#since += forgiven * this.forgiveMs
  }
}
