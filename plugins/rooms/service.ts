// Room operations shared by the socket events and the HTTP routes. Every
// check that can fail runs before the first change; after an await the room
// is looked up again, so concurrent joins never leave a room half-updated.
import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { audit } from '../../lib/audit.ts'
import type { Identity } from '../../lib/netplay.ts'
import type { Connection, SignalingApi } from '../signaling/index.ts'
import { EventError, OutgoingEvent } from '../signaling/index.ts'
import { roomError } from './errors.ts'
import { hashPassword, passwordMatches } from './password.ts'
import { singleNode, type NodeRef, type RoomDirectory, type RoomRegistry } from './registry.ts'
import { Room, SPECTATOR_SLOT, byId, sanitizeExtra, styleOf, type ClientStyle, type Member, type RoomSettings } from './room.ts'
import type { RoomsOptions } from './schema.ts'

/** Generation 1 leaves after 10 s disconnected; its seat is held a little longer than that, not the full grace. */
const GEN1_GRACE_MS = 15_000

/** room-player-joined/left are EmulatorJS-SFU events; upstream clients ignore them, so they are not sent there. */
const SFU_ONLY = (member: Member): boolean => member.style !== 'upstream'

export type RoomClosedListener = (room: Room, reason: string) => void
export type MemberRemovedListener = (room: Room, member: Member, reason: string) => void

interface Binding { room: Room, userid: string }

function text (value: unknown, max: number): string {
  return typeof value === 'string' ? value.trim().slice(0, max) : ''
}

function who (connection: Connection, extra: Record<string, unknown>): { userid: string, name: string } {
  const identity: Identity | null = connection.identity
  if (identity !== null) return { userid: identity.userid, name: identity.name }
  const userid = text(extra.userid, 128)
  return { userid: userid === '' ? connection.id : userid, name: text(extra.player_name, 64) || 'Player' }
}

/**
 * Where an opener sits. A generation-1 host plays on the controller slot it
 * picked in its menu (its own inputs use it; guests are then seated around
 * it); anyone else hosts from slot 0.
 */
function openerSlot (style: ClientStyle, extra: Record<string, unknown>, maxPlayers: number): number {
  const slot = extra.player_slot
  return style === 'sfu-gen1' && typeof slot === 'number' && Number.isInteger(slot) && slot >= 0 && slot < maxPlayers ? slot : 0
}

export class RoomService {
  readonly rooms = new Map<string, Room>()
  readonly #bindings = new Map<string, Binding>()
  /** userid → the room where it holds a seat in its reconnect grace (see reclaim). */
  readonly #inGrace = new Map<string, Room>()
  /** userid → the connection it was last seated from (a hint for "userid in use", see #connectedElsewhere). */
  readonly #connectionOf = new Map<string, string>()
  readonly #options: RoomsOptions
  readonly #signaling: SignalingApi
  readonly #log: FastifyBaseLogger
  readonly #registry: RoomRegistry
  #directory: RoomDirectory = singleNode
  readonly #onRoomClosed: RoomClosedListener[] = []
  readonly #onMemberRemoved: MemberRemovedListener[] = []
  readonly #onListChanged: Array<() => void> = []

  constructor (options: RoomsOptions, signaling: SignalingApi, registry: RoomRegistry, log: FastifyBaseLogger) {
    this.#options = options
    this.#signaling = signaling
    this.#registry = registry
    this.#log = log
  }

  onRoomClosed (listener: RoomClosedListener): void { this.#onRoomClosed.push(listener) }

  /** Installs the cluster's directory (once, before the server starts). */
  setDirectory (directory: RoomDirectory): void {
    if (this.#directory !== singleNode) throw new Error('a room directory is already installed')
    this.#directory = directory
    directory.onRemoteChange(this.#listChanged)
  }

  /** Runs whenever what /list shows may have changed (here or, in a cluster, on another node). */
  onListChanged (listener: () => void): void { this.#onListChanged.push(listener) }

  #listChanged = (): void => {
    for (const listener of this.#onListChanged) listener()
  }

  #published (room: Room): void {
    this.#registry.publish(room)
    this.#directory.publish(room)
    this.#listChanged()
  }

  #removed (room: Room): void {
    this.#registry.remove(room)
    this.#directory.remove(room)
    this.#listChanged()
  }

  /**
   * The family B redirect of a join: the client is told (event and ack)
   * which node has the room. Other families cannot follow a redirect.
   */
  #redirect (connection: Connection, roomName: string, node: NodeRef): Record<string, unknown> {
    connection.emit('room-redirect', { room_name: roomName, url: node.url, nodeId: node.nodeId })
    return { redirect: node.url, room_name: roomName, nodeId: node.nodeId }
  }

  /** Where a room this node does not have lives, if anywhere. */
  async locate (key: string): Promise<NodeRef | null> {
    return this.#directory.locate(key)
  }

  /** Rooms of this node and, in a cluster, of every other live node, filtered like /list. */
  list (domain: string | undefined, gameId: string | undefined): Record<string, unknown> {
    const matches = (roomDomain: unknown, roomGame: unknown): boolean =>
      (domain === undefined || domain === '' || roomDomain === '' || roomDomain === domain) &&
      (gameId === undefined || gameId === '' || String(roomGame) === gameId)
    const out = byId<unknown>()
    for (const [key, summary] of this.#directory.remoteRooms()) {
      const { domain: roomDomain, game_id: roomGame, ...entry } = summary
      if (matches(roomDomain, roomGame)) out[key] = entry
    }
    for (const room of this.rooms.values()) {
      if (matches(room.domain, room.gameId)) out[room.key] = room.listEntry()
    }
    return out
  }

  onMemberRemoved (listener: MemberRemovedListener): void { this.#onMemberRemoved.push(listener) }

  /** The room and member a connection is bound to. */
  bindingOf (connectionId: string): { room: Room, member: Member } | undefined {
    const binding = this.#bindings.get(connectionId)
    const member = binding?.room.members.get(binding.userid)
    if (binding === undefined || member === undefined || member.connectionId !== connectionId) return undefined
    return { room: binding.room, member }
  }

  requireBinding (connection: Connection, style: ClientStyle = 'sfu'): { room: Room, member: Member } {
    const bound = this.bindingOf(connection.id)
    if (bound === undefined) throw roomError('notInRoom', style)
    return bound
  }

  find (key: string): Room | undefined {
    const direct = this.rooms.get(key)
    if (direct !== undefined) return direct
    let match: Room | undefined
    for (const room of this.rooms.values()) {
      if (room.name === key) {
        if (match !== undefined) return undefined // ambiguous display name
        match = room
      }
    }
    return match
  }

  // ---- creating and joining ----

  async createRoom (settings: Omit<RoomSettings, 'password'> & { password: string | null }, ownerUserid: string | null, style: ClientStyle): Promise<Room> {
    if (this.rooms.has(settings.key)) throw roomError('exists', style)
    if (this.rooms.size >= this.#options.maxRooms) throw roomError('roomsLimit', style)
    if (!(await this.#claim(settings.key))) throw roomError('exists', style)
    const password = settings.password === null || settings.password === '' ? null : await hashPassword(settings.password)
    if (this.rooms.has(settings.key)) throw roomError('exists', style)
    const room = new Room({ ...settings, password }, ownerUserid)
    this.rooms.set(room.key, room)
    this.#published(room)
    return room
  }

  /** A name is claimed across nodes; with Redis unreachable the room is still created here (games go on, the claim is retried by the heartbeat). */
  async #claim (key: string): Promise<boolean> {
    try {
      return await this.#directory.claim(key)
    } catch (err) {
      this.#log.warn({ room: key, err: { message: (err as Error).message } }, 'could not claim the room name across nodes; creating it here')
      return true
    }
  }

  async open (connection: Connection, payload: { extra: Record<string, unknown>, maxPlayers?: number | string, password?: string | null }): Promise<null> {
    const extra = payload.extra
    const style = styleOf(extra)
    const name = text(extra.room_name, 128)
    const key = style === 'upstream' ? text(extra.sessionid, 128) : name
    if (key === '') throw roomError('invalid', style)
    const { userid, name: playerName } = who(connection, extra)
    const existing = this.rooms.get(key)
    if (existing !== undefined) return this.#reopen(existing, connection, payload, { userid, name: playerName, extra, style })
    // Capacity is soft: no client follows a redirect from open-room (the
    // generation-2 client reads any answer but an error as "created"), so a
    // node over capacity opens the room itself while another node could
    // take it, and says "server full" only when none can.
    if (this.#directory.placeElsewhere() === 'full') throw roomError('serverFull', style)
    const requested = Number.parseInt(String(payload.maxPlayers ?? 4), 10)
    const maxPlayers = Math.min(this.#options.maxPlayersCap, Math.max(2, Number.isFinite(requested) ? requested : 4))
    if (this.#connectedElsewhere(userid, connection)) throw roomError('useridInUse', style)
    const netplayMode = extra.netplay_mode === 1 || extra.netplay_mode === 'delay_sync' ? 'delay_sync' : 'live_stream'
    const room = await this.createRoom({
      key,
      name: name === '' ? key : name,
      domain: text(extra.domain, 256),
      gameId: String(extra.game_id ?? ''),
      maxPlayers,
      password: typeof payload.password === 'string' ? payload.password : null,
      style,
      netplayMode,
      roomPhase: extra.room_phase === 'lobby' ? 'lobby' : 'running',
      syncConfig: extra.sync_config ?? null,
      allowSpectators: extra.spectator_mode === 1 || extra.spectator_mode === true,
      metadata: sanitizeExtra(extra)
    }, userid, style)
    // Hashing the password awaited: a client gone meanwhile would hold a seat
    // (and the room) that no disconnect will ever free.
    if (!this.#live(connection)) {
      this.closeRoom(room, 'opener gone')
      return null
    }
    this.#leaveCurrent(connection, 'opened another room')
    this.#seat(room, connection, { userid, name: playerName, extra, style, slot: openerSlot(style, extra, maxPlayers) })
    this.#broadcastUsers(room)
    return null
  }

  /**
   * `open-room` for a room that exists. EmulatorJS-SFU generation 1 sends
   * its `open-room` again on every Socket.IO reconnect: a member of the room
   * (its host, back within its grace) is re-seated as a re-join would be,
   * through #admit (so a live holder still gets "userid in use"), keeping
   * its seat and ownership. Anyone else is told the room exists.
   */
  async #reopen (room: Room, connection: Connection, payload: { extra: Record<string, unknown>, maxPlayers?: number | string, password?: string | null }, who_: { userid: string, name: string, extra: Record<string, unknown>, style: ClientStyle }): Promise<null> {
    const { userid, style } = who_
    if (!room.members.has(userid)) throw roomError('exists', style)
    if (room.password !== null && room.members.get(userid)?.connectionId !== connection.id) {
      const ok = await passwordMatches(room.password, typeof payload.password === 'string' ? payload.password : '')
      if (!ok) {
        audit(this.#log, 'rooms.password_failure', { room: room.key, userid, ip: connection.ip })
        throw roomError('badPassword', style)
      }
      if (!this.#live(connection)) return null
      // Closed during the check: opening it is a plain open again.
      if (this.rooms.get(room.key) !== room) return this.open(connection, payload)
      if (!room.members.has(userid)) throw roomError('exists', style)
    }
    this.#admit(room, connection, who_)
    return null
  }

  async join (connection: Connection, payload: { extra: Record<string, unknown>, password?: string | null }): Promise<unknown> {
    const extra = payload.extra
    const style = styleOf(extra)
    let room = this.#roomToJoin(extra, style)
    if (room === undefined) {
      const key = text(extra.room_name, 128) || text(extra.sessionid, 128)
      const node = style === 'sfu' && key !== '' ? await this.#directory.locate(key) : null
      if (node !== null) return this.#redirect(connection, key, node)
      throw roomError('notFound', style)
    }
    // Already seated here: the EmulatorJS-SFU generation-2 host opens with one
    // random userid and joins its own room with another. It is a re-join of
    // the seat this connection holds, with no password asked again.
    if (this.#seatedIn(connection, room)) {
      const users = room.usersMap()
      return style === 'sfu' ? room.state(users) : users
    }
    const { userid, name } = who(connection, extra)
    const existing = room.members.get(userid)
    if (room.password !== null && existing?.connectionId !== connection.id) {
      const ok = await passwordMatches(room.password, typeof payload.password === 'string' ? payload.password : '')
      if (!ok) {
        audit(this.#log, 'rooms.password_failure', { room: room.key, userid, ip: connection.ip })
        throw roomError('badPassword', style)
      }
      const again = this.rooms.get(room.key)
      if (again !== room) throw roomError('notFound', style)
      room = again
      // Gone while the password was checked: seating it would hold a seat nobody frees.
      if (!this.#live(connection)) return null
    }
    const users = this.#admit(room, connection, { userid, name, extra, style })
    return style === 'sfu' ? room.state(users) : users
  }

  /**
   * The room a `join-room` names. Upstream EmulatorJS joins by the listed
   * key (its `sessionid`) and nothing else: with that room gone, a room of
   * the same display name is a stranger's game, maybe of another game or
   * site. EmulatorJS-SFU joins by room name (the key of its rooms); a room
   * keyed otherwise (an upstream one) is found by its display name only
   * when that is unique and the domain and game match.
   */
  #roomToJoin (extra: Record<string, unknown>, style: ClientStyle): Room | undefined {
    const sessionid = text(extra.sessionid, 128)
    if (style === 'upstream') return this.rooms.get(sessionid)
    const name = text(extra.room_name, 128)
    const direct = this.rooms.get(name) ?? this.rooms.get(sessionid)
    if (direct !== undefined || name === '') return direct
    const domain = text(extra.domain, 256)
    const gameId = String(extra.game_id ?? '')
    let match: Room | undefined
    for (const room of this.rooms.values()) {
      if (room.name !== name || room.domain !== domain || room.gameId !== gameId) continue
      if (match !== undefined) return undefined // ambiguous display name
      match = room
    }
    return match
  }

  #bind (connectionId: string, room: Room, userid: string): void {
    this.#bindings.set(connectionId, { room, userid })
    this.#connectionOf.set(userid, connectionId)
  }

  /** Forgets a connection's seat binding, and the userid index entry if it points there. */
  #unbind (connectionId: string, userid: string): void {
    this.#bindings.delete(connectionId)
    if (this.#connectionOf.get(userid) === connectionId) this.#connectionOf.delete(userid)
  }

  /** Whether a connection holds a seat (as any userid) in `room`. */
  #seatedIn (connection: Connection, room: Room): boolean {
    return this.bindingOf(connection.id)?.room === room
  }

  /** Whether a connection is still open (its disconnect has not been handled yet). */
  #live (connection: Connection): boolean {
    return this.#signaling.connection(connection.id) === connection
  }

  /**
   * Whether `connection` may take over an identity that `heldBy` (another
   * open connection) holds. Only a proven identity can (without auth a
   * userid is whatever the client says), and only from a connection that
   * looks dead: after a network switch the old socket stays open on the
   * server until its heartbeat times out, silent. One that spoke within
   * `takeoverMinSilenceMs` is in use (the same account on another device:
   * no surprise kick, no two devices kicking each other in turn); one silent
   * for longer than `takeoverWindowMs` is left to the heartbeat, as in
   * romm-sfu-server.
   */
  #mayTakeOver (connection: Connection, heldBy: string): boolean {
    if (connection.identity === null || !this.#options.allowTakeover) return false
    const old = this.#signaling.connection(heldBy)
    if (old === undefined || this.#options.takeoverWindowMs === 0) return true
    const silentMs = Date.now() - old.lastMessageAt
    return silentMs >= this.#options.takeoverMinSilenceMs && silentMs <= this.#options.takeoverWindowMs
  }

  /**
   * Without auth, a userid that is connected (seated on a live connection)
   * cannot be claimed by another connection, in any room. The index is a
   * hint, checked against the binding, so a stale entry never locks anyone out.
   */
  #connectedElsewhere (userid: string, connection: Connection): boolean {
    if (connection.identity !== null) return false
    const holder = this.#connectionOf.get(userid)
    if (holder === undefined || holder === connection.id) return false
    return this.bindingOf(holder)?.member.userid === userid
  }

  /**
   * Seats (or re-seats) a joining identity. Synchronous: checks first, then
   * one change. Returns the users map as it is now, which is also the ack
   * (the users-updated broadcast follows when the I/O phase ends).
   */
  #admit (room: Room, connection: Connection, who_: { userid: string, name: string, extra: Record<string, unknown>, style: ClientStyle }): Record<string, Record<string, unknown>> {
    // A connection seated here keeps its seat, whatever userid it names: the
    // leave-before-join below would otherwise empty, and close, this very room.
    if (this.#seatedIn(connection, room)) return room.usersMap()
    const { userid, style, extra } = who_
    const existing = room.members.get(userid)
    if (existing !== undefined) {
      if (existing.connectionId === connection.id) return room.usersMap()
      if (existing.connectionId !== null) {
        // A live socket holds this identity: the new one takes it over only
        // when that one looks dead (see #mayTakeOver); otherwise it is a clash.
        if (!this.#mayTakeOver(connection, existing.connectionId)) throw roomError('useridInUse', style)
        const old = this.#signaling.connection(existing.connectionId)
        this.#unbind(existing.connectionId, userid)
        old?.emit('netplay-error', { error: 'FST_NETPLAY_ROOMS_REPLACED', message: 'this seat was taken over by a newer connection' })
      }
      this.#leaveCurrent(connection, 'joined another room')
      this.#reseat(room, existing, connection)
      return room.usersMap()
    }
    if (this.#connectedElsewhere(userid, connection)) throw roomError('useridInUse', style)
    const wantsSpectator = extra.is_spectator === true || extra.player_slot === SPECTATOR_SLOT
    let slot: number | null = null
    if (wantsSpectator) {
      if (!room.allowSpectators) throw roomError('spectatorsOff', style)
    } else {
      if (room.current >= room.maxPlayers) throw roomError('full', style)
      this.#checkCompatible(room, extra)
      // Upstream rooms seat in order (seat = place in the users map).
      const requested = typeof extra.player_slot === 'number' && room.style !== 'upstream' ? extra.player_slot : -1
      slot = Number.isInteger(requested) && requested >= 0 && requested < room.maxPlayers && !room.slotTaken(requested)
        ? requested
        : room.firstFreeSlot()
      if (slot === null) throw roomError('noSlots', style)
    }
    this.#leaveCurrent(connection, 'joined another room')
    this.#seat(room, connection, { ...who_, slot })
    this.#emitRoom(room, 'room-player-joined', { userid, socketId: connection.id, player_slot: slot ?? SPECTATOR_SLOT, netplay_username: who_.name }, connection.id, SFU_ONLY)
    this.#broadcastUsers(room)
    return room.usersMap()
  }

  /** Gives a member its seat back on a new connection (a re-join, a takeover, or a reclaim at connect time). */
  #reseat (room: Room, member: Member, connection: Connection): void {
    clearTimeout(member.graceTimer)
    member.graceTimer = undefined
    member.graceUntil = undefined
    if (this.#inGrace.get(member.userid) === room) this.#inGrace.delete(member.userid)
    member.connectionId = connection.id
    this.#bind(connection.id, room, member.userid)
    this.#broadcastUsers(room)
  }

  /**
   * A signed-in player whose connection dropped is back on a new one.
   * EmulatorJS-SFU generation 2 reconnects its socket by itself but never
   * joins again: its seat (the host's: the whole game) ran out with the
   * grace while the player was still there. The identity is proven, so a
   * seat it holds in its grace is given back at connect time, as a re-join
   * would give it. Without auth a userid proves nothing and the client must
   * join again.
   */
  reclaim (connection: Connection): void {
    const identity = connection.identity
    if (identity === null) return
    const room = this.#inGrace.get(identity.userid)
    const member = room?.members.get(identity.userid)
    if (room === undefined || member === undefined || member.connectionId !== null || room.closed) return
    if (this.bindingOf(connection.id) !== undefined) return
    this.#reseat(room, member, connection)
    this.#log.info({ room: room.key, userid: member.userid, connection: connection.id }, 'reconnected player given its seat back')
  }

  /** A player joining a delay_sync room needs the host's ROM and core; the client reads a structured error. */
  #checkCompatible (room: Room, extra: Record<string, unknown>): void {
    const why = room.incompatibility(extra)
    if (why !== null) throw new EventError(why.code, why.message, { error: why.error, message: why.message, canJoinAsSpectator: room.allowSpectators })
  }

  #seat (room: Room, connection: Connection, m: { userid: string, name: string, extra: Record<string, unknown>, style: ClientStyle, slot: number | null }): void {
    room.members.set(m.userid, {
      userid: m.userid,
      connectionId: connection.id,
      name: m.name,
      extra: sanitizeExtra(m.extra),
      slot: m.slot,
      ready: false,
      style: m.style
    })
    room.emptySince = null
    // Only a player owns a room: a spectator joining an ownerless room (its
    // players all gone) must not become the host the next player answers to.
    if (m.slot !== null) room.ownerUserid ??= m.userid
    this.#bind(connection.id, room, m.userid)
    this.#published(room)
  }

  // ---- leaving ----

  #leaveCurrent (connection: Connection, reason: string): void {
    const bound = this.bindingOf(connection.id)
    if (bound !== undefined) this.removeMember(bound.room, bound.member, reason)
  }

  leave (connection: Connection): void {
    this.#leaveCurrent(connection, 'left')
  }

  /**
   * A connection went away: its seat is held for its grace (see #graceFor),
   * shown as reconnecting, unless the client closed on purpose (`left`):
   * then it has left the room, whether or not its `leave-room` arrived.
   */
  disconnected (connection: Connection, left = false): void {
    const bound = this.bindingOf(connection.id)
    if (bound === undefined) {
      this.#bindings.delete(connection.id)
      return
    }
    const { room, member } = bound
    this.#unbind(connection.id, member.userid)
    const graceMs = this.#graceFor(member)
    if (left || graceMs === 0) {
      this.removeMember(room, member, left ? 'left' : 'disconnected')
      return
    }
    member.connectionId = null
    this.#inGrace.set(member.userid, room)
    member.graceUntil = Date.now() + graceMs
    member.graceTimer = setTimeout(() => {
      if (room.members.get(member.userid) === member && member.connectionId === null) this.removeMember(room, member, 'reconnect grace expired')
    }, graceMs)
    member.graceTimer.unref()
    this.#broadcastUsers(room)
  }

  /**
   * How long a dropped member keeps its seat: as long as its client can
   * come back for it. Upstream EmulatorJS never does (it leaves and rejoins
   * under a new id); generation 1 re-sends its open-room / join-room on a
   * reconnect but gives up and leaves after 10 s disconnected, and a seat
   * held past that only makes its room look full to the player rejoining.
   */
  #graceFor (member: Member): number {
    const option = this.#options.reconnectGraceMs
    if (member.style === 'upstream') return 0
    if (member.style === 'sfu-gen1') return Math.min(option, GEN1_GRACE_MS)
    return option
  }

  removeMember (room: Room, member: Member, reason: string): void {
    if (room.members.get(member.userid) !== member) return
    clearTimeout(member.graceTimer)
    if (this.#inGrace.get(member.userid) === room) this.#inGrace.delete(member.userid)
    room.members.delete(member.userid)
    if (member.connectionId !== null) this.#unbind(member.connectionId, member.userid)
    for (const listener of this.#onMemberRemoved) listener(room, member, reason)
    if (room.members.size === 0) {
      this.closeRoom(room, 'empty')
      return
    }
    if (room.ownerUserid === member.userid && (room.style === 'upstream' || room.style === 'sfu-gen1')) {
      this.#hostGone(room)
      return
    }
    if (room.ownerUserid === member.userid) room.ownerUserid = room.nextOwner()
    if (room.style === 'upstream') room.closeUpSeats()
    this.#emitRoom(room, 'room-player-left', { userid: member.userid, socketId: member.connectionId }, undefined, SFU_ONLY)
    this.#broadcastUsers(room)
    this.#published(room)
  }

  /**
   * The owner of an upstream or generation-1 room is gone for good: the game
   * is over. Its guests cannot host (upstream ones ignore is_host and have
   * no emulator of their own to stream; generation-1 ones watch the host's
   * stream through the SFU), so passing ownership on would leave them on a
   * frozen picture in a room still listed and joinable. They are shown the
   * host gone (users-updated, sent now: the coalesced one is never sent for
   * a closed room), then disconnected, which is how both clients leave.
   */
  #hostGone (room: Room): void {
    this.#emitRoom(room, 'users-updated', room.usersMap())
    this.closeRoom(room, 'host left', { disconnect: true })
  }

  /**
   * Deletes a room with everything it owns. Members still connected are
   * told (`room-closed`, which EmulatorJS-SFU clients know and upstream ones
   * do not) and, with `disconnect`, their connections are closed: a
   * generation-1 client leaves its room only when its socket drops.
   */
  closeRoom (room: Room, reason: string, options: { disconnect?: boolean } = {}): void {
    if (room.closed) return
    this.#emitRoom(room, 'room-closed', { roomName: room.name, reason }, undefined, SFU_ONLY)
    room.closed = true
    const connected: string[] = []
    for (const member of room.members.values()) {
      clearTimeout(member.graceTimer)
      if (this.#inGrace.get(member.userid) === room) this.#inGrace.delete(member.userid)
      if (member.connectionId === null) continue
      connected.push(member.connectionId)
      this.#unbind(member.connectionId, member.userid)
    }
    room.members.clear()
    this.rooms.delete(room.key)
    this.#removed(room)
    for (const listener of this.#onRoomClosed) listener(room, reason)
    if (options.disconnect === true) for (const id of connected) this.#signaling.connection(id)?.close(reason)
  }

  /** Deletes rooms that have stayed empty past `emptyRoomTtlMs` (HTTP-created rooms nobody joined). */
  sweep (now = Date.now()): void {
    for (const room of this.rooms.values()) {
      if (room.members.size === 0 && room.emptySince !== null && now - room.emptySince >= this.#options.emptyRoomTtlMs) this.closeRoom(room, 'idle')
    }
  }

  closeAll (): void {
    for (const room of [...this.rooms.values()]) this.closeRoom(room, 'server closing')
  }

  // ---- messages inside a room ----

  emitTo (connectionId: string | null, event: string, data: unknown): void {
    if (connectionId !== null) this.#signaling.connection(connectionId)?.emit(event, data)
  }

  #emitRoom (room: Room, event: string, data: unknown, exceptConnectionId?: string, to?: (member: Member) => boolean): void {
    this.broadcastPrepared(room, new OutgoingEvent(event, data), exceptConnectionId, to)
  }

  broadcast (room: Room, event: string, data: unknown, exceptConnectionId?: string): void {
    this.#emitRoom(room, event, data, exceptConnectionId)
  }

  /** Sends one event, encoded once, to every live member (optionally except one connection). */
  broadcastPrepared (room: Room, message: OutgoingEvent, exceptConnectionId?: string, to?: (member: Member) => boolean): void {
    for (const member of room.members.values()) {
      const id = member.connectionId
      if (id === null || id === exceptConnectionId || (to !== undefined && !to(member))) continue
      const connection = this.#signaling.connection(id)
      if (connection === undefined) continue
      if (connection.deliver !== undefined) connection.deliver(message)
      else connection.emit(message.event, message.data)
    }
  }

  /**
   * Announces a room's members. Announcements are coalesced per room until
   * the current I/O phase ends (signaling's atPhaseEnd): a burst of joins or
   * reconnects in one room sends each member one users-updated with the
   * final state instead of one per change, in the same write as the acks
   * of the phase.
   */
  #broadcastUsers (room: Room): void {
    if (this.#usersDue.size === 0) this.#signaling.atPhaseEnd(this.#flushUsers)
    this.#usersDue.add(room)
  }

  readonly #usersDue = new Set<Room>()
  readonly #flushUsers = (): void => {
    // Emptied first: whatever happens below, the next change schedules a flush.
    const due = [...this.#usersDue]
    this.#usersDue.clear()
    for (const room of due) if (!room.closed) this.#emitRoom(room, 'users-updated', room.usersMap())
  }

  refreshUsers (room: Room): void {
    this.#broadcastUsers(room)
    this.#published(room)
  }

  newChatId (): string { return randomUUID() }
}
