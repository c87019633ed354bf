// A node on memory stores (the default) never loads ioredis: it costs such
// a node 2.3 MB of heap and its start-up time for nothing. Checked in a
// fresh process, where nothing else could have loaded it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const INDEX = fileURLToPath(new URL('../../index.ts', import.meta.url))

const script = `
import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const { default: Fastify } = await import(require.resolve('fastify', { paths: [${JSON.stringify(INDEX)}] }))
const { default: netplay } = await import(${JSON.stringify(INDEX)})
const app = Fastify()
await app.register(netplay, { auth: { secrets: ['0123456789abcdef0123456789abcdef'] } })
await app.ready()
const loaded = Object.keys(require.cache).filter((file) => file.includes('/node_modules/ioredis/'))
await app.close()
console.log(JSON.stringify({ ready: true, ioredisFiles: loaded.length }))
`

t.test('memory stores: ioredis is never loaded', async (t) => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 })
  t.strictSame(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}'), { ready: true, ioredisFiles: 0 })
})
