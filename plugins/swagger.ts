import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import type { Config } from '../src/config.js'

// GET /docs/json: the OpenAPI 3 document of the BFF's own routes, generated from the same zod
// schemas that validate (strict bodies -> additionalProperties: false; server-owned fields are not
// in them). Must be registered before the routes: @fastify/swagger collects them as they are added.

/** The error envelope (docs/contract.md, Errors), documented on every operation. */
const ERROR_ENVELOPE = {
  description: 'Error envelope, from the BFF or from Stytch',
  type: 'object',
  required: ['status_code', 'error_type', 'error_message', 'request_id'],
  properties: {
    status_code: { type: 'integer' },
    error_type: { type: 'string' },
    error_message: { type: 'string' },
    request_id: { type: 'string' },
    stytch_request_id: { type: 'string' },
    issues: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } }
  }
}

export default fp(async function openapi (app: FastifyInstance, { config }: { config: Config }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'stytch-bff',
        description: `Backend-for-frontend for Stytch Passwords (${config.vertical}). Tokens travel only in httpOnly cookies; every POST needs \`${config.csrfHeader}: 1\` and \`Content-Type: application/json\`.`,
        version: '1.0.0'
      },
      tags: [
        { name: config.vertical === 'b2b' ? 'B2B' : 'Consumer', description: 'Stytch endpoints proxied under the prefix (same request bodies as Stytch, minus server-owned fields)' },
        { name: 'Session', description: 'BFF-native session routes' },
        { name: 'Operations', description: 'Health, readiness and metrics (off the prefix)' }
      ]
    },
    transform: (input) => {
      const { schema = {}, url } = jsonSchemaTransform(input)
      if (schema.hide) return { schema, url }
      const response = { ...(schema.response as Record<string, unknown> | undefined), default: ERROR_ENVELOPE }
      return { schema: { ...schema, response }, url }
    }
  })

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'swagger', fastify: '5.x' })
