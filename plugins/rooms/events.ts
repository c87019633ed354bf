// The room events of families A, B and C on the signaling table.
import { serialized, serializedBytes } from '../../lib/serialized.ts'
import { CLIENT_LEFT, OutgoingEvent, type SignalingApi } from '../signaling/index.ts'
import { roomError } from './errors.ts'
import type { RoomListFeed } from './list-feed.ts'
import { Lobby, START_FRAME } from './lobby.ts'
import { SPECTATOR_SLOT, mergeClientFields, type Member, type Room } from './room.ts'
import type { RoomService } from './service.ts'
import {
  ChatPayload, DataMessagePayload, JoinInfoPayload, JoinRoomPayload, LeaveRoomPayload, MetadataPayload,
  OpenRoomPayload, PlayerSlotPayload, ReadyAtFramePayload, RoomListRequest, RoomNamePayload, SignalPayload, ToggleReadyPayload
} from './schema.ts'
import type { RoomsOptions } from './schema.ts'

const SIGNAL_FIELDS = ['offer', 'answer', 'candidate', 'requestRenegotiate', 'reason'] as const

function jsonBytes (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value))
}

export function defineRoomEvents (signaling: SignalingApi, rooms: RoomService, options: RoomsOptions, listFeed: RoomListFeed): void {
  const lobby = new Lobby(rooms, options.prepareTimeoutMs)

  signaling.define({ name: 'open-room', schema: OpenRoomPayload, handler: (payload, connection) => rooms.open(connection, payload) })

  signaling.define({ name: 'join-room', schema: JoinRoomPayload, handler: (payload, connection) => rooms.join(connection, payload) })

  signaling.define({
    name: 'leave-room',
    schema: LeaveRoomPayload,
    handler: (_payload, connection) => {
      rooms.leave(connection)
      return null
    }
  })

  // EmulatorJS-SFU's lobby table: the list now (rooms-updated), then its changes while connected.
  signaling.define({
    name: 'request-room-list',
    schema: RoomListRequest,
    handler: (payload, connection) => {
      const text = (value: unknown): string | undefined => typeof value === 'string' || typeof value === 'number' ? String(value) : undefined
      listFeed.subscribe(connection, { domain: text(payload.domain), gameId: text(payload.game_id) })
      return null
    }
  })

  signaling.define({
    name: 'request-room-state',
    schema: RoomNamePayload,
    handler: (_payload, connection) => rooms.requireBinding(connection).room.state()
  })

  signaling.define({
    name: 'webrtc-signal',
    schema: SignalPayload,
    limit: 'relay',
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection, 'upstream')
      if (jsonBytes(payload) > options.maxDataMessageBytes) throw roomError('tooLarge', member.style)
      const target = payload.target ?? payload.targetSocketId
      const targetConnection = target === 'host'
        ? (room.ownerUserid === null ? null : room.members.get(room.ownerUserid)?.connectionId ?? null)
        : room.memberByConnection(target ?? '')?.connectionId ?? null
      if (targetConnection === null) throw roomError('targetNotInRoom', member.style)
      const relayed: Record<string, unknown> = { sender: connection.id }
      for (const field of SIGNAL_FIELDS) if (payload[field] !== undefined) relayed[field] = payload[field]
      rooms.emitTo(targetConnection, 'webrtc-signal', relayed)
      return null
    }
  })

  // Inputs, for upstream clients (one sync-control per input; their hosts
  // ack each one): charged to the `data` limit, one token per started KiB.
  signaling.define({
    name: 'data-message',
    schema: DataMessagePayload,
    limit: 'data',
    cost: (payload) => typeof payload === 'object' && payload !== null ? Math.max(1, Math.ceil(serializedBytes(payload) / 1024)) : 1,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection, 'upstream')
      // Serialized and measured once per message (for its cost, then by the
      // guard): the same JSON is what plain WebSocket members receive.
      if (serializedBytes(payload) > options.maxDataMessageBytes) throw roomError('tooLarge', member.style)
      const chat = payload['chat-message']
      if (typeof chat === 'object' && chat !== null && !Array.isArray(chat)) {
        relayChat(room, member, connection.id, payload, chat as Record<string, unknown>)
        return null
      }
      rooms.broadcastPrepared(room, new OutgoingEvent('data-message', payload, serialized(payload)), connection.id)
      return null
    }
  })

  /**
   * Upstream EmulatorJS chat rides on data-message: `{ player_name, message,
   * to, from }`, `to` a member's userid or "all", filtered by the receivers.
   * A private message goes to its addressee only (the others never see it),
   * and the sender's name and id are the server's, so nobody can write as
   * someone else.
   */
  function relayChat (room: Room, member: Member, connectionId: string, payload: Record<string, unknown>, chat: Record<string, unknown>): void {
    const message = { ...payload, 'chat-message': { ...chat, player_name: member.name, from: member.userid } }
    const to = typeof chat.to === 'string' && chat.to !== 'all' ? chat.to : null
    if (to === null) {
      rooms.broadcast(room, 'data-message', message, connectionId)
      return
    }
    const addressee = room.members.get(to)
    if (addressee !== undefined && addressee !== member) rooms.emitTo(addressee.connectionId, 'data-message', message)
  }

  signaling.define({
    name: 'chat-message',
    schema: ChatPayload,
    limit: 'chat',
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      const message = payload.message.trim()
      if (message.length < 1 || message.length > 500) throw roomError('emptyChat', member.style)
      const chat = { userid: member.userid, playerName: member.name, message, timestamp: Date.now(), messageId: rooms.newChatId() }
      room.addChat(chat, options.chatHistory)
      rooms.broadcast(room, 'chat-message', chat)
      return null
    }
  })

  for (const [event, text] of [['netplay-host-paused', 'Host has paused emulation'], ['netplay-host-resumed', 'Host has resumed emulation']] as const) {
    signaling.define({
      name: event,
      schema: RoomNamePayload,
      handler: (_payload, connection) => {
        const { room, member } = rooms.requireBinding(connection)
        if (room.ownerUserid !== member.userid) throw roomError('notOwner', member.style)
        rooms.broadcast(room, event, { text }, connection.id)
        return null
      }
    })
  }

  // ---- lobby of delay_sync rooms ----

  signaling.define({
    name: 'toggle-ready',
    schema: ToggleReadyPayload,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      member.ready = payload.ready ?? !member.ready
      rooms.broadcast(room, 'player-ready-updated', { playerId: member.userid, ready: member.ready })
      rooms.refreshUsers(room)
      return null
    }
  })

  // start-game sends prepare-start only; start-game goes out once every
  // player is paused at frame 1 (ready-at-frame-1), or after a timeout.
  signaling.define({
    name: 'start-game',
    schema: RoomNamePayload,
    handler: (_payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      lobby.start(room, member)
      return null
    }
  })

  signaling.define({
    name: 'ready-at-frame-1',
    schema: ReadyAtFramePayload,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      lobby.readyAtFrame(room, member, payload.frame ?? START_FRAME)
      return null
    }
  })

  signaling.define({
    name: 'update-room-metadata',
    schema: MetadataPayload,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      if (room.ownerUserid !== member.userid) throw roomError('notOwner', member.style)
      room.metadata = mergeClientFields(room.metadata, payload.metadata)
      rooms.refreshUsers(room)
      return null
    }
  })

  signaling.define({
    name: 'update-player-metadata',
    schema: MetadataPayload,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      member.extra = mergeClientFields(member.extra, payload.metadata)
      rooms.refreshUsers(room)
      return null
    }
  })

  signaling.define({
    name: 'join-info',
    schema: JoinInfoPayload,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      member.validation = validateJoinInfo(room.metadata, payload)
      rooms.broadcast(room, 'player-validation-updated', { playerId: member.userid, validationStatus: member.validation.status, validationReason: member.validation.reason })
      return null
    }
  })

  signaling.define({
    name: 'update-player-slot',
    schema: PlayerSlotPayload,
    handler: (payload, connection) => {
      const { room, member } = rooms.requireBinding(connection)
      try {
        lobby.changeSeat(room, member, payload.playerSlot)
      } catch (err) {
        // EmulatorJS-SFU moves itself before it asks and never rolls back on
        // a refusal: its inputs would name a seat it does not have (which the
        // input guard holds against it). Tell it where it really sits.
        if (member.style !== 'upstream') rooms.emitTo(connection.id, 'player-slot-updated', { playerId: member.userid, playerSlot: member.slot ?? SPECTATOR_SLOT })
        throw err
      }
      return null
    }
  })

  signaling.onConnect((connection) => { rooms.reclaim(connection) })

  signaling.onDisconnect((connection, reason) => {
    listFeed.unsubscribe(connection.id)
    const room = rooms.bindingOf(connection.id)?.room
    rooms.disconnected(connection, reason === CLIENT_LEFT)
    // A player dropping (seat held for its grace) is not waited for to start.
    if (room !== undefined) lobby.check(room)
  })
}

const text = (value: unknown): string | undefined => typeof value === 'string' && value !== '' ? value : undefined

/**
 * A player's join-info against what the host published (its open-room
 * `extra` and metadata updates), in the statuses and wording of
 * romm-sfu-server, which EmulatorJS-SFU shows as the reason of a red mark.
 * Only what both sides state is compared. The host's emulator may be named
 * by any of the fields EmulatorJS-SFU fills (`core_type`, `coreId`, `core`,
 * `system`): the guest's `emulatorId` must be one of them.
 */
export function validateJoinInfo (host: Record<string, unknown>, info: { romHash?: string | null, emulatorId?: string | null, emulatorVersion?: string | null }): { status: string, reason: string } {
  const hostRom = text(host.rom_hash) ?? text(host.romHash)
  if (hostRom !== undefined && typeof info.romHash === 'string' && info.romHash !== hostRom) {
    return { status: 'rom_mismatch', reason: `ROM mismatch: host is using ${text(host.romName) ?? text(host.rom_name) ?? 'another ROM'}` }
  }
  const hostEmulators = [host.core_type, host.coreId, host.core, host.system].map(text).filter((name) => name !== undefined)
  if (hostEmulators.length > 0 && typeof info.emulatorId === 'string' && !hostEmulators.includes(info.emulatorId)) {
    return { status: 'emulator_mismatch', reason: `Emulator mismatch: host is using ${hostEmulators[0]}` }
  }
  const hostVersion = text(host.coreVersion) ?? text(host.core_version)
  if (hostVersion !== undefined && typeof info.emulatorVersion === 'string' && info.emulatorVersion !== hostVersion) {
    return { status: 'version_mismatch', reason: `Core version mismatch: host is using ${hostVersion}` }
  }
  return { status: 'ok', reason: '' }
}
