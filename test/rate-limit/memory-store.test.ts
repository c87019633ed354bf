import t from 'tap'
import { limitedApp } from '../helpers/rate-limit-app.ts'

t.test('through the plugin: many distinct keys stay within maxEntries', async (t) => {
  const app = await limitedApp(t, { maxEntries: 100, limits: { identity: { capacity: 1, refillPerSecond: 0 } } })
  const { take } = app.netplay.rateLimit
  t.ok((await take('identity', 'first')).allowed)
  t.notOk((await take('identity', 'first')).allowed)
  for (let i = 0; i < 5000; i++) await take('identity', `user-${i}`)
  t.ok((await take('identity', 'first')).allowed, 'the oldest bucket was evicted: memory is bounded')
})
