// An existing Fastify app that mounts netplay under /netplay next to its
// own routes. EmulatorJS pages point EJS_netplayServer at
// `http://<host>:3000/netplay` (Socket.IO namespace "/netplay" on the default
// /socket.io path) and read `/netplay/list`.
import Fastify from 'fastify'
import netplay, { netplayServerOptions } from '../../index.ts'

const secret = process.env.NETPLAY_SECRET
const app = Fastify(netplayServerOptions())

app.get('/', async () => ({ app: 'my game portal', netplay: '/netplay' }))

await app.register(netplay, {
  prefix: '/netplay',
  // The portal is its own identity provider (NETPLAY_SECRET set): behind its
  // own login it mints each user a read token, e.g.
  //   const { token } = await app.netplay.auth.mint({ sub: user.id, name: user.name, kind: 'read' })
  // and its game page sets `window.EJS_netplayToken = token`.
  auth: secret === undefined
    ? false
    : { secrets: [secret], mint: { issuer: 'my-portal' }, hs256Issuers: ['my-portal'] }
})

if (import.meta.main) await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })

export default app
