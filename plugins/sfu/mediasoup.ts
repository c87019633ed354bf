// mediasoup is an optional dependency: its install step fetches or builds a
// native worker, which not every machine can do. It is loaded on demand so
// the package (and every non-SFU plugin) works without it, and a missing
// module becomes a coded boot error that says how to install it.
import type * as Mediasoup from 'mediasoup'
import { MediasoupMissingError } from './errors.ts'

export type MediasoupModule = typeof Mediasoup
export type { types as ms } from 'mediasoup'

/** Imports mediasoup, or throws FST_NETPLAY_SFU_MEDIASOUP_MISSING. `specifier` exists for tests. */
export async function loadMediasoup (specifier = 'mediasoup'): Promise<MediasoupModule> {
  try {
    const loaded = await import(specifier) as MediasoupModule & { default?: MediasoupModule }
    return typeof loaded.createWorker === 'function' ? loaded : (loaded.default as MediasoupModule)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new MediasoupMissingError(`cannot find module "${specifier}"`)
    throw new MediasoupMissingError((err as Error).message)
  }
}

/** mediasoup's own parameter errors (TypeError, UnsupportedError) are the caller's fault, not ours. */
export function isParameterError (err: unknown): boolean {
  return err instanceof TypeError || (err instanceof Error && err.name === 'UnsupportedError')
}

/** The worker binary mediasoup will run with these settings (for error messages). */
export function workerBinOf (mediasoup: MediasoupModule, workerBin: string | undefined): string {
  return workerBin ?? process.env.MEDIASOUP_WORKER_BIN ?? mediasoup.workerBin
}
