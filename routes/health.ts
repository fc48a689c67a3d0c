import type { FastifyInstance } from 'fastify'

// Liveness: no upstream call, no prefix, no rate limit, no CSRF.
export default async function healthRoutes (app: FastifyInstance) {
  app.get('/healthz', async () => ({ status: 'ok' }))
}
