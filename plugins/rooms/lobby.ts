// The lobby's two stateful flows, as romm-sfu-server runs them and the
// EmulatorJS-SFU generation-2 client expects: seat changes
// (`update-player-slot`, to and from spectating) and the start barrier of a
// game (`start-game` -> `prepare-start`, every player's `ready-at-frame-1`,
// then `start-game` for all).
import { EventError } from '../signaling/index.ts'
import { alreadyHaveSlot, roomError } from './errors.ts'
import { SPECTATOR_SLOT, type Member, type Room } from './room.ts'
import type { RoomService } from './service.ts'

/** How far ahead of "now" a start is scheduled, so every client unpauses on the same wall-clock moment. */
export const START_DELAY_MS = 3000
/**
 * How long the prepare phase waits for `ready-at-frame-1` before starting
 * anyway: one stuck or silent client must not hang the room. The client
 * resets, runs and pauses its emulator in well under a second.
 */
export const PREPARE_TIMEOUT_MS = 10_000
/** The frame every client pauses at in the prepare phase, and starts from. */
export const START_FRAME = 1

/** A game being prepared: who it waits for, who has reported, and the deadline. */
interface Preparation {
  /** Players seated when the start was asked for; a player who goes (leaves, drops, spectates) is no longer waited for. */
  readonly awaited: Set<string>
  readonly ready: Set<string>
  readonly timer: NodeJS.Timeout
}

export class Lobby {
  readonly #rooms: RoomService
  readonly #preparing = new Map<Room, Preparation>()
  readonly #timeoutMs: number

  constructor (rooms: RoomService, timeoutMs = PREPARE_TIMEOUT_MS) {
    this.#rooms = rooms
    this.#timeoutMs = timeoutMs
    // A closed room's barrier goes with it (no timer outlives its room, and
    // app.close() closes every room).
    rooms.onRoomClosed((room) => this.#forget(room))
    // A player leaving may be the one the others wait for. A room left empty
    // closes right after this listener; it has nobody to start for.
    rooms.onMemberRemoved((room) => { if (room.members.size > 0) this.check(room) })
  }

  /** Whether `room` is in its prepare phase (between `prepare-start` and `start-game`). */
  preparing (room: Room): boolean {
    return this.#preparing.has(room)
  }

  // ---- seats ----

  /**
   * `update-player-slot`: a player moves to a free seat or to spectating
   * (slot 8), a spectator takes a free seat, as in romm-sfu-server, with
   * the room's rules kept: seats unique and below `maxPlayers`, spectators
   * only where the room allows them, the delay_sync ROM and core checks of
   * `join-room` for a spectator who takes a seat. Two differences from romm:
   * a spectator cannot take a seat that is taken or out of range (romm skips
   * every check for spectators), and the owner keeps a seat: a spectator
   * never owns a room (it cannot produce media, and the others' inputs are
   * relayed to the owner), and handing ownership to a guest would end a
   * live-stream game, whose picture comes from the host's emulator.
   * Upstream rooms have no seats to choose (see Room.closeUpSeats).
   */
  changeSeat (room: Room, member: Member, slot: number): void {
    const style = member.style
    if (member.slot === slot || (member.slot === null && slot === SPECTATOR_SLOT)) throw alreadyHaveSlot(slot)
    if (room.style === 'upstream') throw roomError('invalidSlot', style)
    if (slot === SPECTATOR_SLOT) {
      if (room.ownerUserid === member.userid) throw roomError('invalidSlot', style)
      if (!room.allowSpectators) throw roomError('spectatorsOff', style)
      member.slot = null
    } else {
      // Range first: Room.slotTaken is a bit test, meaningless past seat 31.
      if (slot < 0 || slot >= room.maxPlayers) throw roomError('invalidSlot', style)
      if (room.slotTaken(slot)) throw roomError('slotTaken', style)
      if (member.slot === null) checkSeatable(room, member)
      member.slot = slot
      // A room whose players all left has no owner: its first player owns it (as on join).
      room.ownerUserid ??= member.userid
    }
    this.#rooms.broadcast(room, 'player-slot-updated', { playerId: member.userid, playerSlot: slot })
    this.#rooms.refreshUsers(room)
    // A player gone to spectate is no longer waited for.
    this.check(room)
  }

  // ---- the start barrier ----

  /**
   * `start-game` from the owner: every member gets `prepare-start` (the
   * client resets its emulator, runs it to frame 1, pauses and answers
   * `ready-at-frame-1`). `start-game` follows once every player seated now
   * has answered, or after the timeout.
   */
  start (room: Room, member: Member): void {
    if (room.ownerUserid !== member.userid) throw roomError('notOwner', member.style)
    if (this.#preparing.has(room)) throw roomError('alreadyStarting', member.style)
    const players = [...room.members.values()].filter((m) => m.slot !== null)
    if (players.some((m) => m.userid !== member.userid && !m.ready)) throw roomError('notReady', member.style)
    const timer = setTimeout(() => {
      if (this.#preparing.get(room)?.timer === timer) this.#go(room)
    }, this.#timeoutMs)
    this.#preparing.set(room, { awaited: new Set(players.map((m) => m.userid)), ready: new Set(), timer })
    room.roomPhase = 'prepare'
    this.#rooms.broadcast(room, 'prepare-start', { startTime: Date.now() + START_DELAY_MS, startFrame: START_FRAME })
  }

  /** `ready-at-frame-1`: the member's emulator is paused at the start frame. */
  readyAtFrame (room: Room, member: Member, frame: number): void {
    const preparation = this.#preparing.get(room)
    if (preparation === undefined) throw roomError('notPreparing', member.style)
    preparation.ready.add(member.userid)
    this.#rooms.broadcast(room, 'player-ready-at-frame', { playerId: member.userid, frame }, member.connectionId ?? undefined)
    this.check(room)
  }

  /**
   * Starts the game if nobody is left to wait for. Run after anything that
   * can shrink the wait: a ready report, a seat change, a player leaving or
   * dropping (one back within its grace has missed `prepare-start` and is
   * not waited for either: the timeout would be all it could add).
   */
  check (room: Room): void {
    const preparation = this.#preparing.get(room)
    if (preparation === undefined || room.closed) return
    for (const userid of preparation.awaited) {
      const member = room.members.get(userid)
      if (member === undefined || member.slot === null || member.connectionId === null) preparation.awaited.delete(userid)
      else if (!preparation.ready.has(userid)) return
    }
    this.#go(room)
  }

  #go (room: Room): void {
    this.#forget(room)
    if (room.closed) return
    room.roomPhase = 'running'
    this.#rooms.broadcast(room, 'start-game', { frame: START_FRAME, start_time: Date.now() + START_DELAY_MS })
    this.#rooms.refreshUsers(room)
  }

  #forget (room: Room): void {
    const preparation = this.#preparing.get(room)
    if (preparation === undefined) return
    clearTimeout(preparation.timer)
    this.#preparing.delete(room)
  }
}

/**
 * A spectator taking a seat in a delay_sync room must run the host's ROM
 * and core, as a player joining must (RoomService's join check): spectators
 * are admitted with any. The refusal is a plain string here, which the
 * client shows; `join-room` answers a structured error instead.
 */
function checkSeatable (room: Room, member: Member): void {
  const why = room.incompatibility(member.extra)
  if (why !== null) throw new EventError(why.code, why.message)
}
