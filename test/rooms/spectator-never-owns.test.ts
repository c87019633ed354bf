// Regression: when a room's players had all left and only spectators
// remained, the next spectator to (re)join became the owner (`is_host`), and
// a player joining later answered to a host that cannot play or start.
import t from 'tap'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

const extra = (userid: string, over: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ room_name: 'Watch party', userid, player_name: userid, netplay_mode: 0, spectator_mode: 1, ...over })

t.test('only a player takes over an ownerless room', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server)
  await host.ack('open-room', { extra: extra('host') })
  const watcher = await ioClient(server)
  t.equal((await watcher.ack('join-room', { extra: extra('watcher', { is_spectator: true }) }))[0], null)
  await host.ack('leave-room', {})
  const room = server.app.netplay.rooms.get('Watch party')
  t.equal(room?.ownerUserid, null, 'with only spectators left nobody owns the room')

  const another = await ioClient(server)
  t.equal((await another.ack('join-room', { extra: extra('another-watcher', { is_spectator: true }) }))[0], null)
  t.equal(room?.ownerUserid, null, 'a spectator joining does not become the owner')
  t.strictSame(await another.ack('netplay-host-paused', {}), ['not owner'])

  const player = await ioClient(server)
  const [err, state] = await player.ack('join-room', { extra: extra('player') }) as [unknown, { users: Record<string, Record<string, unknown>> }]
  t.equal(err, null)
  t.equal(room?.ownerUserid, 'player', 'the first player to join owns it')
  t.equal(state.users.player?.is_host, true)
  t.equal(state.users['another-watcher']?.is_host, undefined)
})
