import type { LoadResult } from './load-spec.js'
import type { LogSummary } from './log-scanner.js'

// The table printed at the end of npm run bench, and the performance targets (docs/performance.md) checked against the
// medians. Ratios are computed within each repetition (service / upstream-direct measured minutes
// apart) and the median of those is reported: the host's speed drifts, ratios do not.

export interface PhaseRecord {
  rep: number
  attempt: number
  name: string
  kind: 'closed' | 'open'
  sut: 'upstream' | 'service'
  result: LoadResult
  sutCpuUsPerRequest: number | undefined
  /** CPU the measured process used, in cores (1 = one core flat out) */
  sutCoreBusy: number | undefined
  loadCoreBusy: number | undefined
  generatorCores: number | undefined
  foreignCores: number | undefined
  /** requests the fake upstream behind the service received during the phase (warm-up included) */
  upstreamCalls: Record<string, number>
  logLines?: number
  noisy?: boolean
}

export interface EldSample { t: number; p50: number; p99: number; max: number; mean: number; rss: number }

export interface Target { target: string; measured: string; pass: boolean | undefined }

export interface Summary {
  rows: Array<{ name: string; reps: number; rps: number; p50: number; p99: number; cpuUsPerRequest: number | undefined; sutCoreBusy: number | undefined; ratio?: number; cpuRatio?: number; added?: { p50: number; p99: number } }>
  ratios: Record<string, number[]>
  targets: Target[]
  sustained?: { rssMinute1: number; rssMinute2: number; growth: number; eldP99Max: number; eldP50Median: number; eldMax: number; errors: number; rps: number; p50: number; p99: number }
}

export interface RunResult {
  startedAt: string
  endedAt: string
  machine: { cpus: number; cpuModel: string; node: string; pinned: boolean; loadavgAtEnd: number[] }
  settings: Record<string, unknown>
  answers: Record<string, number>
  functional: { login: string; session: string; verify: string; verifyUpstreamCalls?: Record<string, number>; problems: string[] }
  records: PhaseRecord[]
  sustained?: { record: PhaseRecord; eld: EldSample[] }
  logs: LogSummary
  summary?: Summary
}

export function median (values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

const PAIRS: Array<[string, string]> = [
  ['service login', 'upstream login'],
  ['service session', 'upstream session'],
  ['service verify', 'upstream session']
]

function byRep (records: PhaseRecord[], name: string): Map<number, PhaseRecord> {
  return new Map(records.filter((r) => r.name === name).map((r) => [r.rep, r]))
}

function paired (records: PhaseRecord[], a: string, b: string, f: (x: PhaseRecord, y: PhaseRecord) => number): number[] {
  const left = byRep(records, a)
  const right = byRep(records, b)
  const out: number[] = []
  for (const [rep, x] of left) {
    const y = right.get(rep)
    if (y) out.push(f(x, y))
  }
  return out
}

const pct = (v: number) => Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a'
const ms = (v: number) => Number.isFinite(v) ? v.toFixed(2) : 'n/a'
const signedMs = (v: number) => Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms` : 'n/a'

export function report (run: RunResult): { text: string; summary: Summary } {
  const records = run.records
  const rate = String(run.settings.rate)
  const names = [...new Set(records.map((r) => r.name))]
  const ratios: Record<string, number[]> = {}

  const rows: Summary['rows'] = names.map((name) => {
    const list = records.filter((r) => r.name === name)
    const row: Summary['rows'][number] = {
      name,
      reps: list.length,
      rps: median(list.map((r) => r.result.rps)),
      p50: median(list.map((r) => r.result.latency.p50)),
      p99: median(list.map((r) => r.result.latency.p99)),
      cpuUsPerRequest: list.some((r) => r.sutCpuUsPerRequest !== undefined) ? median(list.map((r) => r.sutCpuUsPerRequest ?? NaN)) : undefined,
      sutCoreBusy: list.some((r) => r.sutCoreBusy !== undefined) ? median(list.map((r) => r.sutCoreBusy ?? NaN)) : undefined
    }
    const base = name.replace(/ @\d+$/, '')
    const pair = PAIRS.find(([svc]) => svc === base)
    if (pair) {
      const other = name.endsWith(`@${rate}`) ? `${pair[1]} @${rate}` : pair[1]
      if (name.endsWith(`@${rate}`)) {
        const p50 = paired(records, name, other, (x, y) => x.result.latency.p50 - y.result.latency.p50)
        const p99 = paired(records, name, other, (x, y) => x.result.latency.p99 - y.result.latency.p99)
        ratios[`${name} added p50 ms`] = p50
        ratios[`${name} added p99 ms`] = p99
        row.added = { p50: median(p50), p99: median(p99) }
      } else {
        const r = paired(records, name, other, (x, y) => x.result.rps / y.result.rps)
        ratios[`${name} / ${other}`] = r
        row.ratio = median(r)
        // what the ratio would be with both processes running their core flat out
        const c = paired(records, name, other, (x, y) => (y.sutCpuUsPerRequest ?? NaN) / (x.sutCpuUsPerRequest ?? NaN))
        ratios[`${name} / ${other} by CPU per request`] = c
        row.cpuRatio = median(c)
      }
    }
    return row
  })
  const verifyVsSession = paired(records, 'service verify', 'service session', (x, y) => x.result.rps / y.result.rps)
  ratios['service verify / service session'] = verifyVsSession

  const targets: Target[] = []
  const login = median(ratios['service login / upstream login'] ?? [])
  const byCpu = (key: string) => pct(median(ratios[`${key} by CPU per request`] ?? []))
  targets.push({ target: 'login >= 22% of upstream-direct throughput (production logging)', measured: `${pct(login)} (per rep: ${(ratios['service login / upstream login'] ?? []).map(pct).join(', ')}; by CPU per request: ${byCpu('service login / upstream login')})`, pass: Number.isFinite(login) ? login >= 0.22 : undefined })
  const loginOpen = rows.find((r) => r.name === `service login @${rate}`)
  targets.push({ target: `login @${rate} req/s: added p50 <= 0.5 ms`, measured: signedMs(loginOpen?.added?.p50 ?? NaN), pass: Number.isFinite(loginOpen?.added?.p50) ? (loginOpen?.added?.p50 ?? NaN) <= 0.5 : undefined })
  targets.push({ target: `login @${rate} req/s: added p99 <= 2 ms`, measured: signedMs(loginOpen?.added?.p99 ?? NaN), pass: Number.isFinite(loginOpen?.added?.p99) ? (loginOpen?.added?.p99 ?? NaN) <= 2 : undefined })
  const verifyRatio = median(ratios['service verify / upstream session'] ?? [])
  const verifyMissing = run.functional.verify === 'missing'
  targets.push({ target: 'verify (fresh JWT) >= 75% of upstream-direct sessions/authenticate', measured: verifyMissing ? 'GET /auth/verify is missing (404)' : `${pct(verifyRatio)} (per rep: ${(ratios['service verify / upstream session'] ?? []).map(pct).join(', ')}; by CPU per request: ${byCpu('service verify / upstream session')})`, pass: Number.isFinite(verifyRatio) ? verifyRatio >= 0.75 : undefined })
  const vs = median(verifyVsSession)
  targets.push({ target: 'verify >= 4x GET /auth/session', measured: verifyMissing ? 'missing' : `${Number.isFinite(vs) ? vs.toFixed(2) : 'n/a'}x`, pass: Number.isFinite(vs) ? vs >= 4 : undefined })
  const verifyRecords = records.filter((r) => r.name.startsWith('service verify'))
  const verifyCalls = verifyRecords.reduce((sum, r) => sum + Object.values(r.upstreamCalls).reduce((a, b) => a + b, 0), 0)
  targets.push({ target: 'verify makes zero upstream calls', measured: verifyMissing ? 'missing' : `${verifyCalls} upstream calls in ${verifyRecords.length} verify phases`, pass: verifyRecords.length > 0 ? verifyCalls === 0 : undefined })

  let sustained: Summary['sustained']
  if (run.sustained) {
    const s = run.sustained
    const seconds = Number(run.settings.sustainSeconds)
    const rss = s.record.result.rss ?? []
    const window = Math.min(10, seconds / 4)
    const rssAt = (end: number) => median(rss.filter(([t]) => t > end - window && t <= end + 0.5).map(([, b]) => b))
    const rssMinute1 = rssAt(seconds / 2)
    const rssMinute2 = rssAt(seconds)
    sustained = {
      rssMinute1,
      rssMinute2,
      growth: (rssMinute2 - rssMinute1) / rssMinute1,
      eldP99Max: Math.max(...s.eld.map((e) => e.p99)),
      eldP50Median: median(s.eld.map((e) => e.p50)),
      eldMax: Math.max(...s.eld.map((e) => e.max)),
      errors: s.record.result.errors,
      rps: s.record.result.rps,
      p50: s.record.result.latency.p50,
      p99: s.record.result.latency.p99
    }
    targets.push({ target: `RSS growth < 5% between ${seconds === 120 ? 'minute 1 and minute 2' : `t=${seconds / 2}s and t=${seconds}s`} of the sustained run`, measured: `${pct(sustained.growth)} (${(rssMinute1 / 2 ** 20).toFixed(1)} -> ${(rssMinute2 / 2 ** 20).toFixed(1)} MiB)`, pass: Number.isFinite(sustained.growth) ? sustained.growth < 0.05 : undefined })
  } else {
    targets.push({ target: 'RSS growth < 5% over the sustained run', measured: 'not run (BENCH_SUSTAIN_SECONDS=0)', pass: undefined })
  }
  const all = [...records, ...(run.sustained ? [run.sustained.record] : [])]
  const errorCount = all.reduce((sum, r) => sum + r.result.errors, 0)
  const kinds: Record<string, number> = {}
  for (const r of all) for (const [k, n] of Object.entries(r.result.errorKinds)) kinds[k] = (kinds[k] ?? 0) + n
  targets.push({ target: 'no error responses', measured: errorCount === 0 ? '0 errors' : `${errorCount} errors: ${JSON.stringify(kinds)}`, pass: errorCount === 0 })
  const leaks = Object.keys(run.logs.leaks).length
  targets.push({ target: 'logs: request lines at info, nothing secret', measured: `${run.logs.requestLines} request lines in ${run.logs.lines} lines; ${leaks === 0 ? 'no secret found' : `SECRETS FOUND: ${JSON.stringify(run.logs.leaks)}`}`, pass: run.logs.requestLines > 0 && leaks === 0 })

  // ---- text
  const out: string[] = []
  out.push('')
  out.push(`stytch-bff benchmark, ${run.startedAt} (${run.machine.cpus} x ${run.machine.cpuModel}, Node ${run.machine.node}, ${run.machine.pinned ? 'pinned: service on core 1, load + fake upstream on core 0' : 'NOT pinned'})`)
  out.push(`${String(run.settings.repeat)} repetitions, medians; closed loop: ${String(run.settings.closedLoop)} ${String(run.settings.connections)} connections, ${String(run.settings.durationSeconds)} s; open loop: ${rate} req/s steady, latency from the scheduled time`)
  out.push(`upstream answers: login ${run.answers.upstreamLoginBytes} B, sessions/authenticate ${run.answers.upstreamSessionBytes} B, session JWT ${run.answers.sessionJwtBytes} B`)
  out.push('')
  const header = ['phase', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'SUT CPU', 'vs upstream', 'by CPU']
  const table = rows.map((r) => [
    r.name,
    Math.round(r.rps).toString(),
    ms(r.p50),
    ms(r.p99),
    r.cpuUsPerRequest === undefined || !Number.isFinite(r.cpuUsPerRequest) ? 'n/a' : Math.round(r.cpuUsPerRequest).toString(),
    r.sutCoreBusy === undefined || !Number.isFinite(r.sutCoreBusy) ? 'n/a' : `${Math.round(r.sutCoreBusy * 100)}%`,
    r.ratio !== undefined ? pct(r.ratio) : r.added ? `${signedMs(r.added.p50)} / ${signedMs(r.added.p99)}` : '',
    r.cpuRatio !== undefined ? pct(r.cpuRatio) : ''
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)).join('  ')
  out.push(line(header))
  out.push(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of table) out.push(line(row))
  out.push(`(vs upstream: closed loop = throughput ratio to the same call made directly; @${rate} = added p50 / added p99 over upstream-direct at the same rate.`)
  out.push(' by CPU = upstream CPU per request / service CPU per request: the throughput ratio if both ran their core flat out, whatever the generator can do)')
  if (Number.isFinite(vs)) out.push(`verify / session throughput: ${vs.toFixed(2)}x`)
  const bound = records.filter((r) => r.kind === 'closed' && r.sutCoreBusy !== undefined && r.sutCoreBusy < 0.85)
  if (bound.length > 0) out.push(`note: in ${bound.length} closed-loop phase(s) the measured process used under 85% of its core (${[...new Set(bound.map((r) => r.name))].join(', ')}): the load generator was the limit there; a ratio against such an upstream row flatters the service (see "by CPU")`)
  const noisy = records.filter((r) => r.noisy)
  if (noisy.length > 0) out.push(`note: ${noisy.length} phase(s) kept more than the allowed foreign CPU load after retries: ${noisy.map((r) => `${r.name} rep ${r.rep}`).join(', ')}`)
  if (sustained) {
    out.push('')
    out.push(`sustained ${String(run.settings.sustainSeconds)} s @${rate} req/s: ${Math.round(sustained.rps)} req/s, p50 ${ms(sustained.p50)} ms, p99 ${ms(sustained.p99)} ms, errors ${sustained.errors}; ` +
      `RSS ${(sustained.rssMinute1 / 2 ** 20).toFixed(1)} -> ${(sustained.rssMinute2 / 2 ** 20).toFixed(1)} MiB (${pct(sustained.growth)}); event-loop delay p50 ${ms(sustained.eldP50Median)} ms, worst 1-s p99 ${ms(sustained.eldP99Max)} ms, max ${ms(sustained.eldMax)} ms`)
  }
  out.push('')
  out.push('targets:')
  for (const t of targets) out.push(`  ${t.pass === undefined ? 'n/a ' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.measured}`)
  return { text: out.join('\n'), summary: { rows, ratios, targets, ...(sustained ? { sustained } : {}) } }
}
