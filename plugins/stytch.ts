import fastifyCookie from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../src/config.js'
import { createSessionAuthenticator, createSessionRefresher, type SessionAuthenticator, type SessionRefresher } from '../src/session/authenticate.js'
import { CookieJar } from '../src/session/cookie-jar.js'
import { JwtVerifier } from '../src/session/jwt-verifier.js'
import { StytchClient, type UpstreamObservation } from '../src/stytch/client.js'
import { sessionPaths } from '../src/stytch/endpoints.js'

// The upstream client, the cookie jar and the JWT verifier, one of each per app, shared by every route.

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    stytch: StytchClient
    cookieJar: CookieJar
    /** sessions/authenticate for the cookie session, coalesced per session across GET /session and /verify */
    authenticateSession: SessionAuthenticator
    /** the one refresh rule of GET /session and /verify: which cookie goes upstream, new cookies back */
    refreshSession: SessionRefresher
    /** local session JWT verification with the cached JWKS (GET /verify; readiness) */
    jwtVerifier: JwtVerifier
    /** listeners for every upstream call (metrics); logging of failures is built in */
    upstreamObservers: Array<(o: UpstreamObservation) => void>
  }
}

export default fp(async function stytch (app: FastifyInstance, { config, now }: { config: Config; now?: () => number }) {
  const observers: Array<(o: UpstreamObservation) => void> = []
  const client = new StytchClient({
    apiUrl: config.apiUrl,
    projectId: config.projectId,
    secret: config.secret,
    timeoutMs: config.upstreamTimeoutMs,
    observe: (o) => {
      if (o.failure) app.log.warn({ upstream: { endpoint: o.endpoint, error_type: o.failure.errorType, cause: o.failure.cause, seconds: o.seconds } }, 'stytch call failed')
      for (const observer of observers) observer(o)
    }
  })
  app.decorate('config', config)
  app.decorate('stytch', client)
  app.decorate('upstreamObservers', observers)
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
}, { name: 'stytch', fastify: '5.x' })
