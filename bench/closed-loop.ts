import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import autocannon from 'autocannon'
import { type Latency, type LoadResult, type LoadSpec, summarize } from './load-spec.js'
import { childrenCpuUs, snapshot, usageBetween } from './proc.js'

// Closed-loop throughput: a fixed number of connections, each sending its next request as soon as
// the previous answer arrived. A warm-up run first, then the measured run. autocannon by default;
// wrk (spec.tool = 'wrk', from Debian's package) when asked: it costs the generator about a third
// of autocannon's CPU per request, so it can drive the fake upstream closer to its own limit.
//
//   node --import tsx bench/closed-loop.ts <spec.json>    (prints one JSON LoadResult line)

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec
const watch = { ...spec.watch, generator: process.pid }

interface Measured { requests: number; seconds: number; errors: number; errorKinds: Record<string, number>; latency: Latency }

// ---- autocannon

const requests = spec.requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) }))

// autocannon walks the requests array on each connection from the start, so concurrent requests
// would mostly be the same one. With spec.distinct, one shared counter hands out the next template
// instead, so no two requests in flight are alike (costs the generator a re-encode per request).
let next = 0
const distinct = [{ setupRequest: () => requests[next++ % requests.length] as autocannon.Request }]

function autocannonRun (seconds: number, onResponse?: (status: number, ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: spec.origin,
      connections: spec.connections,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
      requests: spec.distinct ? distinct : requests
    }, (err, result) => { if (err) reject(err); else resolve(result) })
    if (onResponse) instance.on('response', (_client, statusCode, _bytes, responseTime) => onResponse(statusCode, responseTime))
  })
}

async function withAutocannon (measureStarts: () => void): Promise<Measured> {
  if (spec.warmupSeconds > 0) await autocannonRun(spec.warmupSeconds)
  measureStarts()
  const latencies: number[] = []
  const errorKinds: Record<string, number> = {}
  let errors = 0
  const began = performance.now()
  const result = await autocannonRun(spec.durationSeconds, (status, ms) => {
    latencies.push(ms)
    if (status !== spec.expectStatus) {
      errors++
      errorKinds[`status ${status}`] = (errorKinds[`status ${status}`] ?? 0) + 1
    }
  })
  const seconds = (performance.now() - began) / 1000
  if (result.errors > 0) { errors += result.errors; errorKinds.socket = result.errors }
  if (result.timeouts > 0) errorKinds.timeout = result.timeouts
  return { requests: latencies.length, seconds, errors, errorKinds, latency: summarize(latencies) }
}

// ---- wrk: the requests are written into a Lua script it cycles through

const lua = (s: string) => `[==[${s}]==]`
function wrkScript (): string {
  const entries = spec.requests.map((r) => {
    const headers = Object.entries(r.headers).map(([k, v]) => `[ ${lua(k)} ]=${lua(v)}`).join(',')
    return `wrk.format(${lua(r.method)}, ${lua(r.path)}, {${headers}}, ${r.body === undefined ? 'nil' : lua(r.body)})`
  })
  return `
local reqs = {}
local i = 0
init = function(args)
  reqs = { ${entries.join(',\n')} }
end
request = function()
  i = i % #reqs + 1
  return reqs[i]
end
local bad = 0
response = function(status, headers, body)
  if status ~= ${spec.expectStatus} then bad = bad + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%f,"p90":%f,"p99":%f,"p999":%f,"max":%f,"mean":%f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
`
}

function wrkRun (script: string, seconds: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${spec.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', script, spec.origin], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
    child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
    child.once('error', reject)
    child.once('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
      if (code !== 0 || !line) reject(new Error(`wrk exited with ${code}: ${out.slice(-2000)}`))
      else resolve(JSON.parse(line) as Record<string, number>)
    })
  })
}

async function withWrk (measureStarts: () => void): Promise<Measured> {
  const script = join(dirname(process.argv[2] ?? '.'), 'wrk-requests.lua')
  writeFileSync(script, wrkScript())
  if (spec.warmupSeconds > 0) await wrkRun(script, spec.warmupSeconds)
  measureStarts()
  const r = await wrkRun(script, spec.durationSeconds)
  const n = (k: string) => r[k] ?? 0
  const errorKinds: Record<string, number> = {}
  for (const k of ['connect', 'read', 'write', 'timeout']) if (n(k) > 0) errorKinds[k] = n(k)
  // wrk's own "status" count is any status >= 400; the script counts anything but the expected one
  if (n('status') > 0) errorKinds['status >= 400'] = n('status')
  const ms = (k: string) => n(k) / 1000
  return {
    requests: n('requests'),
    seconds: n('us') / 1e6,
    errors: n('connect') + n('read') + n('write') + n('timeout') + n('status'),
    errorKinds,
    latency: { p50: ms('p50'), p90: ms('p90'), p99: ms('p99'), p999: ms('p999'), max: ms('max'), mean: ms('mean') }
  }
}

// The measured window's CPU: snapshots just around the measured run (warm-up excluded). wrk's CPU
// is this process's reaped children's (cutime + cstime), counted as the generator's.
let start = snapshot(watch)
let childrenBefore = 0
const measured = spec.tool === 'wrk'
  ? await withWrk(() => { start = snapshot(watch); childrenBefore = childrenCpuUs() })
  : await withAutocannon(() => { start = snapshot(watch) })
const end = snapshot(watch)
const usage = usageBetween(start, end)
const wrkCpu = spec.tool === 'wrk' ? childrenCpuUs() - childrenBefore : 0
if (wrkCpu > 0) {
  usage.cpuUs.generator = (usage.cpuUs.generator ?? 0) + wrkCpu
  if (usage.foreignCores !== undefined) usage.foreignCores = Math.max(0, usage.foreignCores - wrkCpu / 1e6 / usage.seconds)
}
const out: LoadResult = {
  kind: 'closed',
  tool: spec.tool ?? 'autocannon',
  rps: measured.requests / measured.seconds,
  requests: measured.requests,
  errors: measured.errors,
  errorKinds: measured.errorKinds,
  latency: measured.latency,
  usage
}
process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0))
