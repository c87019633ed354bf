// Work held until the event loop's current I/O phase ends (one per app).
import type { FastifyBaseLogger } from 'fastify'

/** Something corked now and uncorked when the phase ends (a WebSocket connection's TCP socket). */
export interface Held { uncork (): void }

/**
 * Replies and pushes leave in as few writes as the I/O phase allows. A
 * WebSocket connection corks its TCP socket at its first frame of the phase
 * and is held here; when the phase ends (one setImmediate for the whole
 * app), the deferred tasks run first (rooms' coalesced users-updated), then
 * every held socket is uncorked: an ack and the users-updated that follows
 * it, or a burst of relayed messages, go out in one write each.
 *
 * Idle, the phase ends microseconds after the reply is written. Under a
 * burst every reply of the phase waits for its end: fewer syscalls for the
 * same work, and in the rooms-load bench a room of four is ready sooner
 * (see the README), though the first acks of the burst leave a little later.
 */
export class PhaseEnd {
  readonly #tasks: Array<() => void> = []
  readonly #held: Held[] = []
  readonly #log: FastifyBaseLogger
  #scheduled = false

  constructor (log: FastifyBaseLogger) {
    this.#log = log
  }

  /** Runs `task` when the phase ends, before the held sockets are uncorked. */
  defer (task: () => void): void {
    this.#tasks.push(task)
    this.#schedule()
  }

  /** Uncorks `target` when the phase ends (the caller has corked it). */
  hold (target: Held): void {
    this.#held.push(target)
    this.#schedule()
  }

  #schedule (): void {
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#run)
    }
  }

  readonly #run = (): void => {
    // Tasks may defer more tasks or write to more sockets: all of it joins
    // this run, and nothing is uncorked before the last task has run.
    for (let i = 0; i < this.#tasks.length; i++) {
      try {
        (this.#tasks[i] as () => void)()
      } catch (err) {
        // A failing task must not keep every held socket corked.
        this.#log.error({ err }, 'netplay signaling: a task deferred to the end of the I/O phase failed')
      }
    }
    this.#tasks.length = 0
    this.#scheduled = false
    for (const target of this.#held.splice(0)) target.uncork()
  }
}
