// Upstream EmulatorJS chat rides on data-message ({ player_name, message, to,
// from }) and receivers filter it themselves: a "private" message used to go
// to the whole room, and the sender's name and id were whatever it wrote.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

const extra = (userid: string, name: string): Record<string, unknown> => ({ domain: 'site', game_id: 3, room_name: 'Chatty', player_name: name, userid, sessionid: 'chatty-1' })

t.test('a private upstream chat message reaches its addressee only, under the sender\'s real name and id', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  const ann = await ioClient(server)
  const bob = await ioClient(server)
  t.same(await host.ack('open-room', { extra: extra('h-id', 'Hana'), maxPlayers: 4, password: '' }), [null, null])
  await ann.ack('join-room', { extra: extra('a-id', 'Ann'), password: null })
  await bob.ack('join-room', { extra: extra('b-id', 'Bob'), password: null })
  const seen = { host: [] as unknown[], ann: [] as unknown[], bob: [] as unknown[] }
  host.socket.on('data-message', (d: unknown) => seen.host.push(d))
  ann.socket.on('data-message', (d: unknown) => seen.ann.push(d))
  bob.socket.on('data-message', (d: unknown) => seen.bob.push(d))

  // Ann writes to Bob alone, pretending to be the host.
  ann.socket.emit('data-message', { 'chat-message': { player_name: 'Hana', message: 'psst', to: 'b-id', from: 'h-id' } })
  // And to everyone.
  ann.socket.emit('data-message', { 'chat-message': { player_name: 'Ann', message: 'hi all', to: 'all', from: 'a-id' } })
  // To someone who is not in the room: nobody gets it.
  ann.socket.emit('data-message', { 'chat-message': { player_name: 'Ann', message: 'lost', to: 'nobody', from: 'a-id' } })
  await sleep(200)
  t.same(seen.bob, [
    { 'chat-message': { player_name: 'Ann', message: 'psst', to: 'b-id', from: 'a-id' } },
    { 'chat-message': { player_name: 'Ann', message: 'hi all', to: 'all', from: 'a-id' } }
  ], 'Bob: the private message with Ann\'s real name and id, then the public one')
  t.same(seen.host, [{ 'chat-message': { player_name: 'Ann', message: 'hi all', to: 'all', from: 'a-id' } }], 'the host never sees the private one')
  t.same(seen.ann, [], 'the sender gets nothing back')
})
