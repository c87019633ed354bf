// Fails `npm test` when line coverage of lib/ and plugins/ drops below 90%.
// tap writes the json-summary report; this reads the per-file entries.
// The SFU files that only run inside a mediasoup worker are left out of the
// floor (and named) when no worker exists here: their tests skip then.
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { workerBinary } from '../test/helpers/mediasoup.ts'

const WORKER_ONLY = ['plugins/sfu/service.ts', 'plugins/sfu/input-relay.ts', 'plugins/sfu/room-media.ts', 'plugins/sfu/workers.ts']
const withoutWorker = workerBinary() === null

const THRESHOLD = 90
const report = JSON.parse(readFileSync('.tap/report/coverage-summary.json', 'utf8')) as Record<string, { lines: { total: number, covered: number } }>
let total = 0
let covered = 0
const weakest: Array<[string, number]> = []
for (const [file, summary] of Object.entries(report)) {
  if (file === 'total') continue
  const path = relative(process.cwd(), file)
  if (!path.startsWith('lib/') && !path.startsWith('plugins/')) continue
  if (withoutWorker && WORKER_ONLY.includes(path)) continue
  total += summary.lines.total
  covered += summary.lines.covered
  weakest.push([path, summary.lines.total === 0 ? 100 : 100 * summary.lines.covered / summary.lines.total])
}
const percent = total === 0 ? 0 : 100 * covered / total
weakest.sort((a, b) => a[1] - b[1])
console.log(`line coverage of lib/ and plugins/: ${percent.toFixed(2)}% (${covered}/${total}); threshold ${THRESHOLD}%`)
if (withoutWorker) console.log(`  (no mediasoup worker here: ${WORKER_ONLY.join(', ')} not counted; their tests skipped)`)
for (const [path, p] of weakest.slice(0, 5)) console.log(`  ${p.toFixed(1).padStart(5)}%  ${path}`)
if (percent < THRESHOLD) {
  console.error(`coverage below ${THRESHOLD}%`)
  process.exitCode = 1
}
