import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

// Prometheus metrics (the names docs/contract.md lists): one registry per app, so several apps in one process (tests,
// the emulator) never share counters. Served by GET /metrics (routes/health.ts).

export interface Metrics {
  registry: Registry
  httpRequests: Counter<'route' | 'method' | 'status'>
  httpDuration: Histogram<'route' | 'method' | 'status'>
  upstreamRequests: Counter<'endpoint' | 'status'>
  upstreamDuration: Histogram<'endpoint' | 'status'>
  rateLimited: Counter<'limit'>
  /** rate-limit decisions taken in memory because Redis failed or was not connected */
  rateLimitRedisFailures: Counter<'reason'>
  rateLimitRedisConnected: Gauge
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Route label for requests that matched no route: one value, so scanners cannot explode cardinality. */
export const UNMATCHED_ROUTE = 'unmatched'

export function createMetrics (): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const httpDuration = new Histogram({ name: 'http_request_duration_seconds', help: 'Time to answer an HTTP request', labelNames: ['route', 'method', 'status'], buckets: SECONDS, registers })
  // Counted from the histogram when scraped: the histogram already counts every request, and a
  // second label lookup per request cost about 1% of a verify.
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    registers,
    async collect () {
      this.reset()
      for (const { metricName, labels, value } of (await httpDuration.get()).values) {
        if (metricName === 'http_request_duration_seconds_count') this.inc(labels as Record<'route' | 'method' | 'status', string>, value)
      }
    }
  })
  return {
    registry,
    httpRequests,
    httpDuration,
    upstreamRequests: new Counter({ name: 'stytch_upstream_requests_total', help: 'Calls to Stytch, by Stytch path and HTTP status (or BFF error type when no usable answer came)', labelNames: ['endpoint', 'status'], registers }),
    upstreamDuration: new Histogram({ name: 'stytch_upstream_duration_seconds', help: 'Duration of calls to Stytch', labelNames: ['endpoint', 'status'], buckets: SECONDS, registers }),
    rateLimited: new Counter({ name: 'rate_limited_total', help: 'Requests refused with 429, by limit (global, auth, identifier)', labelNames: ['limit'], registers }),
    rateLimitRedisFailures: new Counter({ name: 'rate_limit_redis_failures_total', help: 'Rate-limit decisions taken in per-replica memory because Redis failed (error) or was not connected (unavailable)', labelNames: ['reason'], registers }),
    rateLimitRedisConnected: new Gauge({ name: 'rate_limit_redis_connected', help: '1 when the shared Redis rate-limit store is connected, 0 otherwise (absent without REDIS_URL)', registers: [] })
  }
}

export default fp(async function observability (app: FastifyInstance) {
  const metrics = createMetrics()
  app.decorate('metrics', metrics)

  // a plain callback, not an async hook: no promise per request
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      method: request.method,
      status: String(reply.statusCode)
    }
    metrics.httpDuration.observe(labels, reply.elapsedTime / 1000) // also http_requests_total
    done()
  })
}, { name: 'observability', fastify: '5.x', dependencies: [] })
