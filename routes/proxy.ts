import type { FastifyInstance } from 'fastify'
import type { ZodType } from 'zod'
import { errors } from '../src/errors.js'
import { ENDPOINTS, isServerOwned } from '../src/stytch/endpoints.js'
import { proxyHandler } from '../src/stytch/proxy.js'

// Every row of the endpoint table for the configured vertical, served by the one proxy handler,
// its body validated against the row's strict schema. The other vertical's routes are not
// mounted, so they answer 404.

export default async function proxyRoutes (app: FastifyInstance) {
  const { config, stytch, cookieJar } = app
  app.setValidatorCompiler(bodyValidatorCompiler)
  for (const endpoint of ENDPOINTS) {
    if (endpoint.vertical !== config.vertical) continue
    app.post(endpoint.path, {
      schema: { body: endpoint.body, tags: [endpoint.vertical === 'b2b' ? 'B2B' : 'Consumer'] },
      config: { endpoint, authLimited: endpoint.authLimited }
    }, proxyHandler(endpoint, { config, stytch, cookieJar }))
  }
}

/** The validator compiler of every route with a zod body schema (these, and the session routes'). */
export const bodyValidatorCompiler = ({ schema }: { schema: unknown }) => validateBody(schema as ZodType)

/**
 * A request body against a route's zod schema (the rows', and the few native routes' that take a
 * body). Server-owned fields are named (field_not_allowed) before the strict schema says
 * "unknown field".
 */
function validateBody (schema: ZodType) {
  return (data: unknown) => {
    if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
      const owned = Object.keys(data).filter(isServerOwned)
      if (owned.length > 0) return { error: errors.fieldNotAllowed(owned) }
    }
    const result = schema.safeParse(data)
    if (result.success) return { value: result.data }
    return {
      error: errors.invalidRequest('Request body does not match the schema', result.error.issues.map((i) => ({
        path: '/' + i.path.map(String).join('/'),
        message: i.message
      })))
    }
  }
}
