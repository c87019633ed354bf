// `rooms`: rooms, seats, spectators, lobby, chat and reconnect grace for the
// three EmulatorJS client families, on the signaling table and over HTTP.
import { randomUUID } from 'node:crypto'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { PACKAGE, netplayNamespace } from '../../lib/netplay.ts'
import { optionsParser } from '../../lib/options.ts'
import { redisForStore } from '../../lib/redis.ts'
import { defineRoomEvents } from './events.ts'
import { RoomListFeed } from './list-feed.ts'
import { registerRoomRoutes } from './http.ts'
import { RedisRoomRegistry, noRegistry, type RoomDirectory } from './registry.ts'
import type { Member, Room } from './room.ts'
import { RoomService, type MemberRemovedListener, type RoomClosedListener } from './service.ts'
import { RoomsOptions, type RoomsOptionsInput } from './schema.ts'

export interface RoomsApi {
  readonly nodeId: string
  get (key: string): Room | undefined
  all (): IterableIterator<Room>
  /** The room and member a connection is seated in. */
  bindingOf (connectionId: string): { room: Room, member: Member } | undefined
  /** Sends an event to every live member of a room (optionally except one connection). */
  broadcast (room: Room, event: string, data: unknown, exceptConnectionId?: string): void
  /**
   * Deletes a room (registry entry, list, everything it owns). Connected
   * EmulatorJS-SFU members get `room-closed { roomName, reason }`; with
   * `disconnect`, every connected member's connection is then closed.
   */
  close (room: Room, reason: string, options?: { disconnect?: boolean }): void
  onRoomClosed (listener: RoomClosedListener): void
  onMemberRemoved (listener: MemberRemovedListener): void
  /** Installs the directory of other nodes (the cluster plugin does, before the server starts). */
  setDirectory (directory: RoomDirectory): void
}

declare module '../../lib/netplay.ts' {
  interface NetplayDecorators {
    rooms: RoomsApi
  }
}

const parseOptions = optionsParser('rooms', RoomsOptions)

async function rooms (app: FastifyInstance, input: RoomsOptionsInput): Promise<void> {
  const options = parseOptions(input)
  const nodeId = options.nodeId ?? randomUUID()
  const redis = await redisForStore(app, 'rooms', options.store, options.redis)
  const registry = redis === null
    ? noRegistry
    : new RedisRoomRegistry(redis, { prefix: options.registryKeyPrefix, ttlMs: options.registryTtlMs, nodeId, url: options.publicUrl }, app.log)
  const service = new RoomService(options, app.netplay.signaling, registry, app.log)
  const listFeed = new RoomListFeed(service, app.netplay.signaling, options.listPushIntervalMs)
  service.onListChanged(() => listFeed.changed())
  defineRoomEvents(app.netplay.signaling, service, options, listFeed)
  await registerRoomRoutes(app, service, options, { nodeId })

  const sweeper = setInterval(() => service.sweep(), options.sweepIntervalMs)
  sweeper.unref()
  app.addHook('onClose', async () => {
    clearInterval(sweeper)
    listFeed.close()
    service.closeAll()
    registry.close()
  })

  netplayNamespace(app).rooms = {
    nodeId,
    get: (key) => service.find(key),
    all: () => service.rooms.values(),
    bindingOf: (connectionId) => service.bindingOf(connectionId),
    broadcast: (room, event, data, except) => service.broadcast(room, event, data, except),
    close: (room, reason, options) => service.closeRoom(room, reason, options),
    onRoomClosed: (listener) => service.onRoomClosed(listener),
    onMemberRemoved: (listener) => service.onMemberRemoved(listener),
    setDirectory: (directory) => service.setDirectory(directory)
  }
}

export default fp(rooms, {
  fastify: '5.x',
  name: `${PACKAGE}/rooms`,
  dependencies: [`${PACKAGE}/rate-limit`, `${PACKAGE}/auth`, `${PACKAGE}/signaling`]
})

export { RoomsOptions, type RoomsOptionsInput } from './schema.ts'
export type { Room, Member, ClientStyle } from './room.ts'
export type { RoomDirectory, NodeRef } from './registry.ts'
export * from './errors.ts'
