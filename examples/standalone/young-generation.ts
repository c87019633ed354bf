// V8 keeps new objects in a young generation that it grows, semi-space by
// semi-space, when many of them survive its collections: a connection storm
// (a game night starting, players reconnecting after a network blip) grows it
// up to 64 MB per semi-space on a 64-bit machine, and an idle process keeps
// it. On a sidecar that is mostly idle connections, that is most of its
// memory, and it keeps growing with each larger storm. Capped at 8 MB per
// semi-space, the rooms-load benchmark (1,000 idle players) measured no loss
// of join or relay throughput and about half the RSS per idle Socket.IO
// connection. So the standalone server starts itself with that cap, unless
// whoever runs it has set one (NODE_OPTIONS or the node command line).

/** The cap the standalone server runs with unless one is set: MB per semi-space. */
export const SEMI_SPACE_MB = 8

const SEMI_SPACE_FLAG = /^--max[-_]semi[-_]space[-_]size(?:=(.*))?$/

/**
 * The `--max-semi-space-size` in force: its value as given (the command line
 * wins over NODE_OPTIONS, as in Node), or undefined when V8 sizes the young
 * generation itself.
 */
export function semiSpaceSetting (execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  let setting: string | undefined
  for (const args of [(nodeOptions ?? '').split(/\s+/), execArgv]) {
    args.forEach((arg, at) => {
      const match = SEMI_SPACE_FLAG.exec(arg)
      if (match !== null) setting = match[1] ?? args[at + 1] ?? ''
    })
  }
  return setting
}

/**
 * Replaces this process with itself plus `--max-semi-space-size=8` (same
 * pid, same file descriptors) when no cap is set and the platform can
 * (`process.execve`: POSIX); returns otherwise, and the server runs on V8's
 * default sizing. Call it before anything else.
 */
export function execWithYoungGenerationCap (): void {
  if (semiSpaceSetting(process.execArgv, process.env.NODE_OPTIONS) !== undefined) return
  if (typeof process.execve !== 'function' || process.argv[1] === undefined) return
  try {
    process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${SEMI_SPACE_MB}`, ...process.execArgv, ...process.argv.slice(1)], process.env)
  } catch {
    // Not replaced (the error is the OS's): run as started; main() logs the sizing in force.
  }
}
