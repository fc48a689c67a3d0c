import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { type LoadResult, type LoadSpec, summarize } from './load-spec.js'
import { snapshot, usageBetween } from './proc.js'

// Closed-loop throughput with autocannon: a fixed number of connections, each sending its next
// request as soon as the previous answer arrived. A warm-up run first, then the measured run.
//
//   node --import tsx bench/closed-loop.ts <spec.json>    (prints one JSON LoadResult line)

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec
const watch = { ...spec.watch, generator: process.pid }
const requests = spec.requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) }))

function run (seconds: number, onResponse?: (status: number, ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: spec.origin,
      connections: spec.connections,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      requests
    }, (err, result) => { if (err) reject(err); else resolve(result) })
    if (onResponse) instance.on('response', (_client, statusCode, _bytes, responseTime) => onResponse(statusCode, responseTime))
  })
}

const latencies: number[] = []
const errorKinds: Record<string, number> = {}
let errors = 0

if (spec.warmupSeconds > 0) await run(spec.warmupSeconds)
const start = snapshot(watch)
const began = performance.now()
const result = await run(spec.durationSeconds, (status, ms) => {
  latencies.push(ms)
  if (status !== spec.expectStatus) {
    errors++
    errorKinds[`status ${status}`] = (errorKinds[`status ${status}`] ?? 0) + 1
  }
})
const end = snapshot(watch)
const seconds = (performance.now() - began) / 1000
if (result.errors > 0) { errors += result.errors; errorKinds.socket = result.errors }
if (result.timeouts > 0) errorKinds.timeout = result.timeouts

const out: LoadResult = {
  kind: 'closed',
  rps: latencies.length / seconds,
  requests: latencies.length,
  errors,
  errorKinds,
  latency: summarize(latencies),
  usage: usageBetween(start, end)
}
process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0))
