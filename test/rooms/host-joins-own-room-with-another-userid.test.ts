// Regression: the EmulatorJS-SFU generation-2 host (dev branch) opens its
// room with one random `extra.userid` and joins it with another, on the same
// socket (RoomManager.js draws a new id for each call). Without auth the
// userid is the client's, so the join was taken for a second player: the
// leave-before-join removed the host, which emptied and closed the room, and
// the "new" player sat in a room nobody could find. The join is now a
// re-join of the seat the connection holds.
import t from 'tap'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient, settle, sfuExtra } from '../helpers/netplay-clients.ts'

type Users = Record<string, Record<string, unknown>>

for (const password of [null, 'secret']) {
  t.test(`the host joins its own room under another userid (${password === null ? 'no password' : 'password'})`, async (t) => {
    const server = await startNetplay(t) // auth off: the userid is the client's
    const host = await ioClient(server)
    const opened = await host.call('open-room', { extra: sfuExtra('Dev Room', { userid: 'open-guid', player_name: 'Host' }), maxPlayers: 4, password })
    t.equal(opened.err, null)
    const joined = await host.call('join-room', { extra: sfuExtra('Dev Room', { userid: 'join-guid', player_name: 'Host', sessionid: 'dev-session' }), password })
    t.equal(joined.err, null, 'the host\'s own join succeeds')
    const users = joined.data.users as Users
    t.strictSame(Object.keys(users), ['open-guid'], 'the ack shows the seat it opened, under the userid it opened with')
    t.match(users['open-guid'], { socketId: host.id, player_slot: 0, is_host: true })

    const room = server.app.netplay.rooms.get('Dev Room')
    t.ok(room !== undefined && !room.closed, 'the room is still open')
    t.equal(room?.ownerUserid, 'open-guid', 'and still owned by the host')
    t.strictSame([...room?.members.keys() ?? []], ['open-guid'], 'no second member was seated')
    t.equal(server.app.netplay.rooms.bindingOf(host.id)?.member.userid, 'open-guid')
    t.match((await server.get('/list')).body, { 'Dev Room': { current: 1, max: 4 } }, 'listed')

    const guest = await ioClient(server, { transports: ['websocket'] })
    const guestJoin = await guest.call('join-room', { extra: sfuExtra('Dev Room', { userid: 'guest-guid', player_slot: undefined }), password })
    t.equal(guestJoin.err, null, 'a guest finds the room')
    t.strictSame(Object.keys(guestJoin.data.users as Users), ['open-guid', 'guest-guid'])
    t.equal((await host.call('netplay-host-paused', { roomName: 'Dev Room' })).err, null, 'the host still acts as the owner')
    await settle()
    t.equal(host.inbox.count('room-closed'), 0)
  })
}

t.test('a guest seated in a room that joins it again under another userid keeps its seat', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.call('open-room', { extra: sfuExtra('Again', { userid: 'host' }), maxPlayers: 3 })
  const guest = await ioClient(server)
  t.equal((await guest.call('join-room', { extra: sfuExtra('Again', { userid: 'guest', player_slot: undefined }) })).err, null)
  const again = await guest.call('join-room', { extra: sfuExtra('Again', { userid: 'guest-renamed', player_slot: undefined }) })
  t.equal(again.err, null)
  t.strictSame(Object.keys(again.data.users as Users), ['host', 'guest'], 'the same two members')
  t.equal(server.app.netplay.rooms.get('Again')?.members.get('guest')?.slot, 1, 'its seat is unchanged')
})
