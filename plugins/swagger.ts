import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import type { Config } from '../src/config.js'
import { stytchPath, type Endpoint } from '../src/stytch/endpoints.js'
import { STYTCH_RESPONSES, STYTCH_SCHEMAS } from '../src/stytch/stytch-responses.js'

// GET /docs/json: the OpenAPI 3.1 document of the BFF's own routes, generated from the same zod
// schemas that validate (strict bodies -> additionalProperties: false; server-owned fields are not
// in them). Must be registered before the routes: @fastify/swagger collects them as they are added.
// GET /docs: Swagger UI over that document (DOCS_UI; on outside production).
//
// Every operation gets, without a route doing more than declaring a summary:
//   operationId  from method and path (postB2bPasswordsAuthenticate), unique per method
//   summary      the route's schema.summary, or the endpoint-table row's
//   CSRF header  on every POST under the prefix that the CSRF guard checks
//   2xx          an endpoint-table row: Stytch's answer minus token fields (src/stytch/stytch-responses.ts);
//                other routes: their `config.docs.responses`
//   4XX, 5XX     the error envelope
// Routes with `schema: { hide: true }` (the demo, the docs themselves) are left out.

export interface DocResponse {
  description: string
  /** JSON body schema; none for an empty answer */
  schema?: Record<string, unknown>
  /** media type of the body (default application/json) */
  contentType?: string
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** for the API reference only (GET /docs/json); never used to serialize an answer */
    docs?: { responses: Record<string, DocResponse> }
    /** the endpoint-table row a proxied route serves (routes/proxy.ts): its summary and answer */
    endpoint?: Endpoint
  }
}

const ERROR_SCHEMA = 'ErrorEnvelope'
/** The error envelope, from the BFF or from Stytch. */
const ERROR_ENVELOPE = {
  type: 'object',
  required: ['status_code', 'error_type', 'error_message', 'request_id'],
  properties: {
    status_code: { type: 'integer' },
    error_type: { type: 'string', description: 'invalid_request, field_not_allowed, csrf_failed, session_missing, rate_limited, … or Stytch\'s own error_type' },
    error_message: { type: 'string' },
    request_id: { type: 'string', description: 'this request\'s X-Request-Id' },
    stytch_request_id: { type: 'string', description: 'Stytch\'s request_id, when Stytch answered' },
    issues: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    intermediate_session: {
      type: 'object',
      description: 'GET /session with only the intermediate-session cookie (mfa_required, discovery_pending): what the page needs to resume the login',
      additionalProperties: true
    }
  }
}
/** A reset start under HIDE_ACCOUNT_EXISTENCE: the same answer whether or not the account exists. */
const HIDDEN_RESET_START = {
  type: 'object',
  required: ['status_code', 'request_id'],
  properties: { status_code: { type: 'integer', const: 200 }, request_id: { type: 'string' } }
}
const RESPONSES_KEY = 'x-bff-responses'
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

type Json = Record<string, unknown>

/** Stytch's answer to a row, as the browser gets it. */
function endpointResponses (endpoint: Endpoint, config: Config): Record<string, DocResponse> {
  const hidden = endpoint.resetStart === true && config.reset.hideAccountExistence
  const schema = hidden ? HIDDEN_RESET_START : STYTCH_RESPONSES[stytchPath(endpoint)]
  const cookies = endpoint.setsCookies ? ' Session tokens arrive as httpOnly cookies (Set-Cookie), never in the body.' : ''
  return {
    200: {
      description: hidden
        ? 'Accepted (the same answer whether or not the account exists: HIDE_ACCOUNT_EXISTENCE)'
        : `Stytch's answer without its token fields.${cookies}`,
      ...(schema ? { schema } : {})
    }
  }
}

function endpointDescription (endpoint: Endpoint): string {
  const credential = endpoint.credential === undefined
    ? ''
    : ` The ${endpoint.credential === 'session' ? 'session' : endpoint.credential === 'intermediateSession' ? 'intermediate session' : 'intermediate session or session'} comes from its cookie (401 session_missing without it).`
  return `Forwards the body to Stytch \`POST ${stytchPath(endpoint)}\`, whose API reference documents the fields; server-owned fields (tokens, redirect URLs, template ids, session duration) are refused with 400 field_not_allowed.${credential}`
}

function toOpenApi (responses: Record<string, DocResponse>): Json {
  const out: Json = {}
  for (const [status, r] of Object.entries(responses)) {
    out[status] = {
      description: r.description,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : {})
    }
  }
  const error = { content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } } }
  out['4XX'] = { description: 'Refused: the error envelope', ...error }
  out['5XX'] = { description: 'Failed (Stytch unreachable or erroring, draining): the error envelope', ...error }
  return out
}

/** postB2bPasswordsAuthenticate, getSession, getVerifyWildcard: method + path without the prefix. */
export function operationIdFor (method: string, path: string, prefix: string): string {
  const rest = path.startsWith(prefix + '/') ? path.slice(prefix.length) : path
  const words = rest.split(/[/_.-]+/).filter(Boolean).map((w) => w === '{*}' ? 'wildcard' : w.replace(/^\{(.+)\}$/, 'by_$1'))
  return [method.toLowerCase(), ...words.flatMap((w) => w.split('_'))].map((w, i) => i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)).join('')
}

export default fp(async function openapi (app: FastifyInstance) {
  const { config } = app
  const csrfHeader = config.csrfHeader
  const underPrefix = (url: string) => url.startsWith(config.prefix + '/')

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'stytch-bff',
        description: `Backend-for-frontend for Stytch Passwords (${config.vertical}). Tokens travel only in httpOnly cookies; every POST under \`${config.prefix}\` needs \`${csrfHeader}: 1\` and \`Content-Type: application/json\`. Errors use one envelope (ErrorEnvelope).`,
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
      const route = input.route
      const endpoint = route.config?.endpoint
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).map(String)
      const documented: Json = { ...schema }
      if (documented.summary === undefined && endpoint) documented.summary = endpoint.summary
      if (documented.description === undefined && endpoint) documented.description = endpointDescription(endpoint)
      const responses = endpoint ? endpointResponses(endpoint, config) : route.config?.docs?.responses
      if (responses) documented[RESPONSES_KEY] = toOpenApi(responses)
      // the CSRF guard (plugins/security.ts) checks every POST under the prefix but forward auth
      if (methods.includes('POST') && underPrefix(url) && !route.config?.forwardAuth) {
        documented.headers = {
          type: 'object',
          required: [csrfHeader],
          properties: { [csrfHeader]: { type: 'string', enum: ['1'], description: 'CSRF guard: must be 1 (403 csrf_failed otherwise)' } }
        }
      }
      return { schema: documented, url }
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject
      const openapiObject = document.openapiObject as Json
      const paths = (openapiObject.paths ?? {}) as Record<string, Record<string, Json>>
      for (const [path, item] of Object.entries(paths)) {
        for (const method of METHODS) {
          const shared = item[method]
          if (shared === undefined) continue
          // one object is shared by every method of a multi-method route: copy before changing
          const { [RESPONSES_KEY]: responses, ...operation } = shared
          item[method] = {
            ...operation,
            operationId: operationIdFor(method, path, config.prefix),
            ...(responses ? { responses } : {})
          }
        }
      }
      const components = (openapiObject.components ?? {}) as Json
      return {
        ...openapiObject,
        components: { ...components, schemas: { ...(components.schemas as Json | undefined), ...STYTCH_SCHEMAS, [ERROR_SCHEMA]: ERROR_ENVELOPE } }
      } as typeof document.openapiObject
    }
  })

  if (config.docsUi) {
    // Swagger UI at /docs; it serves this document at /docs/json itself (and /docs/yaml)
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { deepLinking: false },
      // our helmet CSP (script-src 'self', style-src 'self') already fits Swagger UI's static files
      staticCSP: false
    })
  } else {
    app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger())
  }
}, { name: 'swagger', fastify: '5.x', dependencies: ['config'] })
