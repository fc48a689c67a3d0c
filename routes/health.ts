import type { FastifyInstance } from 'fastify'
import { errors } from '../src/errors.js'
import type { DocResponse } from '../plugins/swagger.js'

// Operations routes, off the prefix: no rate limit, no CSRF (GET, outside the prefix), still
// served while draining (readiness then says 503).
//   GET /healthz  liveness: the process answers; no upstream call
//   GET /readyz   readiness: configuration valid (we are running) and the JWKS loaded once, or
//                 Stytch reachable now; 503 while draining
//   GET /metrics  Prometheus text format

/** how long a real upstream answer counts as "reachable" when the JWKS could not be loaded */
const REACHABLE_FOR_MS = 30_000
/** a readiness probe never waits longer than this for Stytch */
const PROBE_WAIT_MS = 2_000

const ops = { rateLimit: false, servedWhileDraining: true } as const

export default async function healthRoutes (app: FastifyInstance) {
  const { metrics, lifecycle, jwtVerifier } = app

  // The JWKS the verifier needs anyway: loading it is the probe (one fetch in flight, shared).
  const upstreamCheck = async (): Promise<'jwks_loaded' | 'reachable' | 'unreachable'> => {
    if (jwtVerifier.loaded) return 'jwks_loaded'
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<false>((resolve) => { timer = setTimeout(resolve, PROBE_WAIT_MS, false) })
    try {
      if (await Promise.race([jwtVerifier.load(), waited])) return 'jwks_loaded'
    } finally {
      clearTimeout(timer)
    }
    return Date.now() - app.stytchAnsweredAt() < REACHABLE_FOR_MS ? 'reachable' : 'unreachable'
  }

  const docs = (responses: Record<string, DocResponse>) => ({ ...ops, docs: { responses } })
  const status = (values: string[]) => ({ type: 'string', enum: values })

  app.get('/healthz', { config: docs({ 200: { description: 'The process answers', schema: { type: 'object', required: ['status'], properties: { status: status(['ok']) } } } }), schema: { tags: ['Operations'], summary: 'Liveness (no upstream call)' } }, async () => ({ status: 'ok' }))

  const readiness = {
    type: 'object',
    required: ['status', 'checks'],
    properties: { status: status(['ready', 'not_ready']), checks: { type: 'object', properties: { config: status(['ok']), upstream: status(['jwks_loaded', 'reachable', 'unreachable']) } } }
  }
  app.get('/readyz', { config: docs({ 200: { description: 'Ready', schema: readiness }, 503: { description: 'Not ready (Stytch unreachable), or shutting_down (error envelope) while draining', schema: readiness } }), schema: { tags: ['Operations'], summary: 'Readiness: JWKS loaded or Stytch reachable; 503 while draining' } }, async (_request, reply) => {
    if (lifecycle.draining) throw errors.shuttingDown()
    const upstream = await upstreamCheck()
    if (lifecycle.draining) throw errors.shuttingDown()
    const ready = upstream !== 'unreachable'
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { config: 'ok', upstream } })
  })

  app.get('/metrics', { config: docs({ 200: { description: 'Prometheus text exposition format', contentType: 'text/plain', schema: { type: 'string' } } }), schema: { tags: ['Operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
}
