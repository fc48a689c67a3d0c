import type { IncomingMessage, ServerResponse } from 'node:http'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { Config } from '../src/config.js'
import { errors } from '../src/errors.js'

// Everything a browser request must pass before its body is even parsed (SPEC section 5, in
// this order: Origin, Sec-Fetch-Site, CSRF header, content type, body size, body schema), plus
// the headers every answer under the prefix carries, CORS and helmet.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** POST without a body allowed (logout) */
    emptyBodyAllowed?: boolean
    /** skip the Origin/CSRF guard (forward-auth: the gateway decides) */
    skipCsrf?: boolean
  }
}

export default fp(async function security (app: FastifyInstance, { config }: { config: Config }) {
  const prefix = config.prefix
  const allowed = new Set(config.allowedOrigins)
  const csrfHeader = config.csrfHeader

  // Same-origin requests are always allowed: a browser cannot forge the Host it sends to.
  const originAllowed = (request: FastifyRequest, origin: string): boolean => {
    if (allowed.has(origin)) return true
    const host = request.headers.host
    if (!host) return false
    const schemeEnd = origin.indexOf('://')
    return schemeEnd > 0 && origin.slice(schemeEnd + 3) === host
  }

  const underPrefix = (url: string) => url.startsWith(prefix) && (url.length === prefix.length || url[prefix.length] === '/' || url[prefix.length] === '?')

  const securityHeaders = helmetHeaders({
    // An API and a small demo page served from our own origin: a strict policy fits both.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'], frameAncestors: ["'none'"], formAction: ["'self'"] } },
    crossOriginResourcePolicy: { policy: 'same-origin' }
  })

  // Registered before CORS so that preflights answered by @fastify/cors carry them too.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders)
    reply.header('x-request-id', request.id)
    if (underPrefix(request.url)) {
      reply.header('cache-control', 'no-store')
      reply.header('x-content-type-options', 'nosniff')
    }
    done()
  })

  await app.register(cors, {
    origin: (origin, cb) => cb(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'POST'],
    allowedHeaders: ['content-type', csrfHeader, 'x-request-id'],
    exposedHeaders: ['x-request-id', 'retry-after'],
    maxAge: 600,
    strictPreflight: false
  })

  app.addHook('onRequest', async (request) => {
    if (!underPrefix(request.url) || request.routeOptions.config?.skipCsrf) return
    const origin = request.headers.origin
    if (origin !== undefined && !originAllowed(request, origin)) throw errors.originNotAllowed()
    if (request.headers['sec-fetch-site'] === 'cross-site' && origin === undefined) throw errors.csrfFailed('Cross-site request refused')
    if (request.method !== 'POST') return
    if (request.headers[csrfHeader] !== '1') throw errors.csrfFailed(`Missing ${config.csrfHeader}: 1 header`)
    const contentType = request.headers['content-type']
    if (contentType === undefined) {
      const length = request.headers['content-length']
      const empty = (length === undefined || length === '0') && request.headers['transfer-encoding'] === undefined
      if (!(empty && request.routeOptions.config?.emptyBodyAllowed)) throw errors.unsupportedMediaType()
    }
  })

  // JSON only: every other content type is a 415 (Fastify's text/plain parser removed).
  // Prototype poisoning (__proto__, constructor.prototype) is refused by the parser with a 400.
  app.removeAllContentTypeParsers()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, (request, body, done) => {
    if (body === '' && request.routeOptions.config?.emptyBodyAllowed) return done(null, undefined)
    parseJson(request, body as string, done)
  })
}, { name: 'security', fastify: '5.x' })

// helmet's headers depend only on its options, so they are computed once here; @fastify/helmet
// rebuilds helmet's middleware on every request (about 4% of a login's CPU).
function helmetHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const res = {
    setHeader: (name: string, value: string | number) => { headers[name.toLowerCase()] = String(value) },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()] }
  }
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => { if (err) throw err })
  return headers
}
