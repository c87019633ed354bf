// Summarises a V8 .cpuprofile (e.g. from `rooms-load.bench.ts --profile`):
// top self-time functions, and self time by package (our code, socket.io,
// engine.io, ws, fastify, node internals, GC).
//
//   npx node bench/lib/cpuprofile-top.ts <file.cpuprofile>... [--phase join|relay] [--top 30]
//   (several profiles, e.g. the rounds of one case, are summed)
//
// --phase keeps only the samples between the bench's phase marks
// (<file>.marks.json, written by the server child when profiling).
import { existsSync, readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export function packageOf (url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url)
  }
  if (url.startsWith('node:')) return 'node'
  if (url.includes('/plugins/') || url.includes('/lib/') || url.endsWith('/index.ts')) {
    const m = /\/(plugins\/[^/]+|lib|bench)\//.exec(url)
    return `ours:${m?.[1] ?? 'index'}`
  }
  return url
}

export function summarise (profile: Profile, window?: { from: number, to: number }): { totalMs: number, byFunction: Array<[string, number]>, byPackage: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (window !== undefined && (at < window.from || at > window.to)) continue
    const id = profile.samples[i] as number
    self.set(id, (self.get(id) ?? 0) + delta)
  }
  const fnTotals = new Map<string, number>()
  const pkgTotals = new Map<string, number>()
  let total = 0
  for (const [id, us] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame
    if (frame.functionName === '(idle)') continue
    total += us
    const file = frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(plugins|lib|bench)\//, '$1/')
    const key = `${frame.functionName || '(anonymous)'}  ${file}:${frame.lineNumber + 1}`
    fnTotals.set(key, (fnTotals.get(key) ?? 0) + us)
    const pkg = packageOf(frame.url, frame.functionName)
    pkgTotals.set(pkg, (pkgTotals.get(pkg) ?? 0) + us)
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000])
  return { totalMs: total / 1000, byFunction: sorted(fnTotals), byPackage: sorted(pkgTotals) }
}

if (import.meta.main) {
  const option = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? undefined : process.argv[i + 1]
  }
  const files = process.argv.slice(2).filter((arg, i, all) => arg.endsWith('.cpuprofile') && !(all[i - 1] ?? '').startsWith('--'))
  if (files.length === 0) {
    console.error('usage: npx node bench/lib/cpuprofile-top.ts <file.cpuprofile>... [--phase join|relay] [--top 30]  (several files are summed)')
    process.exit(2)
  }
  const top = Number(option('top') ?? 30)
  const phase = option('phase')
  const fnTotals = new Map<string, number>()
  const pkgTotals = new Map<string, number>()
  let totalMs = 0
  let wallMs = 0
  for (const file of files) {
    let window: { from: number, to: number } | undefined
    if (phase !== undefined) {
      const marksFile = `${file}.marks.json`
      const marks = existsSync(marksFile) ? JSON.parse(readFileSync(marksFile, 'utf8')) as Record<string, number> : {}
      const from = marks[`${phase}-start`]
      const to = marks[`${phase}-end`]
      if (from === undefined || to === undefined) {
        console.error(`no ${phase}-start/${phase}-end marks in ${marksFile}`)
        process.exit(2)
      }
      window = { from, to }
      wallMs += (to - from) / 1000
    }
    const one = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, window)
    totalMs += one.totalMs
    for (const [k, v] of one.byFunction) fnTotals.set(k, (fnTotals.get(k) ?? 0) + v)
    for (const [k, v] of one.byPackage) pkgTotals.set(k, (pkgTotals.get(k) ?? 0) + v)
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1])
  const span = phase === undefined ? '' : `, phase ${phase} (${wallMs.toFixed(0)} ms wall)`
  console.log(`${files.length} profile(s): ${totalMs.toFixed(0)} ms busy (idle excluded)${span}\n\nself time by package`)
  for (const [pkg, ms] of sorted(pkgTotals).slice(0, 20)) console.log(`${ms.toFixed(1).padStart(9)} ms ${(100 * ms / totalMs).toFixed(1).padStart(5)}%  ${pkg}`)
  console.log(`\ntop ${top} functions by self time`)
  for (const [fn, ms] of sorted(fnTotals).slice(0, top)) console.log(`${ms.toFixed(1).padStart(9)} ms ${(100 * ms / totalMs).toFixed(1).padStart(5)}%  ${fn}`)
}
