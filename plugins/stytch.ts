import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createSessionAuthenticator, createSessionRefresher, type SessionAuthenticator, type SessionRefresher } from '../src/session/authenticate.js'
import { CookieJar } from '../src/session/cookie-jar.js'
import { JwtVerifier } from '../src/session/jwt-verifier.js'
import { StytchClient } from '../src/stytch/client.js'
import { sessionPaths } from '../src/stytch/endpoints.js'

// The upstream client, the cookie jar and the JWT verifier, one of each per app, shared by every route.
// Every upstream call is recorded here: a failure is logged, each call counted in the metrics, and
// the time of Stytch's last real answer kept for readiness (routes/health.ts).

declare module 'fastify' {
  interface FastifyInstance {
    stytch: StytchClient
    /** when Stytch last answered with a status under 500 (ms since the epoch; -Infinity before that) */
    stytchAnsweredAt: () => number
    cookieJar: CookieJar
    /** sessions/authenticate for the cookie session, coalesced per session across GET /session and /verify */
    authenticateSession: SessionAuthenticator
    /** the one refresh rule of GET /session and /verify: which cookie goes upstream, new cookies back */
    refreshSession: SessionRefresher
    /** local session JWT verification with the cached JWKS (GET /verify; readiness) */
    jwtVerifier: JwtVerifier
  }
}

export default fp(async function stytch (app: FastifyInstance, { now }: { now?: () => number }) {
  const { config, metrics } = app
  let answeredAt = Number.NEGATIVE_INFINITY
  const client = new StytchClient({
    apiUrl: config.apiUrl,
    projectId: config.projectId,
    secret: config.secret,
    timeoutMs: config.upstreamTimeoutMs,
    observe: ({ endpoint, status, seconds, failure }) => {
      if (failure) app.log.warn({ upstream: { endpoint, error_type: failure.errorType, cause: failure.cause, seconds } }, 'stytch call failed')
      metrics.upstreamRequests.inc({ endpoint, status })
      metrics.upstreamDuration.observe({ endpoint, status }, seconds)
      // any answer that is not a 5xx or a transport failure (status is then an error type) proves Stytch reachable
      if (Number(status) < 500) answeredAt = Date.now()
    }
  })
  app.decorate('stytch', client)
  app.decorate('stytchAnsweredAt', () => answeredAt)
  // @fastify/cookie for its serializer only: without its per-request parsing hook, since the jar
  // reads the four cookies it knows itself (and refuses duplicates, which a parser would hide).
  await app.register(fastifyCookie, { hook: false })
  app.decorate('cookieJar', new CookieJar(config.cookie, app.serializeCookie, (msg, detail) => app.log.error(detail, msg)))
  app.decorate('authenticateSession', createSessionAuthenticator(config, client))
  const jwksPath = sessionPaths(config.vertical).jwks(config.projectId)
  const jwtVerifier = new JwtVerifier({
    projectId: config.projectId,
    apiUrl: config.apiUrl,
    vertical: config.vertical,
    maxAgeSeconds: config.jwtMaxAgeSeconds,
    fetchJwks: () => client.get(jwksPath),
    ...(now ? { now } : {}),
    onJwksError: (reason) => app.log.warn({ reason }, 'JWKS unusable; verifying sessions upstream')
  })
  app.decorate('jwtVerifier', jwtVerifier)
  app.decorate('refreshSession', createSessionRefresher(config, app.authenticateSession, jwtVerifier, now))
  app.addHook('onClose', async () => { await client.close() })
}, { name: 'stytch', fastify: '5.x', dependencies: ['config', 'observability'] })
