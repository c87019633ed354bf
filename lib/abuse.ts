// Abuse counters: strikes against one connection or sender, by reason.
// Crossing the limit means "cut it off". The rate-limit plugin hands them
// out so signaling and the data-channel guard count the same way and the
// totals by reason land in one place for metrics.

export class AbuseCounter {
  readonly limit: number
  readonly byReason = new Map<string, number>()
  total = 0
  readonly #tally: Map<string, number> | undefined

  constructor (limit: number, tally?: Map<string, number>) {
    this.limit = limit
    this.#tally = tally
  }

  /** Records one strike; true once the total exceeds the limit. */
  strike (reason: string): boolean {
    this.total++
    this.byReason.set(reason, (this.byReason.get(reason) ?? 0) + 1)
    if (this.#tally !== undefined) this.#tally.set(reason, (this.#tally.get(reason) ?? 0) + 1)
    return this.total > this.limit
  }

  get exceeded (): boolean {
    return this.total > this.limit
  }
}
