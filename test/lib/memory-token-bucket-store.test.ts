import t from 'tap'
import { MemoryTokenBucketStore } from '../../lib/stores/token-buckets.ts'

t.test('the memory store never holds more than maxEntries buckets', async (t) => {
  const store = new MemoryTokenBucketStore(100)
  const limit = { capacity: 5, refillPerSecond: 1 }
  for (let i = 0; i < 10_000; i++) {
    await store.take('http', limit, `10.0.${i >> 8}.${i & 255}`, 1)
    if (store.size > 100) break
  }
  t.equal(store.size, 100)
})

t.test('the least recently used bucket is the one evicted', async (t) => {
  const store = new MemoryTokenBucketStore(100)
  const limit = { capacity: 1, refillPerSecond: 0 }
  t.ok(store.takeSync('http', limit, 'busy', 1).allowed)
  t.ok(store.takeSync('http', limit, 'idle', 1).allowed)
  let busyAllowed = 0
  for (let i = 0; i < 150; i++) {
    if (store.takeSync('http', limit, 'busy', 1).allowed) busyAllowed++
    store.takeSync('http', limit, `other-${i}`, 1)
  }
  t.equal(busyAllowed, 0, 'a bucket in use is kept, so it stays limited')
  t.ok(store.takeSync('http', limit, 'idle', 1).allowed, 'evicted, so it starts full again')
})

t.test('same key under different limits are different buckets', async (t) => {
  const store = new MemoryTokenBucketStore(100)
  const limit = { capacity: 1, refillPerSecond: 0 }
  t.ok(store.takeSync('http', limit, 'k', 1).allowed)
  t.ok(store.takeSync('identity', limit, 'k', 1).allowed)
  t.notOk(store.takeSync('http', limit, 'k', 1).allowed)
})
