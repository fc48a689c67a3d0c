import type { FastifyInstance } from 'fastify'
import { BffError, errors } from '../src/errors.js'
import { sessionPaths } from '../src/stytch/endpoints.js'

// Operations routes, off the prefix: no rate limit, no CSRF (GET, outside the prefix), still
// served while draining (readiness then says 503).
//   GET /healthz  liveness: the process answers; no upstream call
//   GET /readyz   readiness: configuration valid (we are running) and the JWKS loaded once, or
//                 Stytch reachable now; 503 while draining
//   GET /metrics  Prometheus text format

/** how long a real upstream answer counts as "reachable" without probing again */
const REACHABLE_FOR_MS = 30_000
/** a readiness probe never waits longer than this for Stytch */
const PROBE_WAIT_MS = 2_000

const ops = { rateLimit: false, servedWhileDraining: true } as const

export default async function healthRoutes (app: FastifyInstance) {
  const { stytch, metrics, lifecycle } = app
  const jwksPath = sessionPaths(app.config.vertical).jwks(app.config.projectId)
  let jwksLoaded = false
  let reachableAt = -Infinity
  let probe: Promise<boolean> | undefined

  // Any answer from Stytch that is not a 5xx or a transport failure proves it reachable.
  app.upstreamObservers.push(({ endpoint, status }) => {
    if (!/^\d+$/.test(status) || Number(status) >= 500) return
    reachableAt = Date.now()
    if (endpoint === jwksPath && status === '200') jwksLoaded = true
  })

  const upstreamReady = async (): Promise<boolean> => {
    if (jwksLoaded || Date.now() - reachableAt < REACHABLE_FOR_MS) return true
    probe ??= stytch.get(jwksPath).then(
      () => true,
      (err: unknown) => err instanceof BffError && err.statusCode < 500
    ).finally(() => { probe = undefined })
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<boolean>((resolve) => { timer = setTimeout(resolve, PROBE_WAIT_MS, false) })
    try {
      return await Promise.race([probe, waited])
    } finally {
      clearTimeout(timer)
    }
  }

  app.get('/healthz', { config: ops, schema: { tags: ['Operations'], summary: 'Liveness (no upstream call)' } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { config: ops, schema: { tags: ['Operations'], summary: 'Readiness: JWKS loaded or Stytch reachable; 503 while draining' } }, async (_request, reply) => {
    if (lifecycle.draining) throw errors.shuttingDown()
    const upstream = await upstreamReady()
    if (lifecycle.draining) throw errors.shuttingDown()
    const checks = { config: 'ok', upstream: upstream ? (jwksLoaded ? 'jwks_loaded' : 'reachable') : 'unreachable' }
    return reply.code(upstream ? 200 : 503).send({ status: upstream ? 'ready' : 'not_ready', checks })
  })

  app.get('/metrics', { config: ops, schema: { tags: ['Operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}
