import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, setPriority, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { request } from 'undici'
import { captureFixture, type Fixture } from './fixture.js'
import type { LoadResult, LoadSpec, RequestTemplate } from './load-spec.js'
import { LogScanner } from './log-scanner.js'
import { startScriptNodeFlags } from './node-flags.js'
import { canPin, collect, firstJsonLine, freePort, killAllNow, pinSelf, start, stopAll, type Started } from './processes.js'
import { report, type PhaseRecord, type RunResult } from './report.js'

// npm run bench: a lean fake Stytch, the real service built for production and run as a child
// process, load generators in their own processes; service alone on core 1, everything else on
// core 0 (when taskset exists). See docs/performance.md for what is measured and how to read it.

const root = fileURLToPath(new URL('..', import.meta.url))
const env = process.env
const int = (name: string, fallback: number, min = 0): number => {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}`)
  return n
}
const settings = {
  repeat: int('BENCH_REPEAT', 3, 1),
  durationSeconds: int('BENCH_DURATION_SECONDS', 10, 1),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 2, 0),
  rate: int('BENCH_RATE', 2000, 1),
  connections: int('BENCH_CONNECTIONS', 50, 1),
  openConnections: int('BENCH_OPEN_CONNECTIONS', 64, 1),
  sustainSeconds: int('BENCH_SUSTAIN_SECONDS', 120, 0),
  /** a phase with more foreign CPU than this (in cores) is measured again, at most maxRetries times per run */
  noisyCores: int('BENCH_NOISY_CORES', 0.25, 0),
  maxRetries: int('BENCH_MAX_RETRIES', 4, 0),
  build: env.BENCH_SKIP_BUILD !== '1' && env.BENCH_SERVICE_DIST === undefined,
  /** comma-separated substrings: only phases whose name contains one of them (debugging) */
  phases: (env.BENCH_PHASES ?? '').split(',').map((p) => p.trim()).filter(Boolean),
  /** extra node arguments for the service, e.g. "--cpu-prof --cpu-prof-dir=bench/results/prof" */
  serviceArgs: (env.BENCH_SERVICE_ARGS ?? '').split(' ').filter(Boolean),
  /** the service's LOG_LEVEL; info is the production level the targets are about (others: comparison only) */
  logLevel: env.BENCH_LOG_LEVEL ?? 'info',
  /** the service's LOG_EXCLUDE_PATHS (default none: one request line per request, as in production by default) */
  logExcludePaths: env.BENCH_LOG_EXCLUDE_PATHS ?? '',
  /** closed-loop generator: autocannon (default, installed by npm) or wrk (Debian's package, a lighter generator) */
  closedLoop: (env.BENCH_CLOSED_LOOP === 'wrk' ? 'wrk' : 'autocannon') as 'wrk' | 'autocannon'
}
if (env.BENCH_CLOSED_LOOP !== undefined && !['wrk', 'autocannon'].includes(env.BENCH_CLOSED_LOOP)) throw new Error('BENCH_CLOSED_LOOP must be autocannon or wrk')
if (settings.closedLoop === 'wrk' && spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error) throw new Error('BENCH_CLOSED_LOOP=wrk but wrk is not installed (apt-get install wrk)')

const SERVICE_CORE = 1
const LOAD_CORE = 0
const PASSWORD = 'bench-Pa55word-never-logged'
const IDENTITIES = 500
// Clients behind the gateway: X-Forwarded-For from TEST-NET addresses (RFC 5737), never contacted.
const clientIp = (i: number) => `203.0.113.${(i % 250) + 1}`

const work = mkdtempSync(join(tmpdir(), 'stytch-bff-bench-'))
let scanner: LogScanner | undefined
let cleaned = false

async function cleanup (): Promise<void> {
  if (cleaned) return
  cleaned = true
  await stopAll()
  rmSync(work, { recursive: true, force: true })
}
process.on('exit', () => { killAllNow(); if (!cleaned) rmSync(work, { recursive: true, force: true }) })
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping every process\n`)
    void cleanup().finally(() => process.exit(130))
  })
}

function log (line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`)
}

function tsxArgs (file: string): string[] {
  return ['--import', 'tsx', join(root, 'bench', file)]
}

async function startFake (fixturePath: string, core: number, name: string): Promise<{ proc: Started; origin: string }> {
  const proc = start(process.execPath, [...tsxArgs('fake-upstream.ts'), fixturePath, '0'], { cwd: root, core })
  const { port } = await firstJsonLine<{ port: number }>(proc.child, name)
  proc.child.stdout?.resume()
  proc.child.stderr?.resume()
  return { proc, origin: `http://127.0.0.1:${port}` }
}

async function fakeStats (origin: string): Promise<Record<string, number>> {
  const res = await request(`${origin}/__bench/stats`)
  return await res.body.json() as Record<string, number>
}

function diffStats (before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [path, n] of Object.entries(after)) {
    const d = n - (before[path] ?? 0)
    if (d > 0) out[path] = d
  }
  return out
}

async function waitHealthy (origin: string, child: Started, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.child.exitCode !== null) throw new Error(`the service exited with ${child.child.exitCode}: ${scanner?.stderrTail() ?? ''}`)
    try {
      const res = await request(`${origin}/healthz`)
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`the service did not answer /healthz within ${timeoutMs} ms: ${scanner?.stderrTail() ?? ''}`)
}

// ---- the requests

function upstreamLogin (fx: Fixture): RequestTemplate[] {
  const authorization = 'Basic ' + Buffer.from(`${fx.projectId}:${fx.secret}`).toString('base64')
  return Array.from({ length: IDENTITIES }, (_, i) => ({
    method: 'POST' as const,
    path: '/v1/b2b/passwords/authenticate',
    headers: { authorization, accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ organization_id: fx.organizationId, email_address: `bench-${i}@example.com`, password: PASSWORD, session_duration_minutes: 60 })
  }))
}

function upstreamSession (fx: Fixture): RequestTemplate[] {
  const authorization = 'Basic ' + Buffer.from(`${fx.projectId}:${fx.secret}`).toString('base64')
  return [{
    method: 'POST',
    path: '/v1/b2b/sessions/authenticate',
    headers: { authorization, accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ session_token: fx.loginBody.session_token, session_duration_minutes: 60 })
  }]
}

function serviceLogin (fx: Fixture): RequestTemplate[] {
  return Array.from({ length: IDENTITIES }, (_, i) => ({
    method: 'POST' as const,
    path: '/auth/b2b/passwords/authenticate',
    headers: { 'content-type': 'application/json', 'x-csrf': '1', 'x-forwarded-for': clientIp(i), 'user-agent': 'stytch-bff-bench' },
    body: JSON.stringify({ organization_id: fx.organizationId, email_address: `bench-${i}@example.com`, password: PASSWORD })
  }))
}

function serviceGet (path: string, cookie: string, useJar = false): RequestTemplate[] {
  return Array.from({ length: 250 }, (_, i) => ({
    method: 'GET' as const,
    path,
    headers: { cookie, 'x-forwarded-for': clientIp(i), 'user-agent': 'stytch-bff-bench' },
    ...(useJar ? { useJar } : {})
  }))
}

/**
 * GET /auth/session as many different browsers would send it: one opaque session cookie each (the
 * fake upstream accepts any token). With one shared cookie the service would coalesce concurrent
 * checks of that session into one upstream call, and the phase would not measure a check per request.
 */
function serviceSessions (): RequestTemplate[] {
  return Array.from({ length: IDENTITIES }, (_, i) => ({
    method: 'GET' as const,
    path: '/auth/session',
    headers: { cookie: `__Host-stytch_session=bench-session-token-${i}-${'x'.repeat(24)}`, 'x-forwarded-for': clientIp(i), 'user-agent': 'stytch-bff-bench' }
  }))
}

/** A login through the service: the cookies a browser would hold afterwards (fresh JWT). */
async function browserLogin (serviceOrigin: string, fx: Fixture): Promise<{ cookie: string; setCookie: string[]; body: Record<string, unknown>; status: number }> {
  const template = serviceLogin(fx)[0] as RequestTemplate
  const res = await request(`${serviceOrigin}${template.path}`, { method: 'POST', headers: template.headers, body: template.body })
  const body = await res.body.json() as Record<string, unknown>
  const raw = res.headers['set-cookie']
  const setCookie = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  const cookie = setCookie.map((line) => line.split(';', 1)[0] ?? '').filter((pair) => !pair.endsWith('=')).join('; ')
  return { cookie, setCookie, body, status: res.statusCode }
}

// ---- functional check: what a user would notice, before anything is timed

interface Functional { login: string; session: string; verify: 'ok' | 'missing' | string; verifyUpstreamCalls?: Record<string, number>; problems: string[] }

async function functionalCheck (serviceOrigin: string, backendOrigin: string, fx: Fixture): Promise<Functional> {
  const problems: string[] = []
  const login = await browserLogin(serviceOrigin, fx)
  if (login.status !== 200) problems.push(`login answered ${login.status}`)
  for (const name of ['__Host-stytch_session=', '__Host-stytch_session_jwt=']) {
    const line = login.setCookie.find((l) => l.startsWith(name))
    if (!line) problems.push(`login did not set ${name.slice(0, -1)}`)
    else if (!/; HttpOnly/i.test(line) || !/; Secure/i.test(line)) problems.push(`${name.slice(0, -1)} lacks HttpOnly or Secure`)
  }
  if ('session_token' in login.body || 'session_jwt' in login.body) problems.push('login body carries a token')

  const session = await request(`${serviceOrigin}/auth/session`, { headers: { cookie: login.cookie } })
  const sessionBody = await session.body.text()
  if (session.statusCode !== 200) problems.push(`GET /auth/session answered ${session.statusCode}`)
  if (sessionBody.includes(String(fx.loginBody.session_token))) problems.push('GET /auth/session body carries the session token')

  let verify: Functional['verify'] = 'ok'
  let verifyUpstreamCalls: Record<string, number> | undefined
  const first = await request(`${serviceOrigin}/auth/verify`, { headers: { cookie: login.cookie } })
  await first.body.dump()
  if (first.statusCode === 404) {
    verify = 'missing'
  } else if (first.statusCode !== 200 || first.headers['x-stytch-member-id'] === undefined) {
    verify = `answered ${first.statusCode} without X-Stytch-Member-Id`
    problems.push(`GET /auth/verify ${verify}`)
  } else {
    const before = await fakeStats(backendOrigin)
    for (let i = 0; i < 20; i++) {
      const again = await request(`${serviceOrigin}/auth/verify`, { headers: { cookie: login.cookie } })
      await again.body.dump()
      if (again.statusCode !== 200) problems.push(`GET /auth/verify answered ${again.statusCode} on a repeat`)
    }
    verifyUpstreamCalls = diffStats(before, await fakeStats(backendOrigin))
  }
  return { login: `${login.status}`, session: `${session.statusCode}`, verify, ...(verifyUpstreamCalls ? { verifyUpstreamCalls } : {}), problems }
}

// ---- phases

interface Phase {
  name: string
  kind: 'closed' | 'open'
  sut: 'upstream' | 'service' | 'peer'
  origin: string
  requests: () => Promise<RequestTemplate[]>
  /** open loop: a fixed rate, or one computed from the records of the same repetition */
  rate?: number | ((rep: number) => number)
  durationSeconds?: number
  warmupSeconds?: number
  rssPid?: number
  /** no two requests in flight alike (different sessions must not be coalesced) */
  distinct?: boolean
}

interface Context { pids: Record<string, number>; serviceOrigin: string; backendOrigin: string; directOrigin: string; fx: Fixture }

async function runLoad (phase: Phase, ctx: Context, requests: RequestTemplate[], rate: number | undefined): Promise<LoadResult> {
  const spec: LoadSpec = {
    origin: phase.origin,
    connections: phase.kind === 'open' ? settings.openConnections : settings.connections,
    warmupSeconds: phase.warmupSeconds ?? settings.warmupSeconds,
    durationSeconds: phase.durationSeconds ?? settings.durationSeconds,
    requests,
    watch: { ...ctx.pids, orchestrator: process.pid },
    expectStatus: 200,
    ...(phase.kind === 'closed' ? { tool: settings.closedLoop, distinct: phase.distinct === true } : {}),
    ...(rate !== undefined ? { rate } : {}),
    ...(phase.rssPid !== undefined ? { rssPid: phase.rssPid } : {})
  }
  const specPath = join(work, 'spec.json')
  writeFileSync(specPath, JSON.stringify(spec))
  const proc = start(process.execPath, tsxArgs(phase.kind === 'open' ? 'open-loop.ts' : 'closed-loop.ts').concat(specPath), { cwd: root, core: LOAD_CORE })
  const out = await collect(proc.child, (spec.warmupSeconds + spec.durationSeconds + 40) * 1000)
  const line = out.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as LoadResult
  } catch {
    throw new Error(`load generator for "${phase.name}" failed (exit ${out.code}): ${out.stderr.slice(-3000)}`)
  }
}

let retriesLeft = settings.maxRetries

async function measure (phase: Phase, rep: number, ctx: Context): Promise<PhaseRecord> {
  for (let attempt = 1; ; attempt++) {
    // first the requests (a fresh login for verify), then the upstream counter
    const requests = await phase.requests()
    const before = await fakeStats(ctx.backendOrigin)
    const linesBefore = scanner?.counts()
    const rate = typeof phase.rate === 'function' ? phase.rate(rep) : phase.rate
    const result = await runLoad(phase, ctx, requests, rate)
    const upstreamCalls = phase.sut !== 'upstream' ? diffStats(before, await fakeStats(ctx.backendOrigin)) : {}
    const sutName = phase.sut === 'upstream' ? 'fakeDirect' : phase.sut
    const sutCpu = result.usage.cpuUs[sutName]
    const record: PhaseRecord = {
      rep,
      attempt,
      name: phase.name,
      kind: phase.kind,
      sut: phase.sut,
      result,
      ...(rate !== undefined ? { rate } : {}),
      sutCpuUsPerRequest: sutCpu === undefined || result.requests === 0 ? undefined : sutCpu / result.requests,
      sutCoreBusy: sutCpu === undefined ? undefined : sutCpu / 1e6 / result.usage.seconds,
      loadCoreBusy: result.usage.coreBusy?.[LOAD_CORE],
      generatorCores: result.usage.cpuUs.generator === undefined ? undefined : result.usage.cpuUs.generator / 1e6 / result.usage.seconds,
      foreignCores: result.usage.foreignCores,
      upstreamCalls,
      ...(linesBefore && scanner && phase.sut === 'service' ? { logLines: scanner.counts().lines - linesBefore.lines } : {})
    }
    const noisy = (record.foreignCores ?? 0) > settings.noisyCores
    log(`${phase.name.padEnd(28)} rep ${rep}${attempt > 1 ? ` try ${attempt}` : ''}: ${rate !== undefined && typeof phase.rate === 'function' ? `at ${rate}/s: ` : ''}${Math.round(result.rps)} req/s, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms` +
      `${record.sutCpuUsPerRequest !== undefined ? `, ${Math.round(record.sutCpuUsPerRequest)} µs CPU/req` : ''}, errors ${result.errors}` +
      `${record.foreignCores !== undefined ? `, foreign load ${(record.foreignCores * 100).toFixed(0)}% of a core` : ''}`)
    if (!noisy || retriesLeft <= 0) return { ...record, noisy }
    retriesLeft--
    log(`  other processes used ${(record.foreignCores ?? 0).toFixed(2)} cores during that phase: measuring it again`)
  }
}

// ---- main

async function main (): Promise<void> {
  const startedAt = new Date()
  mkdirSync(join(root, 'bench', 'results'), { recursive: true })
  const pinned = canPin && cpus().length >= 2
  if (pinned) pinSelf(LOAD_CORE)
  // the orchestrator only reads logs and /proc: it must never delay the load or the fake upstream
  try { setPriority(10) } catch { /* not allowed: fine */ }
  const perRep = 12 * (settings.warmupSeconds + settings.durationSeconds + 1)
  log(`${settings.repeat} repetitions x 12 phases (~${perRep} s each) + ${settings.sustainSeconds} s sustained: about ${Math.ceil((settings.repeat * perRep + settings.sustainSeconds + 30) / 60)} min. ` +
    `${pinned ? `service pinned to core ${SERVICE_CORE}, load and fake upstream to core ${LOAD_CORE}` : 'NOT pinned (taskset or a second core missing): figures are less stable'}. load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)

  if (settings.build) {
    log('building the service (tsc -p tsconfig.build.json)')
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' })
    if (tsc.status !== 0) throw new Error('the build failed; fix it or run with BENCH_SKIP_BUILD=1 against an existing dist/')
  }
  // BENCH_SERVICE_DIST: another build to measure (e.g. an older commit's dist/), compared in the same conditions
  const serverJs = join(env.BENCH_SERVICE_DIST ?? join(root, 'dist'), 'src', 'server.js')
  if (!existsSync(serverJs)) throw new Error(`${serverJs} is missing: run npm run build`)

  log('capturing the fake upstream\'s answers from the embedded emulator')
  const fx = await captureFixture()
  const fixturePath = join(work, 'fixture.json')
  writeFileSync(fixturePath, JSON.stringify(fx), { mode: 0o600 })

  // Two identical fakes: one on the load core behind the service, one on the service's core for
  // the upstream-direct phases (the system under test always has core 1 to itself).
  const backend = await startFake(fixturePath, LOAD_CORE, 'fake upstream (behind the service)')
  const direct = await startFake(fixturePath, SERVICE_CORE, 'fake upstream (direct)')

  const port = await freePort()
  const serviceEnv: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) {
    // the service gets exactly the settings below, whatever the developer's shell exports
    if (!/^(NODE_ENV|STYTCH_|HOST$|PORT$|AUTH_PREFIX|ALLOWED_ORIGINS|TRUST_PROXY|CSRF_HEADER|COOKIE_|SESSION_|JWT_|IST_|PKCE_|RESET_|LOGIN_|DISCOVERY_|VERIFY_|HIDE_|RATE_LIMIT_|REDIS_URL|UPSTREAM_|BODY_LIMIT|SHUTDOWN_|LOG_|EMULATOR_|BENCH_)/.test(k)) serviceEnv[k] = v
  }
  Object.assign(serviceEnv, {
    // Production settings except NODE_ENV, which requires an https:// upstream: the fake is plain
    // http on loopback. Logging at the production level (info) and Secure __Host- cookies.
    STYTCH_PROJECT_ID: fx.projectId,
    STYTCH_SECRET: fx.secret,
    STYTCH_API_URL: backend.origin,
    STYTCH_VERTICAL: 'b2b',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: settings.logLevel,
    LOG_EXCLUDE_PATHS: settings.logExcludePaths,
    COOKIE_SECURE: 'true',
    // a gateway in front: client IPs from X-Forwarded-For; limits high enough that load is not refused
    TRUST_PROXY: '127.0.0.1',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
    RATE_LIMIT_IDENTIFIER_PER_HOUR: '1000000',
    BENCH_ELD_FILE: join(work, 'eld.jsonl')
  })
  const serviceOrigin = `http://127.0.0.1:${port}`
  // the node flags production starts with (npm start, the Dockerfile's CMD), then BENCH_SERVICE_ARGS
  const nodeFlags = [...startScriptNodeFlags(root), ...settings.serviceArgs]
  const service = start(process.execPath, [...nodeFlags, '--import', pathToFileURL(join(root, 'bench', 'eld-probe.mjs')).href, serverJs], { cwd: root, core: SERVICE_CORE, env: serviceEnv })
  scanner = new LogScanner(service.child, [PASSWORD, fx.secret, String(fx.loginBody.session_token), 'eyJhbGciOiJSUzI1NiIs'], env.BENCH_SERVICE_LOG)
  await waitHealthy(serviceOrigin, service)
  log(`service up at ${serviceOrigin} (pid ${service.pid}, node ${nodeFlags.join(' ') || 'without flags'}), fake upstream ${backend.origin}, direct ${direct.origin}`)

  // The peer: a bare @fastify/http-proxy pass-through of the login, on the service's core, in
  // front of the same fake upstream (it idles while the service is measured, and the other way round).
  const peer = start(process.execPath, [...tsxArgs('peer-proxy.ts'), fixturePath, backend.origin], { cwd: root, core: SERVICE_CORE })
  const peerPort = (await firstJsonLine<{ port: number }>(peer.child, 'pass-through peer (@fastify/http-proxy)')).port
  peer.child.stdout?.resume()
  peer.child.stderr?.resume()
  const peerOrigin = `http://127.0.0.1:${peerPort}`
  const peerCheck = await request(`${peerOrigin}/auth/b2b/passwords/authenticate`, { method: 'POST', headers: serviceLogin(fx)[0]?.headers, body: serviceLogin(fx)[0]?.body })
  const peerBody = await peerCheck.body.json() as Record<string, unknown>
  if (peerCheck.statusCode !== 200 || typeof peerBody.session_token !== 'string') throw new Error(`the pass-through peer answered ${peerCheck.statusCode} without Stytch's answer`)
  log(`pass-through peer up at ${peerOrigin} (pid ${peer.pid})`)

  const functional = await functionalCheck(serviceOrigin, backend.origin, fx)
  if (functional.problems.length > 0) throw new Error(`functional check failed: ${functional.problems.join('; ')}`)
  log(`functional check: login ${functional.login}, session ${functional.session}, verify ${functional.verify}`)
  const verifyAvailable = functional.verify === 'ok'

  const ctx: Context = {
    pids: { service: service.pid, peer: peer.pid, fakeBackend: backend.proc.pid, fakeDirect: direct.proc.pid },
    serviceOrigin,
    backendOrigin: backend.origin,
    directOrigin: direct.origin,
    fx
  }
  const fresh = async () => (await browserLogin(serviceOrigin, fx)).cookie
  const rate = settings.rate
  const records: PhaseRecord[] = []
  // half of the login capacity the service measured in the same repetition (closed loop)
  const halfCapacity = (rep: number): number => {
    const own = records.find((r) => r.name === 'service login' && r.rep === rep)
    if (own === undefined) throw new Error('the half-capacity phases need the "service login" phase of the same repetition')
    return Math.max(1, Math.round(own.result.rps / 2))
  }
  const phases: Phase[] = [
    { name: 'upstream login', kind: 'closed', sut: 'upstream', origin: direct.origin, requests: async () => upstreamLogin(fx) },
    { name: 'peer login', kind: 'closed', sut: 'peer', origin: peerOrigin, requests: async () => serviceLogin(fx) },
    { name: 'service login', kind: 'closed', sut: 'service', origin: serviceOrigin, requests: async () => serviceLogin(fx) },
    { name: 'upstream login @half', kind: 'open', sut: 'upstream', origin: direct.origin, rate: halfCapacity, requests: async () => upstreamLogin(fx) },
    { name: 'service login @half', kind: 'open', sut: 'service', origin: serviceOrigin, rate: halfCapacity, requests: async () => serviceLogin(fx) },
    { name: 'upstream session', kind: 'closed', sut: 'upstream', origin: direct.origin, requests: async () => upstreamSession(fx) },
    { name: 'service session', kind: 'closed', sut: 'service', origin: serviceOrigin, distinct: true, requests: async () => serviceSessions() },
    ...(verifyAvailable ? [{ name: 'service verify', kind: 'closed', sut: 'service', origin: serviceOrigin, requests: async () => serviceGet('/auth/verify', await fresh()) } satisfies Phase] : []),
    { name: `upstream login @${rate}`, kind: 'open', sut: 'upstream', origin: direct.origin, rate, requests: async () => upstreamLogin(fx) },
    { name: `service login @${rate}`, kind: 'open', sut: 'service', origin: serviceOrigin, rate, requests: async () => serviceLogin(fx) },
    { name: `upstream session @${rate}`, kind: 'open', sut: 'upstream', origin: direct.origin, rate, requests: async () => upstreamSession(fx) },
    ...(verifyAvailable ? [{ name: `service verify @${rate}`, kind: 'open', sut: 'service', origin: serviceOrigin, rate, requests: async () => serviceGet('/auth/verify', await fresh()) } satisfies Phase] : [])
  ]

  const wanted = (p: Phase) => settings.phases.some((s) => p.name.includes(s))
  // a half-capacity phase needs the service's closed-loop login of its repetition
  const selected = settings.phases.length === 0 ? phases : phases.filter((p) => wanted(p) || (p.name === 'service login' && phases.some((q) => q.name.endsWith('@half') && wanted(q))))
  for (let rep = 1; rep <= settings.repeat; rep++) {
    for (const phase of selected) {
      const record = await measure(phase, rep, ctx)
      records.push(record)
      const peerRecord = records.find((r) => r.name === 'peer login' && r.rep === rep)
      if (phase.name === 'service login' && peerRecord) {
        log(`  rep ${rep}: service login / pass-through peer = ${(record.result.rps / peerRecord.result.rps).toFixed(2)}x throughput` +
          `${record.sutCpuUsPerRequest !== undefined && peerRecord.sutCpuUsPerRequest !== undefined ? `, ${(peerRecord.sutCpuUsPerRequest / record.sutCpuUsPerRequest).toFixed(2)}x by CPU per request` : ''}`)
      }
    }
  }

  // Sustained: a browser-like mix at the fixed rate; verify and session use the cookies of the
  // latest login, as a browser would.
  let sustained: RunResult['sustained']
  if (settings.sustainSeconds > 0) {
    const eldFile = join(work, 'eld.jsonl')
    writeFileSync(eldFile, '')
    const login = serviceLogin(fx)
    const cookie = await fresh()
    const mixPaths = verifyAvailable ? ['login', '/auth/verify', '/auth/verify', '/auth/verify', '/auth/session'] : ['login', '/auth/session']
    const mix = (): RequestTemplate[] => Array.from({ length: IDENTITIES }, (_, i) => {
      const what = mixPaths[i % mixPaths.length] as string
      return what === 'login' ? login[i] as RequestTemplate : serviceGet(what, cookie, true)[i % 250] as RequestTemplate
    })
    const startedMs = Date.now()
    log(`sustained run: ${settings.sustainSeconds} s at ${rate} req/s (${mixPaths.map((p) => p === 'login' ? 'login' : p.slice(6)).join(', ')})`)
    const record = await measure({ name: `sustained mix @${rate}`, kind: 'open', sut: 'service', origin: serviceOrigin, rate, warmupSeconds: 5, durationSeconds: settings.sustainSeconds, rssPid: service.pid, requests: async () => mix() }, 1, { ...ctx })
    const eld = readFileSync(eldFile, 'utf8').trim().split('\n').filter(Boolean)
      .map((line) => JSON.parse(line) as { t: number; p50: number; p99: number; max: number; mean: number; rss: number })
      .filter((s) => s.t >= startedMs + 5000)
    sustained = { record, eld }
  }

  const endedAt = new Date()
  const result: RunResult = {
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, pinned, loadavgAtEnd: loadavg() },
    settings,
    answers: {
      upstreamLoginBytes: Buffer.byteLength(JSON.stringify(fx.loginBody)),
      upstreamSessionBytes: Buffer.byteLength(JSON.stringify(fx.sessionBody)),
      sessionJwtBytes: String(fx.loginBody.session_jwt).length
    },
    functional,
    records,
    ...(sustained ? { sustained } : {}),
    logs: scanner.summary()
  }
  const { text, summary } = report(result)
  result.summary = summary
  const file = join(root, 'bench', 'results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
  process.stdout.write(text + `\nraw results: ${file}\n`)
}

try {
  await main()
  await cleanup()
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  await cleanup()
  process.exitCode = 1
}
