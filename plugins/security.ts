import type { IncomingMessage, ServerResponse } from 'node:http'
import cors from '@fastify/cors'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { Config } from '../src/config.js'
import { type BffError, errors } from '../src/errors.js'

// Everything a browser request must pass before its body is even parsed (docs/contract.md, Security behaviour, in
// this order: Origin, Sec-Fetch-Site, CSRF header, content type, body size, body schema), plus
// the headers every answer under the prefix carries, CORS and helmet.

declare module 'fastify' {
  interface FastifyContextConfig {
    /** POST without a body allowed (logout) */
    emptyBodyAllowed?: boolean
    /**
     * answers the gateway, not a browser (forward auth): no Origin/CSRF guard (the gateway
     * decides), no CORS and none of helmet's browser headers (the gateway drops them)
     */
    forwardAuth?: boolean
  }
  interface FastifyRequest {
    /**
     * The client's address, resolved once per request: X-Forwarded-For counts only when
     * TRUST_PROXY names the peer. Fastify's request.ip re-parses the header on every read.
     */
    clientIp: string
  }
}

export default fp(async function security (app: FastifyInstance) {
  const { config } = app
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
  // every answer under the prefix (docs/contract.md)
  const noStore = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }
  const prefixHeaders = { ...securityHeaders, ...noStore }
  const forwardAuthHeaders = noStore

  app.decorateRequest('clientIp', '')
  const clientIpOf = clientIpResolver(proxyTrust(config.trustProxy) !== false)
  // forward-auth routes skip @fastify/cors (its per-route switch), so no hook below sees them
  app.addHook('onRoute', (route) => {
    if (route.config?.forwardAuth) route.config = { ...route.config, cors: false } as typeof route.config
  })

  // Registered before CORS so that preflights answered by @fastify/cors carry them too.
  app.addHook('onRequest', (request, reply, done) => {
    request.clientIp = clientIpOf(request)
    if (request.routeOptions.config?.forwardAuth) {
      reply.headers(forwardAuthHeaders)
    } else {
      reply.headers(underPrefix(request.url) ? prefixHeaders : securityHeaders)
    }
    reply.header('x-request-id', request.id)
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

  const refusal = (request: FastifyRequest): BffError | undefined => {
    // No route: nothing would run, so the not-found handler answers first (404, or 405 with Allow
    // when another method serves the path), before any Origin or CSRF refusal.
    if (request.is404 || !underPrefix(request.url)) return undefined
    const route = request.routeOptions.config
    if (route?.forwardAuth) return undefined
    const origin = request.headers.origin
    if (origin !== undefined && !originAllowed(request, origin)) return errors.originNotAllowed(origin)
    if (request.headers['sec-fetch-site'] === 'cross-site' && origin === undefined) return errors.csrfFailed('Cross-site request refused')
    if (request.method !== 'POST') return undefined
    const csrf = request.headers[csrfHeader]
    if (csrf === undefined) return errors.csrfFailed(`Missing the ${config.csrfHeaderName} header: send ${config.csrfHeaderName}: 1 with every POST`)
    if (csrf !== '1') return errors.csrfFailed(`The ${config.csrfHeaderName} header must be exactly 1 (send ${config.csrfHeaderName}: 1)`)
    const contentType = request.headers['content-type']
    if (contentType === undefined) {
      const length = request.headers['content-length']
      const empty = (length === undefined || length === '0') && request.headers['transfer-encoding'] === undefined
      if (!(empty && route?.emptyBodyAllowed)) return errors.unsupportedMediaType()
    }
    return undefined
  }
  // a plain callback, not an async hook: no promise per request
  app.addHook('onRequest', (request, _reply, done) => { done(refusal(request)) })

  // JSON only: every other content type is a 415 (Fastify's text/plain parser removed).
  // Prototype poisoning (__proto__, constructor.prototype) is refused by the parser with a 400.
  app.removeAllContentTypeParsers()
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, (request, body, done) => {
    if (body === '' && request.routeOptions.config?.emptyBodyAllowed) return done(null, undefined)
    parseJson(request, body as string, done)
  })
}, { name: 'security', fastify: '5.x', dependencies: ['config', 'error-handler'] })

/**
 * Which addresses are proxies, as Fastify's trustProxy option (proxy-addr's trust function): called
 * with each address from the peer leftwards through X-Forwarded-For and its hop number (0 = the
 * peer); the client is the first address not trusted. A hop count trusts exactly that many hops:
 * Fastify 5 refuses to trust a bare number, so it becomes this function. IPs/CIDRs go to
 * proxy-addr as they are (it matches IPv4-mapped IPv6 peers too).
 */
export function proxyTrust (trustProxy: Config['trustProxy']): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') {
    const hops = trustProxy
    return hops === 0 ? false : (_address, hop) => hop < hops
  }
  return trustProxy
}

/**
 * request.ip, remembered per (peer, X-Forwarded-For) pair: proxy-addr parses every address of the
 * header with ipaddr.js on each read (about 3% of a verify), and a gateway sends the same pairs
 * again and again. Bounded: cleared when full, and long headers (up to Node's 16 KB) are not kept.
 */
function clientIpResolver (trustProxy: boolean, maxEntries = 10_000, maxHeaderLength = 256): (request: FastifyRequest) => string {
  if (!trustProxy) return (request) => request.ip // the peer's address, nothing to parse
  const known = new Map<string, string>()
  return (request) => {
    const forwarded = request.headers['x-forwarded-for']
    if (forwarded === undefined || forwarded.length > maxHeaderLength) return request.ip
    const key = `${request.raw.socket?.remoteAddress}\n${forwarded}`
    let ip = known.get(key)
    if (ip === undefined) {
      ip = request.ip
      if (known.size >= maxEntries) known.clear()
      known.set(key, ip)
    }
    return ip
  }
}

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
