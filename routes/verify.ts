import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../src/errors.js'
import { isSessionOver, SESSION_OVER } from '../src/session/authenticate.js'
import type { CookieChanges, CookieKind, CookieValues } from '../src/session/cookie-jar.js'
import { identityFromSessionAnswer, type JwtCheck } from '../src/session/jwt-verifier.js'

// GET /verify: forward auth for the gateway (nginx auth_request, Traefik ForwardAuth, Envoy
// ext_authz). A young, valid session JWT answers 200 with identity headers and no upstream call;
// otherwise the session is refreshed by the same rule as GET /session (src/session/authenticate.ts:
// the opaque token upstream, or the JWT itself when it is the only cookie and not refused on its
// own), coalesced per session, and the new JWT goes back as a cookie. Only 200 or 401 (502/504
// when Stytch fails): a gateway turns anything else into a 500.

// JWT first: single-header gateways keep the first
const VERIFY_COOKIES: readonly CookieKind[] = ['jwt', 'session', 'intermediateSession']

/**
 * With VERIFY_COOKIE_COPY_HEADERS=true, each cookie a verify answer sets is also copied into a
 * header of its own: nginx's $upstream_http_set_cookie holds only the first Set-Cookie (1.22) or
 * all of them joined with commas (1.23+), and a browser can use neither as two cookies. Off by
 * default: the copies carry the tokens, and any other gateway may pass them on or log them.
 * docs/gateway.md shows the nginx lines that consume them.
 */
export const GATEWAY_COOKIE_HEADERS: Record<CookieKind, string | undefined> = {
  jwt: 'x-set-cookie-jwt',
  session: 'x-set-cookie-session',
  intermediateSession: 'x-set-cookie-intermediate-session',
  pkce: undefined
}

export default async function verifyRoutes (app: FastifyInstance) {
  const { config, cookieJar, jwtVerifier } = app
  const refresh = app.refreshSession
  const b2b = config.vertical === 'b2b'
  const copyHeaders = config.verifyCookieCopyHeaders

  const writeCookies = (reply: FastifyReply, changes: CookieChanges): void => {
    for (const kind of VERIFY_COOKIES) {
      const change = changes[kind]
      if (change === undefined) continue
      cookieJar.apply(reply, { [kind]: change })
      if (!copyHeaders) continue
      const all = reply.getHeader('set-cookie')
      const line = Array.isArray(all) ? all[all.length - 1] : all
      const copy = GATEWAY_COOKIE_HEADERS[kind]
      if (typeof line === 'string' && copy !== undefined) reply.header(copy, line)
    }
  }

  const verifyOrRefresh = async (reply: FastifyReply, cookies: CookieValues) => {
    let jwtCheck: JwtCheck | undefined
    if (cookies.jwt !== undefined) {
      jwtCheck = await jwtVerifier.check(cookies.jwt)
      if (jwtCheck.identity !== undefined) return reply.headers(jwtCheck.identity).send()
    }
    let refreshed
    try {
      refreshed = await refresh(cookies, jwtCheck)
    } catch (err) {
      if (isSessionOver(err)) writeCookies(reply, SESSION_OVER)
      throw err
    }
    const identity = identityFromSessionAnswer(b2b, refreshed.answer)
    if (identity === undefined) throw errors.upstreamInvalidResponse()
    writeCookies(reply, refreshed.changes)
    return reply.headers(identity).send()
  }

  // Not async: a cached JWT is answered without a promise.
  const verify = (request: FastifyRequest, reply: FastifyReply) => {
    let cookies: CookieValues
    try {
      cookies = cookieJar.read(request)
    } catch {
      // duplicate session cookies: we cannot tell which is current
      writeCookies(reply, SESSION_OVER)
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
