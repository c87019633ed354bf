// The room model: seats, spectators, one owner identity, reconnect state,
// and the views each client family reads (users map, list entry, state).
// All mutation here is synchronous, so a room is never seen half-updated.
import type { PasswordHash } from './password.ts'

/**
 * How a client talks: `upstream` (EmulatorJS >= 4.3, family A), `sfu`
 * (EmulatorJS-SFU generation 2, family B) or `sfu-gen1` (family C). Decided
 * from the `extra` a client sends (see `styleOf`).
 */
export type ClientStyle = 'upstream' | 'sfu' | 'sfu-gen1'

/** Fields only the EmulatorJS-SFU generation-2 client puts in `extra` (it sends `netplay_mode` on open and join). */
const SFU_MARKERS = ['netplay_mode', 'room_phase', 'sync_config', 'spectator_mode'] as const
/**
 * Fields both EmulatorJS-SFU generations send and upstream EmulatorJS does
 * not. Generation 1 sends them with a `sessionid` too, so they are what
 * tells it from upstream.
 */
const SFU_GEN1_MARKERS = ['player_slot', 'input_mode'] as const

export function styleOf (extra: Record<string, unknown>): ClientStyle {
  if (SFU_MARKERS.some((key) => extra[key] !== undefined)) return 'sfu'
  if (SFU_GEN1_MARKERS.some((key) => extra[key] !== undefined)) return 'sfu-gen1'
  if (typeof extra.sessionid === 'string' && extra.sessionid !== '') return 'upstream'
  return 'sfu-gen1'
}

export const SPECTATOR_SLOT = 8

export interface Member {
  userid: string
  /** Live connection (socket id), or null while reconnecting. */
  connectionId: string | null
  name: string
  /** The client's `extra`, minus the fields the server owns. */
  extra: Record<string, unknown>
  /** Seat index, or null for a spectator. */
  slot: number | null
  ready: boolean
  validation?: { status: string, reason: string }
  /** Epoch ms when the grace ends, while reconnecting. */
  graceUntil?: number
  graceTimer?: NodeJS.Timeout
  style: ClientStyle
}

export interface ChatMessage {
  userid: string
  playerName: string
  message: string
  timestamp: number
  messageId: string
}

export interface RoomSettings {
  key: string
  name: string
  domain: string
  gameId: string
  maxPlayers: number
  password: PasswordHash | null
  style: ClientStyle
  netplayMode: 'live_stream' | 'delay_sync'
  /** `prepare`: between the owner's start-game and the start (every player paused at frame 1). */
  roomPhase: 'running' | 'lobby' | 'prepare'
  syncConfig: unknown
  allowSpectators: boolean
  /** ROM/core metadata shown in the list and checked on delay_sync joins. */
  metadata: Record<string, unknown>
}

/**
 * An object keyed by ids (userids, room keys) for a JSON payload, made
 * without a prototype. Any id is then just a key: a client-chosen userid or
 * room key such as "__proto__" is listed like any other instead of
 * replacing the object's prototype and vanishing from the payload. And V8
 * keeps such an object as a hash table from the start, so a key it has not
 * seen before costs an insert, not a new hidden class per userid.
 */
export function byId<T> (): Record<string, T> {
  return Object.create(null) as Record<string, T>
}

const seatRank = (member: Member): number => member.slot ?? SPECTATOR_SLOT + 1
const bySeat = (a: Member, b: Member): number => seatRank(a) - seatRank(b)

export class Room {
  readonly key: string
  readonly name: string
  readonly domain: string
  readonly gameId: string
  readonly maxPlayers: number
  readonly password: PasswordHash | null
  readonly style: ClientStyle
  netplayMode: RoomSettings['netplayMode']
  roomPhase: RoomSettings['roomPhase']
  syncConfig: unknown
  readonly allowSpectators: boolean
  metadata: Record<string, unknown>
  readonly members = new Map<string, Member>()
  ownerUserid: string | null
  readonly chat: ChatMessage[] = []
  readonly createdAt = Date.now()
  /** When the room last became empty (for the idle sweep). */
  emptySince: number | null = Date.now()
  closed = false

  constructor (settings: RoomSettings, ownerUserid: string | null) {
    this.key = settings.key
    this.name = settings.name
    this.domain = settings.domain
    this.gameId = settings.gameId
    this.maxPlayers = settings.maxPlayers
    this.password = settings.password
    this.style = settings.style
    this.netplayMode = settings.netplayMode
    this.roomPhase = settings.roomPhase
    this.syncConfig = settings.syncConfig
    this.allowSpectators = settings.allowSpectators
    this.metadata = settings.metadata
    this.ownerUserid = ownerUserid
  }

  /** Seated players, reconnecting ones included (they keep their seat). */
  get current (): number {
    let seated = 0
    for (const member of this.members.values()) if (member.slot !== null) seated++
    return seated
  }

  /** Bit `slot` set for every taken seat (seats are 0..7): one pass over the members. */
  #takenSeats (): number {
    let taken = 0
    for (const member of this.members.values()) if (member.slot !== null) taken |= 1 << member.slot
    return taken
  }

  slotTaken (slot: number): boolean {
    return (this.#takenSeats() & (1 << slot)) !== 0
  }

  firstFreeSlot (): number | null {
    const taken = this.#takenSeats()
    for (let slot = 0; slot < this.maxPlayers; slot++) if ((taken & (1 << slot)) === 0) return slot
    return null
  }

  /** Members in controller-slot order (owner first when seated at 0), spectators last. */
  ordered (): Member[] {
    const members = [...this.members.values()]
    // Members usually join in seat order: sort (stable) only when they are not.
    for (let i = 1; i < members.length; i++) {
      if (seatRank(members[i - 1] as Member) > seatRank(members[i] as Member)) return members.sort(bySeat)
    }
    return members
  }

  /**
   * Renumbers the seats 0, 1, 2… in seat order. Upstream EmulatorJS clients
   * have no seats: a player's index is its place in the users map (its
   * `getUserIndex()`), which is what its inputs carry, so once a player
   * leaves the others' seats must close up to match what they send.
   */
  closeUpSeats (): void {
    let next = 0
    for (const member of this.ordered()) if (member.slot !== null) member.slot = next++
  }

  /** Next owner after the current one goes: the lowest seat, live players before reconnecting ones. */
  nextOwner (): string | null {
    const seated = this.ordered().filter((m) => m.slot !== null)
    return (seated.find((m) => m.connectionId !== null) ?? seated[0])?.userid ?? null
  }

  memberByConnection (connectionId: string): Member | undefined {
    for (const member of this.members.values()) if (member.connectionId === connectionId) return member
    return undefined
  }

  /** `users-updated` payload: keyed by userid, in slot order, each entry carrying `socketId`. */
  usersMap (): Record<string, Record<string, unknown>> {
    const users = byId<Record<string, unknown>>()
    for (const member of this.ordered()) users[member.userid] = this.userEntry(member)
    return users
  }

  userEntry (member: Member): Record<string, unknown> {
    // Built in one literal (no `delete`, which would turn the object into a
    // slow dictionary): this runs for every member on every users-updated.
    let entry: Record<string, unknown>
    if (this.style === 'upstream') {
      entry = { ...member.extra, userid: member.userid, socketId: member.connectionId, player_name: member.name }
    } else {
      // Family B/C read the server's name, never the raw client-sent one.
      const { player_name: _clientName, ...extra } = member.extra
      entry = {
        ...extra,
        userid: member.userid,
        socketId: member.connectionId,
        netplay_username: member.name,
        player_slot: member.slot ?? SPECTATOR_SLOT,
        is_spectator: member.slot === null,
        ready: member.ready
      }
      // Generation 1 shows player_name only (join/leave notices, players
      // table): its members carry the server's name under that key too.
      if (member.style === 'sfu-gen1') entry.player_name = member.name
    }
    if (member.userid === this.ownerUserid) entry.is_host = true
    if (member.connectionId === null) entry.reconnecting = true
    return entry
  }

  /** What family B reads from `join-room` and `request-room-state`. */
  state (users = this.usersMap()): Record<string, unknown> {
    return {
      users,
      netplay_mode: this.netplayMode,
      room_phase: this.roomPhase,
      game_id: this.gameId,
      sync_config: this.syncConfig ?? null,
      ...(this.roomPhase === 'lobby' ? { lobby_state: this.lobbyState() } : {})
    }
  }

  /**
   * Why a player with these client fields cannot play in this delay_sync
   * room (every player runs the game in lockstep: same ROM, same core), or
   * null. Live-stream rooms take anyone: only the host runs the game.
   */
  incompatibility (extra: Record<string, unknown>): { code: string, error: string, message: string } | null {
    if (this.netplayMode !== 'delay_sync') return null
    const hostRom = this.metadata.rom_hash ?? this.metadata.romHash
    const guestRom = extra.rom_hash ?? extra.romHash
    if (typeof hostRom === 'string' && typeof guestRom === 'string' && hostRom !== guestRom) {
      return { code: 'FST_NETPLAY_ROOMS_INCOMPATIBLE_GAME', error: 'incompatible_game', message: 'ROM does not match the host' }
    }
    const hostCore = this.metadata.core_type ?? this.metadata.coreId
    const guestCore = extra.core_type ?? extra.coreId
    if (typeof hostCore === 'string' && typeof guestCore === 'string' && hostCore !== guestCore) {
      return { code: 'FST_NETPLAY_ROOMS_REQUIREMENTS_NOT_MET', error: 'delay_sync_requirements_not_met', message: 'emulator core does not match the host' }
    }
    return null
  }

  lobbyState (): Record<string, unknown> {
    const players = byId<unknown>()
    for (const m of this.ordered()) {
      players[m.userid] = { ready: m.ready, player_slot: m.slot ?? SPECTATOR_SLOT, validation: m.validation ?? null }
    }
    return { players }
  }

  /** One `/list` entry: the union of what families A, B and C read. */
  listEntry (): Record<string, unknown> {
    const owner = this.ownerUserid === null ? undefined : this.members.get(this.ownerUserid)
    const meta = this.metadata
    return {
      room_name: this.name,
      current: this.current,
      max: this.maxPlayers,
      hasPassword: this.password !== null,
      ...(owner !== undefined ? { player_name: owner.name } : {}),
      netplay_mode: this.netplayMode,
      sync_config: this.syncConfig ?? null,
      spectator_mode: this.allowSpectators ? 1 : 0,
      rom_hash: meta.rom_hash ?? null,
      rom_name: meta.rom_name ?? null,
      core_type: meta.core_type ?? null,
      system: meta.system ?? null,
      platform: meta.platform ?? null,
      coreId: meta.coreId ?? null,
      coreVersion: meta.coreVersion ?? null,
      romHash: meta.romHash ?? meta.rom_hash ?? null,
      systemType: meta.systemType ?? null
    }
  }

  /** What other nodes keep of this room: the list entry plus what /list filters on. */
  summary (): Record<string, unknown> {
    return { ...this.listEntry(), domain: this.domain, game_id: this.gameId }
  }

  addChat (message: ChatMessage, keep: number): void {
    this.chat.push(message)
    if (this.chat.length > keep) this.chat.splice(0, this.chat.length - keep)
  }
}

/** Keys of `extra` the server owns; a client value for them is ignored. */
export const SERVER_OWNED = new Set(['userid', 'socketId', 'socket_id', 'is_host', 'reconnecting', 'player_slot', 'is_spectator', 'ready', 'netplay_username'])

/** Client fields kept per `extra` or metadata object, in all. */
export const MAX_CLIENT_FIELDS = 40

/**
 * Merges a client's metadata update into what is stored: sanitized like
 * `extra`, and never past MAX_CLIENT_FIELDS fields in all (a stored field
 * may change; a new one past the cap is dropped). Without the overall cap
 * every update could add 40 fields, and a player's fields travel in every
 * users-updated to everyone in the room.
 */
export function mergeClientFields (stored: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...stored }
  let size = Object.keys(merged).length
  const clean = sanitizeExtra(update)
  for (const key of Object.keys(clean)) {
    if (!Object.hasOwn(merged, key)) {
      if (size >= MAX_CLIENT_FIELDS) continue
      size++
    }
    merged[key] = clean[key]
  }
  return merged
}

/** Copies a client's `extra`, keeping only short scalar fields (bounded size, no server-owned keys). */
export function sanitizeExtra (extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  let count = 0
  // Keys, then a lookup each: Object.entries would allocate a pair per key on every open and join.
  for (const key of Object.keys(extra)) {
    if (SERVER_OWNED.has(key) || key.length > 64 || ++count > MAX_CLIENT_FIELDS) continue
    const value = extra[key]
    if (typeof value === 'string') out[key] = value.slice(0, 256)
    else if (typeof value === 'number' && Number.isFinite(value)) out[key] = value
    else if (typeof value === 'boolean' || value === null) out[key] = value
  }
  return out
}
