// The embed and RomM sidecar examples boot and serve netplay where documented.
import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { createSigner } from 'fast-jwt'
import netplay from '../../index.ts'
import { rommSidecarOptions, rommSidecarTrustProxy } from '../../examples/romm-sidecar/config.ts'
import { startRedis } from '../helpers/redis.ts'

t.test('embed: netplay under /netplay next to the host routes', async (t) => {
  const { default: app } = await import('../../examples/embed/app.ts')
  t.teardown(() => app.close())
  t.same((await app.inject('/')).json(), { app: 'my game portal', netplay: '/netplay' })
  const list = await app.inject('/netplay/list')
  t.equal(list.statusCode, 200)
  t.equal((await app.inject('/list')).statusCode, 404, 'nothing leaks outside the prefix')
})

t.test('romm sidecar: TRUST_PROXY for RomM\'s nginx, off unless set, a clear error when unusable', async (t) => {
  const base = { ROMM_AUTH_SECRET_KEY: 'romm-secret-key-with-32-characters!' }
  t.equal(rommSidecarTrustProxy(base), false)
  t.same(rommSidecarTrustProxy({ ...base, TRUST_PROXY: '172.18.0.0/16' }), ['172.18.0.0/16'])
  t.match(rommSidecarOptions({ ...base, TRUST_PROXY: 'true' }).signaling, { socketIo: { trustProxy: true } }, 'Socket.IO handshakes get it too')
  t.throws(() => rommSidecarTrustProxy({ ...base, TRUST_PROXY: 'nginx' }), /TRUST_PROXY: "nginx" is not an address/)
})

t.test('romm sidecar: RomM tokens, RomM one-time keys and RomM cookie', async (t) => {
  const redis = await startRedis(t)
  const secret = 'romm-secret-key-with-32-characters!'
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(netplay, rommSidecarOptions({
    ROMM_AUTH_SECRET_KEY: secret, REDIS_URL: redis.url, WEBRTC_PORT: '0', TURN_URLS: 'turn:turn.example.org:3478', TURN_SECRET: 'coturn-secret'
  }))
  await app.ready()
  const sign = createSigner({ key: secret, algorithm: 'HS256', iss: 'romm:sfu', expiresIn: 60_000 })
  t.equal((await app.inject('/netplay/list')).statusCode, 401)
  const read = sign({ sub: 'alice', type: 'sfu:read' })
  const viaCookie = await app.inject({ url: '/netplay/list', headers: { cookie: `romm_sfu_token=${read}` } })
  t.equal(viaCookie.statusCode, 200)
  const write = sign({ sub: 'alice', type: 'sfu:write', jti: 'abc123' })
  await redis.client().set('sfu:auth:jti:abc123', '0', 'EX', 30)
  const create = () => app.inject({ method: 'POST', url: '/netplay/create', headers: { authorization: `Bearer ${write}` }, payload: { room_name: 'Mario Kart' } })
  t.equal((await create()).statusCode, 201)
  t.equal((await create()).statusCode, 401, 'the write token was one-time')
  const summary = JSON.parse(await redis.client().get('sfu:room:Mario Kart') ?? 'null') as { room_name: string } | null
  t.equal(summary?.room_name, 'Mario Kart', 'RomM sees the room under sfu:room:<name>')
  const ice = await app.inject({ url: '/netplay/ice', headers: { authorization: `Bearer ${read}` } })
  t.equal(ice.statusCode, 200, 'the SFU is registered (available or not) and hands out ICE')
  t.match(ice.json().iceServers[0], { urls: ['turn:turn.example.org:3478'], username: /^\d+:/ }, 'TURN REST credentials for the RomM user')
})

t.test('romm sidecar process: SIGTERM closes it cleanly and its rooms leave RomM\'s registry', async (t) => {
  const redis = await startRedis(t)
  const secret = 'romm-secret-key-with-32-characters!'
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../examples/romm-sidecar/server.ts', import.meta.url))], {
    env: { ...process.env, ROMM_AUTH_SECRET_KEY: secret, REDIS_URL: redis.url, PORT: '0', LISTEN_IP: '127.0.0.1', NETPLAY_SFU: 'off' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const at = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (at?.[1] !== undefined) resolve(at[1])
    })
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)))
  })
  const sign = createSigner({ key: secret, algorithm: 'HS256', iss: 'romm:sfu', expiresIn: 60_000 })
  await redis.client().set('sfu:auth:jti:sig1', '0', 'EX', 30)
  const created = await fetch(`${url}/netplay/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sign({ sub: 'alice', type: 'sfu:write', jti: 'sig1' })}`, 'content-type': 'application/json' },
    body: JSON.stringify({ room_name: 'Shutdown' })
  })
  t.equal(created.status, 201)
  t.equal(await redis.client().exists('sfu:room:Shutdown'), 1, 'RomM sees the room')

  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const [code] = await exited
  t.equal(code, 0, 'exits 0 after closing')
  t.equal(await redis.client().exists('sfu:room:Shutdown'), 0, 'and its room is no longer listed for RomM')
})
