import type { FastifyInstance } from 'fastify'
import { ENDPOINTS, type Endpoint } from '../src/stytch/endpoints.js'
import { proxyHandler } from '../src/stytch/proxy.js'

// Every row of the endpoint table for the configured vertical, served by the one proxy handler.
// The other vertical's routes are not mounted, so they answer 404.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the endpoint-table row a proxied route serves (rate limits read it) */
    endpoint?: Endpoint
  }
}

export default async function proxyRoutes (app: FastifyInstance) {
  const { config, stytch, cookieJar } = app
  for (const endpoint of ENDPOINTS) {
    if (endpoint.vertical !== config.vertical) continue
    app.post(endpoint.path, {
      schema: { body: endpoint.body, tags: [endpoint.vertical === 'b2b' ? 'B2B' : 'Consumer'] },
      config: { endpoint }
    }, proxyHandler(endpoint, { config, stytch, cookieJar }))
  }
}
