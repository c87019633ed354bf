// Bounded LRU maps for the memory stores and caches. lru-cache preallocates
// every slot when bounded by `max` (for 100,000 entries about 2.7 MB per
// cache, 1.6 MB more with TTLs), paid at boot by a sidecar whose caches
// mostly hold a handful of entries. Bounding by `maxSize` with every entry
// counting 1 keeps the same limit and grows the storage with use.
import { LRUCache } from 'lru-cache'

const ONE = (): number => 1

/** At most `maxEntries` entries, least recently used evicted first; `ttlMs` sets a default lifetime. */
export function boundedLru<K extends NonNullable<unknown>, V extends NonNullable<unknown>> (maxEntries: number, ttlMs?: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: maxEntries, sizeCalculation: ONE, ...(ttlMs !== undefined ? { ttl: ttlMs } : {}) })
}
