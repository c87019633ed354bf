// Family B (EmulatorJS-SFU generation 2) players for the rooms tests: a
// token per player, the `extra` the real client sends (its own userid and
// name included, which the server must ignore), and the open-then-join the
// client does to host.
import { TOKEN_AUTH, type NetplayServer, type NetplayServerOptions } from './netplay-server.ts'
import { ioClient, sfuExtra as clientExtra, type IoClient } from './netplay-clients.ts'

export type Users = Record<string, Record<string, unknown>>

/** What the generation-2 client puts in `extra`, its own userid and name included: the server must ignore them. */
export function sfuExtra (roomName: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return clientExtra(roomName, { userid: 'client-chosen-id', player_name: 'Client Chosen Name', ...over })
}

export interface Player { client: IoClient, userid: string, sub: string }

export async function player (server: NetplayServer, sub: string, transports?: Array<'polling' | 'websocket'>): Promise<Player> {
  const token = await server.token(sub)
  const { userid } = await server.app.netplay.auth.verify(token)
  const client = await ioClient(server, { token, ...(transports !== undefined ? { transports } : {}) })
  return { client, userid, sub }
}

export async function hostRoom (server: NetplayServer, sub: string, roomName: string, open: { maxPlayers?: number, password?: string | null, extra?: Record<string, unknown> } = {}): Promise<Player> {
  const host = await player(server, sub)
  const extra = sfuExtra(roomName, open.extra)
  const [err] = await host.client.ack('open-room', { extra, maxPlayers: open.maxPlayers ?? 4, password: open.password ?? null })
  if (err !== null) throw new Error(`open-room: ${JSON.stringify(err)}`)
  // What the client does next: join its own room.
  const [joinErr] = await host.client.ack('join-room', { extra, password: open.password ?? null })
  if (joinErr !== null) throw new Error(`host join-room: ${JSON.stringify(joinErr)}`)
  return host
}

export async function joinAs (server: NetplayServer, sub: string, roomName: string, over: Record<string, unknown> = {}, password: string | null = null): Promise<Player> {
  const guest = await player(server, sub, ['websocket'])
  const [err] = await guest.client.ack('join-room', { extra: sfuExtra(roomName, { player_slot: undefined, ...over }), password })
  if (err !== null) throw new Error(`join-room ${sub}: ${JSON.stringify(err)}`)
  return guest
}

export const withTokens = (over: NetplayServerOptions = {}): NetplayServerOptions => ({ auth: TOKEN_AUTH, ...over })
