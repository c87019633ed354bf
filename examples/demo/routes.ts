// Serves the demo page at `<prefix>/demo`: a static page and its bundle
// (built by scripts/build-demo.ts into `demo.js` beside this file, and into
// dist/ by `npm run build`).
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyReply } from 'fastify'

const HERE = new URL('.', import.meta.url)

export async function registerDemo (app: FastifyInstance, prefix = ''): Promise<void> {
  const page = await readFile(new URL('index.html', HERE), 'utf8').catch(async () => await readFile(new URL('../../../examples/demo/index.html', HERE), 'utf8'))
  let bundle: string | null = null
  app.get(`${prefix}/demo`, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page))
  app.get(`${prefix}/demo/`, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page))
  // The page asks for `demo.js` relative to itself: /demo.js from /demo, /demo/demo.js from /demo/.
  const script = async (_request: unknown, reply: FastifyReply): Promise<FastifyReply> => {
    bundle ??= await readFile(new URL('demo.js', HERE), 'utf8').catch(() => null)
    if (bundle === null) return await reply.code(404).send('demo bundle missing: run `npm run build:demo`')
    return await reply.type('text/javascript; charset=utf-8').send(bundle)
  }
  app.get(`${prefix}/demo.js`, script)
  app.get(`${prefix}/demo/demo.js`, script)
}
