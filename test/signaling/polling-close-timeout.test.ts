// Regression: engine.io closes a long-polling transport "in order": it waits
// up to 30 s (its closeTimeout) for one more poll to carry the close packet.
// A client the server cuts off (abuse) or disconnects at app.close() often
// never polls again, so a 30 s timer kept the process alive after
// app.close(). Server-side disconnects now discard the transport first.
import t from 'tap'
import { activeHandles, handlesOpenedSince, startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

t.test('a long-polling client cut off for abuse leaves no timer behind', async (t) => {
  const before = activeHandles()
  const server = await startNetplay(t, { signaling: { maxInvalidMessages: 2 } })
  const abuser = await ioClient(server, { transports: ['polling'] })
  for (let i = 0; i < 3; i++) abuser.socket.emit('update-player-slot', { playerSlot: 'x' })
  t.strictSame(await abuser.inbox.take('netplay-error'), { error: 'FST_NETPLAY_SIGNALING_CLOSED', message: 'too many invalid messages' }, 'told why')
  t.equal(await abuser.inbox.take('disconnect'), 'io server disconnect')
  await server.app.close()
  t.strictSame(await handlesOpenedSince(before), {}, 'no closeTimeout left waiting for a poll that never comes')
})
