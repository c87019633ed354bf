// Whether a real mediasoup worker can run here. The worker binary comes from
// MEDIASOUP_WORKER_BIN, else from where mediasoup's install step puts it.
// Tests that need one skip with this one line when there is none.
import { accessSync, constants } from 'node:fs'
import { createRequire } from 'node:module'

function executable (path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The worker binary to use, or null. */
export function workerBinary (): string | null {
  const fromEnv = process.env.MEDIASOUP_WORKER_BIN
  if (fromEnv !== undefined && fromEnv !== '') return executable(fromEnv) ? fromEnv : null
  try {
    const root = createRequire(import.meta.url).resolve('mediasoup/package.json').replace(/package\.json$/, '')
    const installed = `${root}worker/out/Release/mediasoup-worker`
    return executable(installed) ? installed : null
  } catch {
    return null
  }
}

export const WORKER_SKIP = 'no mediasoup worker here (set MEDIASOUP_WORKER_BIN to a worker binary to run the SFU tests)'

/** `{ skip }` for t.test: false when a worker exists, else the reason. */
export function needsWorker (): { skip: string | false } {
  return { skip: workerBinary() === null ? WORKER_SKIP : false }
}
