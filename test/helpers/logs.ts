// Captures what an app logs: pass `stream` to `Fastify({ logger: { stream } })`;
// pino writes one JSON line per call.
export interface LogCapture {
  stream: { write (line: string): void }
  /** Every line, raw, as written (what an operator's log store would hold). */
  readonly lines: string[]
  records (): Array<Record<string, unknown>>
  /** Audit lines (`audit: true`), optionally of one event. */
  audits (event?: string): Array<Record<string, unknown>>
}

export function captureLogs (): LogCapture {
  const lines: string[] = []
  const records = (): Array<Record<string, unknown>> => lines.map((line) => JSON.parse(line))
  return {
    stream: { write: (line) => { lines.push(line) } },
    lines,
    records,
    audits: (event) => records().filter((r) => r.audit === true && (event === undefined || r.event === event))
  }
}
