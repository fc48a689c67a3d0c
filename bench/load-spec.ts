// The contract between the orchestrator (bench/run.ts) and its load generators
// (bench/open-loop.ts, bench/closed-loop.ts), which run as separate pinned processes.

export interface RequestTemplate {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
  /** send the generator's cookie jar (filled from Set-Cookie of earlier answers) */
  useJar?: boolean
}

export interface LoadSpec {
  origin: string
  connections: number
  warmupSeconds: number
  durationSeconds: number
  /** cycled in order, one per request */
  requests: RequestTemplate[]
  /** open loop only: requests per second, scheduled at a steady pace */
  rate?: number
  /** processes whose CPU time is read at the start and end of the measured window */
  watch: Record<string, number>
  /** open loop only: read this process's VmRSS once a second */
  rssPid?: number
  /** expected status per path; anything else counts as an error */
  expectStatus: number
  /** closed loop: no two requests in flight use the same template (default: each connection cycles the list) */
  distinct?: boolean
  /** closed loop only: the generator (default autocannon) */
  tool?: 'autocannon' | 'wrk'
}

export interface Latency { p50: number; p90: number; p99: number; p999: number; max: number; mean: number }

export interface LoadResult {
  kind: 'open' | 'closed'
  /** closed loop: the generator used */
  tool?: 'autocannon' | 'wrk'
  /** completed requests per second in the measured window */
  rps: number
  requests: number
  errors: number
  /** statuses other than the expected one, and socket errors, by name */
  errorKinds: Record<string, number>
  /** ms; open loop: from the scheduled send time */
  latency: Latency
  usage: import('./proc.js').Usage
  /** open loop: how late requests were issued, ms (the generator's own scheduling lag) */
  issueLag?: Latency
  /** open loop: latency from the moment the request was actually issued, ms (diagnostic) */
  fromIssue?: Latency
  /** open loop with rssPid: [seconds since the measured window started, bytes] */
  rss?: Array<[number, number]>
}

/** Percentiles of latencies (ms), nearest rank. */
export function summarize (values: Float64Array | number[]): Latency {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  if (n === 0) return { p50: NaN, p90: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN }
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] ?? NaN
  let sum = 0
  for (const v of sorted) sum += v
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: sorted[n - 1] ?? NaN, mean: sum / n }
}
