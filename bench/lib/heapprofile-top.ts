// Summarises V8 sampling heap profiles (e.g. from `rooms-load.bench.ts
// --alloc-profile`): bytes allocated by package and the top allocating
// functions, each with the caller that led to it (where a hot allocation
// comes from is usually one frame up).
//
//   npx node bench/lib/heapprofile-top.ts <file.heapprofile>... [--top 30] [--per N]
//   (several profiles, e.g. the bursts of one case, are summed; --per N also
//    prints bytes per unit of work, e.g. --per 1000 for 1,000 joins a burst)
import { readFileSync } from 'node:fs'
import { packageOf } from './cpuprofile-top.ts'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface HeapNode { callFrame: CallFrame, selfSize: number, id: number, children: HeapNode[] }
interface HeapProfile { head: HeapNode }

const where = (frame: CallFrame): string =>
  `${frame.functionName || '(anonymous)'}  ${frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(plugins|lib|bench)\//, '$1/')}:${frame.lineNumber + 1}`

export function summarise (profile: HeapProfile): { total: number, byPackage: Map<string, number>, bySite: Map<string, number> } {
  const byPackage = new Map<string, number>()
  const bySite = new Map<string, number>()
  let total = 0
  const walk = (node: HeapNode, caller: CallFrame | undefined): void => {
    if (node.selfSize > 0) {
      total += node.selfSize
      const pkg = packageOf(node.callFrame.url, node.callFrame.functionName)
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + node.selfSize)
      const site = caller === undefined ? where(node.callFrame) : `${where(node.callFrame)}\n            <- ${where(caller)}`
      bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    }
    for (const child of node.children) walk(child, node.callFrame)
  }
  walk(profile.head, undefined)
  return { total, byPackage, bySite }
}

if (import.meta.main) {
  const option = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`)
    return i === -1 ? undefined : process.argv[i + 1]
  }
  const files = process.argv.slice(2).filter((arg) => arg.endsWith('.heapprofile'))
  if (files.length === 0) {
    console.error('usage: npx node bench/lib/heapprofile-top.ts <file.heapprofile>... [--top 30] [--per N]  (several files are summed)')
    process.exit(2)
  }
  const top = Number(option('top') ?? 30)
  const per = option('per') === undefined ? undefined : Number(option('per')) * files.length
  const byPackage = new Map<string, number>()
  const bySite = new Map<string, number>()
  let total = 0
  for (const file of files) {
    const one = summarise(JSON.parse(readFileSync(file, 'utf8')) as HeapProfile)
    total += one.total
    for (const [k, v] of one.byPackage) byPackage.set(k, (byPackage.get(k) ?? 0) + v)
    for (const [k, v] of one.bySite) bySite.set(k, (bySite.get(k) ?? 0) + v)
  }
  const sorted = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1])
  const figure = (bytes: number): string => `${(bytes / 1024).toFixed(0).padStart(8)} KB ${(100 * bytes / total).toFixed(1).padStart(5)}%${per === undefined ? '' : `${(bytes / per).toFixed(0).padStart(7)} B/unit`}`
  console.log(`${files.length} profile(s): ${(total / 1024 / 1024).toFixed(1)} MB allocated (sampled, collected objects included)${per === undefined ? '' : `, ${(total / per / 1024).toFixed(1)} KB per unit`}\n\nallocated by package`)
  for (const [pkg, bytes] of sorted(byPackage).slice(0, 20)) console.log(`${figure(bytes)}  ${pkg}`)
  console.log(`\ntop ${top} allocating functions (with their caller)`)
  for (const [site, bytes] of sorted(bySite).slice(0, top)) console.log(`${figure(bytes)}  ${site}`)
}
