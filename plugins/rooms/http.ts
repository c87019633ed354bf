// The HTTP side of rooms: GET /list (all families), and family B's
// POST /create, POST /join/:roomId, POST /leave/:roomId and GET /resolve.
import type { FastifyInstance } from 'fastify'
import { netplayRoutes } from '../../lib/http.ts'
import { HttpBadPasswordError, HttpRoomExistsError, HttpRoomFullError, HttpRoomNameRequiredError, HttpRoomNotFoundError, HttpRoomsLimitError } from './errors.ts'
import { audit } from '../../lib/audit.ts'
import { passwordMatches } from './password.ts'
import type { RoomService } from './service.ts'
import { CreateRoomBody, JoinRoomBody, ListQuery, ResolveQuery, type RoomsOptions } from './schema.ts'
import type { Static } from 'typebox'

export async function registerRoomRoutes (app: FastifyInstance, rooms: RoomService, options: RoomsOptions, node: { nodeId: string }): Promise<void> {
  const auth = app.netplay.auth
  const readIdentity = auth.requireIdentity({ need: 'read' })

  await netplayRoutes(app, { prefix: options.prefix, corsOrigins: app.netplay.signaling.corsOrigins }, (scope) => {
    scope.get('/list', { schema: { querystring: ListQuery }, preHandler: readIdentity }, async (request) => {
      const { domain, game_id: gameId } = request.query as Static<typeof ListQuery>
      return rooms.list(domain, gameId)
    })

    scope.post('/create', { schema: { body: CreateRoomBody }, preHandler: auth.requireIdentity({ need: 'write' }) }, async (request, reply) => {
      const body = request.body as Static<typeof CreateRoomBody>
      const name = (body.room_name ?? '').trim()
      if (name === '') throw new HttpRoomNameRequiredError()
      if (rooms.rooms.has(name)) throw new HttpRoomExistsError()
      const spectators = body.allow_spectators === true || body.spectator_mode === 1 || body.spectator_mode === true
      let room
      try {
        room = await rooms.createRoom({
          key: name,
          name,
          domain: body.domain ?? '',
          gameId: String(body.game_id ?? ''),
          maxPlayers: Math.min(options.maxPlayersCap, Math.max(2, body.max_players ?? 4)),
          password: body.password ?? null,
          style: 'sfu',
          netplayMode: body.netplay_mode === 'delay_sync' || body.netplay_mode === 1 ? 'delay_sync' : 'live_stream',
          roomPhase: body.netplay_mode === 'delay_sync' || body.netplay_mode === 1 ? 'lobby' : 'running',
          syncConfig: body.sync_config ?? null,
          allowSpectators: spectators,
          metadata: { ...(body.rom_hash !== undefined ? { rom_hash: body.rom_hash } : {}), ...(body.core_type !== undefined ? { core_type: body.core_type } : {}) }
          // Owned by its first seated player, as in romm-sfu-server: the
          // creator is not a member until it joins over the socket, and an
          // absent owner would leave every player unable to pause or start.
        }, null, 'sfu')
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'FST_NETPLAY_ROOMS_EXISTS') throw new HttpRoomExistsError()
        if (code === 'FST_NETPLAY_ROOMS_LIMIT') throw new HttpRoomsLimitError()
        throw err
      }
      reply.code(201)
      return { room_id: room.key, room: room.listEntry() }
    })

    scope.post('/join/:roomId', { schema: { body: JoinRoomBody }, preHandler: readIdentity }, async (request) => {
      const { roomId } = request.params as { roomId: string }
      const body = (request.body ?? {}) as Static<typeof JoinRoomBody>
      const room = rooms.find(roomId)
      if (room === undefined) {
        const elsewhere = await rooms.locate(roomId)
        if (elsewhere !== null) return { redirect: elsewhere.url, room_name: roomId, nodeId: elsewhere.nodeId }
        throw new HttpRoomNotFoundError()
      }
      const userid = request.netplayIdentity?.userid
      if (room.password !== null && !(await passwordMatches(room.password, body.password ?? ''))) {
        audit(request.log, 'rooms.password_failure', { room: room.key, userid: userid ?? null, ip: request.ip })
        throw new HttpBadPasswordError()
      }
      const seated = userid !== undefined && room.members.get(userid)?.slot != null
      if (!seated && room.current >= room.maxPlayers) throw new HttpRoomFullError()
      return { ok: true, room_id: room.key, room: room.listEntry() }
    })

    scope.post('/leave/:roomId', { preHandler: readIdentity }, async (request) => {
      const { roomId } = request.params as { roomId: string }
      const room = rooms.find(roomId)
      if (room === undefined) throw new HttpRoomNotFoundError()
      const userid = request.netplayIdentity?.userid
      const member = userid === undefined ? undefined : room.members.get(userid)
      if (member !== undefined) rooms.removeMember(room, member, 'left over HTTP')
      return { ok: true }
    })

    scope.get('/resolve', { schema: { querystring: ResolveQuery }, preHandler: readIdentity }, async (request) => {
      const query = request.query as Static<typeof ResolveQuery>
      const name = query.room ?? query.room_name ?? ''
      const room = rooms.find(name)
      if (room === undefined) {
        const elsewhere = await rooms.locate(name)
        if (elsewhere === null) throw new HttpRoomNotFoundError()
        return { room_name: name, url: elsewhere.url, nodeId: elsewhere.nodeId }
      }
      const url = options.publicUrl ?? `${request.protocol}://${request.host}`
      return { room_name: room.name, url, nodeId: node.nodeId }
    })
  })
}
