// Headless Chromium (Debian's, never a downloaded one) driven by
// playwright-core, for the demo page and the real WebRTC clients. Tests
// that need it skip with one line when it is not installed.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
export const BROWSER_SKIP = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // The demo host plays a tone through WebAudio without a click.
  '--autoplay-policy=no-user-gesture-required',
  // Background tabs keep their timers and rendering: host and guests share one browser.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'
]

export function browserSkip (): string | false {
  return existsSync(CHROMIUM) ? false : BROWSER_SKIP
}

interface Teardown { teardown (fn: () => unknown): void }

export async function launchBrowser (t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true })
  t.teardown(() => browser.close())
  return browser
}

let demoBuilt: Promise<unknown> | null = null
/** Bundles the demo page's client once per test process (esbuild, ~0.2 s). */
export async function buildDemoBundle (): Promise<void> {
  demoBuilt ??= import('../../scripts/build-demo.ts')
  await demoBuilt
}

/** Polls `window.demo.state` until `check` holds; the error names what was last seen. */
export async function waitForState<T = any> (page: Page, check: (state: any) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    last = await page.evaluate(() => (window as unknown as { demo?: { state: unknown } }).demo?.state ?? null)
    if (last !== null && check(last)) return last as T
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; state: ${JSON.stringify(last, (key, value) => key === 'events' ? (value as unknown[]).length : value)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
