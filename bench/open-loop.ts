import { readFileSync, writeFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { Pool } from 'undici'
import { type LoadResult, type LoadSpec, type RequestTemplate, summarize } from './load-spec.js'
import { processRssBytes, snapshot, type Snapshot, usageBetween } from './proc.js'

// Open-loop load at a fixed rate: request i is scheduled at t0 + i/rate whatever happened to the
// earlier ones, and its latency counts from that scheduled time (so a stalled server shows up as
// latency, not as fewer requests). How late each request actually left is reported as issueLag.
//
//   node --import tsx bench/open-loop.ts <spec.json>    (prints one JSON LoadResult line)

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec
const watch = { ...spec.watch, generator: process.pid }
const rate = spec.rate ?? 1000
const interval = 1000 / rate
const warmupCount = Math.round(rate * spec.warmupSeconds)
const total = warmupCount + Math.round(rate * spec.durationSeconds)
const measured = total - warmupCount

const pool = new Pool(spec.origin, {
  connections: spec.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
  headersTimeout: 10_000,
  bodyTimeout: 10_000
})

const jar = new Map<string, string>()
let jarHeader = ''
const usesJar = spec.requests.some((r) => r.useJar)

function updateJar (setCookie: string | string[] | undefined): void {
  if (setCookie === undefined) return
  for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const semi = line.indexOf(';')
    const pair = semi < 0 ? line : line.slice(0, semi)
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    const name = pair.slice(0, eq)
    const value = pair.slice(eq + 1)
    if (value === '' || /;\s*Max-Age=0/i.test(line)) jar.delete(name)
    else jar.set(name, value)
  }
  jarHeader = [...jar].map(([n, v]) => `${n}=${v}`).join('; ')
}

const latencies = new Float64Array(measured)
const issueLags = new Float64Array(measured)
const errorKinds: Record<string, number> = {}
let errors = 0
let completed = 0
let start: Snapshot | undefined
let end: Snapshot | undefined
const rss: Array<[number, number]> = []

function countError (kind: string, counted: boolean): void {
  errorKinds[kind] = (errorKinds[kind] ?? 0) + 1
  if (counted) errors++
}

async function fire (i: number, scheduled: number, template: RequestTemplate): Promise<void> {
  const issued = performance.now()
  const counted = i >= warmupCount
  try {
    const headers = template.useJar && jarHeader !== '' ? { ...template.headers, cookie: jarHeader } : template.headers
    const res = await pool.request({ method: template.method, path: template.path, headers, body: template.body })
    if (usesJar) updateJar(res.headers['set-cookie'])
    await res.body.dump()
    if (res.statusCode !== spec.expectStatus) countError(`status ${res.statusCode} ${template.path}`, counted)
  } catch (err) {
    countError((err as { code?: string }).code ?? (err as Error).name, counted)
  } finally {
    if (counted) {
      const now = performance.now()
      latencies[i - warmupCount] = now - scheduled
      issueLags[i - warmupCount] = issued - scheduled
      completed++
      if (completed === measured) finish(now)
    }
  }
}

let next = 0
const t0 = performance.now() + 50
const measureStart = t0 + warmupCount * interval

function tick (): void {
  const now = performance.now()
  while (next < total) {
    const scheduled = t0 + next * interval
    if (scheduled > now) break
    if (next === warmupCount) start = snapshot(watch)
    const template = spec.requests[next % spec.requests.length] as RequestTemplate
    void fire(next, scheduled, template)
    next++
  }
}

// Node's timers tick once a millisecond at best, which would send requests in clumps of two or
// three at 2000 req/s. A pacer thread sleeps (Atomics.wait, sub-millisecond, no CPU) until each
// scheduled time and wakes the main thread, which sends every request that is due.
const PACER = `
const { workerData, parentPort } = require('node:worker_threads')
const { t0, interval, total } = workerData
const cell = new Int32Array(new SharedArrayBuffer(4))
const now = () => performance.timeOrigin + performance.now()
for (let i = 0; i < total; i++) {
  const wait = t0 + i * interval - now()
  if (wait > 0.02) Atomics.wait(cell, 0, 0, wait)
  parentPort.postMessage(i)
}`
const pacer = new Worker(PACER, { eval: true, workerData: { t0: performance.timeOrigin + t0, interval, total } })
pacer.on('message', tick)
pacer.on('error', (err) => { process.stderr.write(`pacer failed: ${String(err)}\n`) })

const rssTimer = spec.rssPid === undefined
  ? undefined
  : setInterval(() => {
    const t = (performance.now() - measureStart) / 1000
    const bytes = processRssBytes(spec.rssPid as number)
    if (t >= 0 && bytes !== undefined) rss.push([Math.round(t * 10) / 10, bytes])
  }, 1000)

// Bounded: whatever is still in flight 15 s after the schedule ends is an error.
const deadline = setTimeout(() => {
  errorKinds.unfinished = measured - completed
  errors += measured - completed
  finish(performance.now())
}, (total * interval) + 15_000 + 20)

let finished = false
function finish (now: number): void {
  if (finished) return
  finished = true
  end = snapshot(watch)
  clearTimeout(deadline)
  if (rssTimer) clearInterval(rssTimer)
  void pacer.terminate()
  const seconds = (now - measureStart) / 1000
  const done = completed
  const result: LoadResult = {
    kind: 'open',
    rps: done / Math.max(seconds, 1e-9),
    requests: done,
    errors,
    errorKinds,
    // unfinished requests (deadline) have no latency: leave their zero slots out
    latency: summarize(done === measured ? latencies : latencies.filter((v) => v > 0)),
    issueLag: summarize(done === measured ? issueLags : issueLags.filter((_, i) => (latencies[i] ?? 0) > 0)),
    fromIssue: summarize(Float64Array.from(latencies, (v, i) => v - (issueLags[i] ?? 0)).filter((_, i) => (latencies[i] ?? 0) > 0)),
    usage: usageBetween(start ?? end, end),
    ...(rss.length > 0 ? { rss } : {})
  }
  if (process.env.BENCH_DUMP_SLOW) {
    const slow: string[] = []
    for (let i = 0; i < measured; i++) if ((latencies[i] ?? 0) > 5) slow.push(`${((i * interval) / 1000).toFixed(3)} ${(latencies[i] ?? 0).toFixed(1)} ${(issueLags[i] ?? 0).toFixed(1)}`)
    writeFileSync(process.env.BENCH_DUMP_SLOW, slow.join('\n') + '\n')
  }
  process.stdout.write(JSON.stringify(result) + '\n', () => {
    void pool.destroy().finally(() => process.exit(0))
  })
}
