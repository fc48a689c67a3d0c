import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../src/errors.js'

// Draining (graceful shutdown, docs/contract.md). Once draining — server.ts calls drain() on
// SIGTERM/SIGINT, and any app.close() drains too — /readyz answers 503, every new request gets
// 503 shutting_down, and every answer carries `Connection: close`, so keep-alive sockets close
// as soon as their in-flight request is done instead of holding the exit for keepAliveTimeout.

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: { readonly draining: boolean; drain: () => void }
  }
  interface FastifyContextConfig {
    /** still served while draining (liveness, readiness, metrics) */
    servedWhileDraining?: boolean
  }
}

export default fp(async function lifecycle (app: FastifyInstance) {
  let draining = false
  app.decorate('lifecycle', {
    get draining () { return draining },
    drain: () => { draining = true }
  })
  app.addHook('preClose', async () => { draining = true })

  // Plain callbacks: they run on every request and almost always do nothing.
  app.addHook('onRequest', (request, reply, done) => {
    if (!draining) return done()
    reply.header('connection', 'close')
    done(request.routeOptions.config?.servedWhileDraining ? undefined : errors.shuttingDown())
  })

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })

  // A socket whose last request just finished is idle now: close it rather than wait.
  app.addHook('onResponse', (_request, _reply, done) => {
    if (draining) setImmediate(() => app.server.closeIdleConnections())
    done()
  })
}, { name: 'lifecycle', fastify: '5.x', dependencies: ['error-handler'] })
