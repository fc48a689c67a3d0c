import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import { BffError } from '../src/errors.js'
import { isSessionOver, SESSION_OVER } from '../src/session/authenticate.js'
import { COOKIE_KINDS, withoutTokens, type CookieValues } from '../src/session/cookie-jar.js'
import { sessionPaths } from '../src/stytch/endpoints.js'

// GET /session: who am I (authenticated upstream by the same rule as /verify's refresh, JWT
// cookie refreshed; a session that is over expires the session, JWT and IST cookies).
// POST /logout: revoke upstream, expire every cookie whatever upstream says.

export default async function sessionRoutes (app: FastifyInstance) {
  const { config, stytch, cookieJar } = app
  const refresh = app.refreshSession
  const revokePath = sessionPaths(config.vertical).revoke

  app.get('/session', async (request, reply) => {
    const cookies = cookieJar.read(request)
    let refreshed
    try {
      refreshed = await refresh(cookies)
    } catch (err) {
      if (isSessionOver(err)) cookieJar.apply(reply, SESSION_OVER)
      throw err
    }
    cookieJar.apply(reply, refreshed.changes)
    return reply.send(withoutTokens(refreshed.answer))
  })

  app.post('/logout', {
    schema: { body: z.strictObject({}).nullish() },
    config: { emptyBodyAllowed: true }
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
