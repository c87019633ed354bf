// Runs every bench/*.bench.ts, one after the other (never in parallel: each
// wants the machine to itself), each in its own Node process. Arguments name
// a subset: `npm run bench -- auth-verify http-overhead`.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'

const dir = fileURLToPath(new URL('.', import.meta.url))
const wanted = process.argv.slice(2)
const scripts = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort()

const unknown = wanted.filter((name) => !scripts.includes(name))
if (unknown.length > 0) {
  console.error(`no such bench: ${unknown.join(', ')}`)
  process.exit(2)
}

const outcomes: Array<[string, string]> = []
for (const name of scripts) {
  console.log(`\n=== ${name} (node bench/${name}.bench.ts)\n`)
  const started = Date.now()
  const child = spawn(process.execPath, [join(dir, `${name}.bench.ts`)], { stdio: 'inherit' })
  const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null]
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  outcomes.push([name, code === 0 ? `ok (${seconds} s)` : `FAILED (${signal ?? `exit ${code}`}, ${seconds} s)`])
}

console.log('\n=== bench summary')
for (const [name, outcome] of outcomes) console.log(`${name.padEnd(24)} ${outcome}`)
if (outcomes.some(([, outcome]) => outcome.startsWith('FAILED'))) process.exitCode = 1
