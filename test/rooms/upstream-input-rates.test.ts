// Upstream EmulatorJS sends every input of a guest as its own data-message
// (one sync-control each, 4 per analog axis change, a gamepad polled every
// 10 ms), and its host acks every one it receives. On the old 200/s relay
// limit a guest moving a stick was cut off within a second and a host acking
// three guests within seconds. data-message is now charged to `data`, one
// token per started KiB.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startNetplay } from '../helpers/netplay-server.ts'
import { ioClient } from '../helpers/netplay-clients.ts'

const extra = (userid: string): Record<string, unknown> => ({ domain: 'site', game_id: 7, room_name: 'Sticks', player_name: userid, userid, sessionid: 'sticks-1' })

t.test('a guest moving a stick (800 inputs a second for 3 s) and its host acking each one are relayed in full, nobody cut off', async (t) => {
  const server = await startNetplay(t)
  const host = await ioClient(server, { transports: ['websocket'] })
  const guest = await ioClient(server, { transports: ['websocket'] })
  t.same(await host.ack('open-room', { extra: extra('host'), maxPlayers: 4, password: '' }), [null, null])
  t.equal((await guest.ack('join-room', { extra: extra('guest'), password: null }))[0], null)
  let inputs = 0
  let acks = 0
  host.socket.on('data-message', (data: { 'sync-control'?: Array<{ frame: number }> }) => {
    const entries = data['sync-control']
    if (entries === undefined) return
    inputs += entries.length
    for (const entry of entries) host.socket.emit('data-message', { frameAck: entry.frame })
  })
  guest.socket.on('data-message', (data: { frameAck?: number }) => { if (data.frameAck !== undefined) acks++ })

  // Every 10 ms both axes of the stick change: 2 axis events x 4 inputs.
  let frame = 100
  const sent = 2400
  for (let tick = 0; tick < sent / 8; tick++) {
    for (let i = 0; i < 8; i++) guest.socket.emit('data-message', { 'sync-control': [{ frame: frame + 20, connected_input: [1, 16 + (i % 4), i % 2 === 0 ? 23919.9 : 0] }] })
    frame++
    await sleep(10)
  }
  const delivered = (): boolean => inputs >= sent && acks >= sent
  for (let i = 0; i < 100 && !delivered(); i++) await sleep(50)
  t.equal(inputs, sent, 'every input reached the host')
  t.equal(acks, sent, 'every ack of the host reached the guest')
  t.ok(host.socket.connected && guest.socket.connected, 'nobody cut off')
  t.same(server.app.netplay.rateLimit.stats().strikes, {}, 'no strike')
})

t.test('a data-message costs one token per started KiB: large ones use the budget faster', async (t) => {
  const server = await startNetplay(t, { rateLimit: { limits: { data: { capacity: 12, refillPerSecond: 0.001 } } } })
  const host = await ioClient(server)
  const guest = await ioClient(server)
  await host.ack('open-room', { extra: extra('host'), maxPlayers: 4, password: '' })
  await guest.ack('join-room', { extra: extra('guest'), password: null })
  const big = { 'chat-message': { player_name: 'guest', message: 'x'.repeat(5000), to: null, from: 'guest' } }
  t.same(await guest.ack('data-message', big), [null, null], '5 KiB: 5 tokens')
  t.same(await guest.ack('data-message', big), [null, null], '5 more')
  t.same(await guest.ack('data-message', big), ['rate limited'], 'not 5 left')
  t.same(await guest.ack('data-message', { frameAck: 1 }), [null, null], 'a small one still fits: 1 token')
  t.same(await guest.ack('data-message', { frameAck: 2 }), [null, null])
  t.same(await guest.ack('data-message', { frameAck: 3 }), ['rate limited'], 'the budget is spent')
})
