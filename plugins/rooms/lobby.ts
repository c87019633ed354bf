// The lobby's seat changes (`update-player-slot`, to and from spectating),
// as romm-sfu-server runs them and the EmulatorJS-SFU generation-2 client
// expects.
import { EventError } from '../signaling/index.ts'
import { alreadyHaveSlot, roomError } from './errors.ts'
import { SPECTATOR_SLOT, type Member, type Room } from './room.ts'
import type { RoomService } from './service.ts'

export class Lobby {
  readonly #rooms: RoomService

  constructor (rooms: RoomService) {
    this.#rooms = rooms
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
  }
}

/**
 * A spectator taking a seat in a delay_sync room must run the host's ROM
 * and core, as a player joining must (RoomService's join check): spectators
 * are admitted with any. The refusal is a plain string here, which the
 * client shows; `join-room` answers a structured error instead.
 */
function checkSeatable (room: Room, member: Member): void {
  if (room.netplayMode !== 'delay_sync') return
  const extra = member.extra
  const hostRom = room.metadata.rom_hash ?? room.metadata.romHash
  const guestRom = extra.rom_hash ?? extra.romHash
  if (typeof hostRom === 'string' && typeof guestRom === 'string' && hostRom !== guestRom) {
    throw new EventError('FST_NETPLAY_ROOMS_INCOMPATIBLE_GAME', 'ROM does not match the host')
  }
  const hostCore = room.metadata.core_type ?? room.metadata.coreId
  const guestCore = extra.core_type ?? extra.coreId
  if (typeof hostCore === 'string' && typeof guestCore === 'string' && hostCore !== guestCore) {
    throw new EventError('FST_NETPLAY_ROOMS_REQUIREMENTS_NOT_MET', 'emulator core does not match the host')
  }
}
