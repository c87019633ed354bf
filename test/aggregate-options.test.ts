// The aggregate plugin's sections: `false` leaves a plugin out, for the SFU
// and the cluster as for the others (a JSON config writes `"sfu": false`);
// a section that is neither options nor an allowed `false` is refused with a
// coded error naming it, before any plugin starts.
import t from 'tap'
import Fastify from 'fastify'
import netplay, { type NetplayOptions } from '../index.ts'

t.test('sfu: false and cluster: false leave those plugins out; the rest serves', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(netplay, { auth: false, sfu: false, cluster: false })
  await app.ready()
  t.notOk('sfu' in app.netplay, 'no SFU decorator')
  t.notOk('cluster' in app.netplay, 'no cluster decorator')
  t.equal((await app.inject('/ice')).statusCode, 404, 'no /ice route')
  const list = await app.inject('/list?domain=example.org&game_id=1')
  t.equal(list.statusCode, 200)
  t.same(list.json(), {}, 'rooms serve their list')
})

t.test('a section that is not options (or an allowed false) is refused, naming it', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['rateLimit: false', { rateLimit: false }, /"rateLimit": expected an options object \(it cannot be left out\)/],
    ['sfu: true', { sfu: true }, /"sfu": expected an options object, or false to leave it out/],
    ['rooms: "on"', { rooms: 'on' }, /"rooms": expected an options object, or false/],
    ['cluster: null', { cluster: null }, /"cluster": expected an options object/],
    ['ops: []', { ops: [] }, /"ops": expected an options object/]
  ]
  for (const [what, section, message] of cases) {
    const app = Fastify()
    await t.rejects(async () => { await app.register(netplay, { auth: false, ...section } as unknown as NetplayOptions) }, { code: 'FST_NETPLAY_OPTIONS_INVALID', message }, what)
    t.notOk(app.hasDecorator('netplay'), `${what}: no plugin started`)
    await app.close()
  }
})
