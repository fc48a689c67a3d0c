import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { BffError, errors } from '../src/errors.js'
import { refreshedCookies } from '../src/session/authenticate.js'
import type { CookieChanges, CookieValues } from '../src/session/cookie-jar.js'
import { identityFromSessionAnswer } from '../src/session/jwt-verifier.js'

// GET /verify: forward auth for the gateway (nginx auth_request, Traefik ForwardAuth, Envoy
// ext_authz). A young, valid session JWT answers 200 with identity headers and no upstream call;
// otherwise the opaque session token is authenticated upstream (coalesced per session) and the
// new JWT goes back as a cookie. Only 200 or 401 (502/504 when Stytch fails): a gateway turns
// anything else into a 500.

const VERIFY_COOKIES = ['jwt', 'session'] as const // JWT first: single-header gateways keep the first
const EXPIRED: CookieChanges = { jwt: null, session: null }

/**
 * Each cookie a verify answer sets is also copied into a header of its own: nginx's
 * $upstream_http_set_cookie holds only the first Set-Cookie (1.22) or all of them joined with
 * commas (1.23+), and a browser can use neither as two cookies. docs/gateway.md shows the use.
 */
export const GATEWAY_COOKIE_HEADERS = { jwt: 'x-set-cookie-jwt', session: 'x-set-cookie-session' } as const

export default async function verifyRoutes (app: FastifyInstance) {
  const { config, cookieJar, jwtVerifier } = app
  const authenticate = app.authenticateSession
  const b2b = config.vertical === 'b2b'
  const fallbackSeconds = config.sessionDurationMinutes * 60

  const writeCookies = (reply: FastifyReply, changes: CookieChanges): void => {
    for (const kind of VERIFY_COOKIES) {
      const change = changes[kind]
      if (change === undefined) continue
      cookieJar.apply(reply, { [kind]: change })
      const all = reply.getHeader('set-cookie')
      const line = Array.isArray(all) ? all[all.length - 1] : all
      if (typeof line === 'string') reply.header(GATEWAY_COOKIE_HEADERS[kind], line)
    }
  }

  const verifyOrRefresh = async (reply: FastifyReply, cookies: CookieValues) => {
    if (cookies.jwt !== undefined) {
      const identity = await jwtVerifier.verify(cookies.jwt)
      if (identity !== undefined) return reply.headers(identity).send()
    }
    if (cookies.session === undefined) {
      if (cookies.jwt === undefined) throw errors.sessionMissing()
      // a JWT we cannot trust and nothing to refresh it with
      writeCookies(reply, EXPIRED)
      throw errors.sessionInvalid()
    }
    let answer
    try {
      answer = await authenticate({ session: cookies.session })
    } catch (err) {
      if (err instanceof BffError && err.errorType === 'session_invalid') writeCookies(reply, EXPIRED)
      throw err
    }
    const identity = identityFromSessionAnswer(b2b, answer)
    if (identity === undefined) throw errors.upstreamInvalidResponse()
    writeCookies(reply, refreshedCookies(answer, config.sessionSliding, Date.now(), fallbackSeconds))
    return reply.headers(identity).send()
  }

  // Not async: a cached JWT is answered without a promise.
  const verify = (request: FastifyRequest, reply: FastifyReply) => {
    let cookies: CookieValues
    try {
      cookies = cookieJar.read(request)
    } catch {
      // duplicate session cookies: we cannot tell which is current
      writeCookies(reply, EXPIRED)
      throw errors.sessionInvalid()
    }
    if (cookies.jwt !== undefined) {
      const identity = jwtVerifier.cached(cookies.jwt)
      if (identity !== undefined) return reply.headers(identity).send()
    }
    return verifyOrRefresh(reply, cookies)
  }

  const docs = {
    schema: { summary: 'Forward auth for the gateway: 200 with identity headers or 401', tags: ['Session'] },
    config: {
      forwardAuth: true,
      docs: {
        responses: {
          200: {
            description: 'The session is valid: identity headers for the upstream service (a refreshed JWT also comes as Set-Cookie and X-Set-Cookie-Jwt)',
            headers: Object.fromEntries(['X-Stytch-Session-Id', ...(b2b ? ['X-Stytch-Member-Id', 'X-Stytch-Organization-Id'] : ['X-Stytch-User-Id']), 'X-Stytch-Roles']
              .map((name) => [name, { description: name === 'X-Stytch-Roles' ? 'comma-separated roles' : 'from the session', schema: { type: 'string' } }]))
          },
          401: { description: 'session_missing or session_invalid', schema: { $ref: '#/components/schemas/ErrorEnvelope' } }
        }
      }
    }
  } as const
  app.get('/verify', docs, verify)
  // Envoy's ext_authz (HTTP) keeps the original method and appends the original path to its
  // path_prefix: /auth/verify/api/orders. Its check requests carry no body.
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/verify/*',
    schema: { summary: 'Forward auth as Envoy ext_authz (HTTP) asks: the original method and path appended', tags: ['Session'] },
    config: { ...docs.config, emptyBodyAllowed: true },
    handler: verify
  })
}
