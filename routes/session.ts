import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BffError } from '../src/errors.js'
import { refreshedCookies } from '../src/session/authenticate.js'
import { pendingLogin } from '../src/session/pending-login.js'
import { COOKIE_KINDS, SESSION_KINDS, withoutTokens, type CookieValues } from '../src/session/cookie-jar.js'
import { sessionPaths } from '../src/stytch/endpoints.js'
import { STYTCH_RESPONSES } from '../src/stytch/stytch-responses.js'

// GET /session: who am I (authenticated upstream, JWT cookie refreshed).
// POST /logout: revoke upstream, expire every cookie whatever upstream says.

export default async function sessionRoutes (app: FastifyInstance) {
  const { config, stytch, cookieJar } = app
  const authenticate = app.authenticateSession
  const revokePath = sessionPaths(config.vertical).revoke
  const fallbackSeconds = config.sessionDurationMinutes * 60

  const sessionDocs = {
    schema: { summary: 'Who am I: the cookie session, authenticated with Stytch', tags: ['Session'] },
    config: {
      docs: {
        responses: {
          200: { description: 'Stytch\'s sessions/authenticate answer without its token fields; the JWT cookie is refreshed', schema: STYTCH_RESPONSES[sessionPaths(config.vertical).authenticate] ?? {} },
          401: { description: 'session_missing, session_invalid (cookies expired), or, with only the intermediate-session cookie, mfa_required / discovery_pending with `intermediate_session`: what the page needs to resume the login', schema: { $ref: '#/components/schemas/ErrorEnvelope' } }
        }
      }
    }
  }
  app.get('/session', sessionDocs, async (request, reply) => {
    const cookies = cookieJar.read(request)
    // B2B login half way through (only the IST cookie): 401 mfa_required / discovery_pending
    // with what the page needs to resume (src/session/pending-login.ts)
    if (config.vertical === 'b2b' && cookies.intermediateSession !== undefined && cookies.session === undefined && cookies.jwt === undefined) {
      const pending = await pendingLogin(stytch, cookies.intermediateSession)
      if (pending.errorType === 'session_invalid') cookieJar.expire(reply, ['intermediateSession'])
      throw pending
    }
    let answer
    try {
      answer = await authenticate(cookies)
    } catch (err) {
      if (err instanceof BffError && err.errorType === 'session_invalid') cookieJar.expire(reply, SESSION_KINDS)
      throw err
    }
    cookieJar.apply(reply, refreshedCookies(answer, config.sessionSliding, Date.now(), fallbackSeconds))
    return reply.send(withoutTokens(answer))
  })

  app.post('/logout', {
    schema: { body: z.strictObject({}).nullish(), summary: 'Log out: revoke the session, expire every cookie', tags: ['Session'] },
    config: { emptyBodyAllowed: true, docs: { responses: { 204: { description: 'Logged out: every cookie expired, whatever Stytch answered' } } } }
  }, async (request, reply) => {
    let cookies: CookieValues = {}
    try { cookies = cookieJar.read(request) } catch { /* duplicate cookies: still log the browser out */ }
    const credential = cookies.session ? { session_token: cookies.session } : cookies.jwt ? { session_jwt: cookies.jwt } : undefined
    if (credential) {
      try {
        await stytch.post(revokePath, credential)
      } catch (err) {
        request.log.warn({ error_type: err instanceof BffError ? err.errorType : 'unknown' }, 'session revoke failed; cookies expired anyway')
      }
    }
    cookieJar.expire(reply, COOKIE_KINDS)
    return reply.code(204).send()
  })
}
