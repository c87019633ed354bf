// Bundles the demo page's browser code (examples/demo/client.ts, with
// mediasoup-client and socket.io-client) into examples/demo/demo.js, and
// copies page and bundle into dist/examples/demo when dist exists.
import { copyFile, mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { build } from 'esbuild'

const root = new URL('../', import.meta.url)
const out = new URL('examples/demo/demo.js', root)
await build({
  entryPoints: [new URL('examples/demo/client.ts', root).pathname],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome110',
  minify: true,
  sourcemap: false,
  outfile: out.pathname,
  logLevel: 'warning'
})
if (existsSync(new URL('dist/', root))) {
  const dist = new URL('dist/examples/demo/', root)
  await mkdir(dist, { recursive: true })
  await copyFile(out, new URL('demo.js', dist))
  await copyFile(new URL('examples/demo/index.html', root), new URL('index.html', dist))
}
