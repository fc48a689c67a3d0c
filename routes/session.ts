import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { BffError, errors } from '../src/errors.js'
import { isSessionOver, SESSION_OVER } from '../src/session/authenticate.js'
import { pendingLogin } from '../src/session/pending-login.js'
import { COOKIE_KINDS, withoutTokens, type CookieChanges, type CookieValues } from '../src/session/cookie-jar.js'
import type { StytchBody } from '../src/stytch/client.js'
import { sessionPaths } from '../src/stytch/endpoints.js'
import { STYTCH_RESPONSES } from '../src/stytch/stytch-responses.js'
import { bodyValidatorCompiler } from './proxy.js'

// GET /session: who am I (authenticated upstream by the same rule as /verify's refresh, JWT
//   cookie refreshed; a session that is over expires the session, JWT and IST cookies).
// POST /logout: revoke upstream, expire every cookie whatever upstream says; with
//   {"everywhere": true}, every session of the member/user (this one included).
// GET /sessions: the member's/user's live sessions, the current one marked; no token of any.
// POST /sessions/revoke {"session_id"}: end one of the caller's own sessions.
//
// The last three are native routes, not rows of the endpoint table: they start from the signed-in
// session (sessions/authenticate), fill the member/user id from its answer into a GET with a
// query string (sessions/get), check that a session id is the caller's own before revoking it,
// and reshape the answer. A row says "cookie in, body forwarded, tokens out"; these say more.

const TAGS = ['Session']
const LOGOUT_BODY = z.strictObject({ everywhere: z.boolean().optional() }).nullish()
const REVOKE_BODY = z.strictObject({ session_id: z.string().min(1).max(256) })
/** the auth limit counts a logout only when it asks to end every session */
const endsEverySession = (body: unknown): boolean => body !== null && typeof body === 'object' && 'everywhere' in body

interface Caller { sessionId: string; subjectId: string; organizationId: string | undefined }

export default async function sessionRoutes (app: FastifyInstance) {
  const { config, stytch, cookieJar } = app
  const refresh = app.refreshSession
  // the two bodies (logout, revoke) are checked like the proxied ones
  app.setValidatorCompiler(bodyValidatorCompiler)

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

  const b2b = config.vertical === 'b2b'
  const paths = sessionPaths(config.vertical)
  const listField = b2b ? 'member_sessions' : 'sessions'
  const idField = b2b ? 'member_session_id' : 'session_id'

  /** The signed-in caller (authenticated upstream) and the cookies that answer refreshes. */
  const signedIn = async (request: FastifyRequest): Promise<{ caller: Caller; refresh: CookieChanges }> => {
    const { answer, changes } = await refresh(cookieJar.read(request))
    const caller = callerOf(b2b, answer)
    if (caller === undefined) throw errors.upstreamInvalidResponse()
    return { caller, refresh: changes }
  }

  /** sessions/get for the caller's member (organization + member id) or user. */
  const listSessions = async (caller: Caller): Promise<{ answer: StytchBody; sessions: Array<Record<string, unknown>> }> => {
    const query: Record<string, string> = b2b ? { organization_id: caller.organizationId ?? '', member_id: caller.subjectId } : { user_id: caller.subjectId }
    const answer = await stytch.get(paths.list, query)
    const sessions = answer[listField]
    if (!Array.isArray(sessions) || !sessions.every((x) => x !== null && typeof x === 'object' && typeof x[idField] === 'string')) {
      throw errors.upstreamInvalidResponse()
    }
    return { answer, sessions: sessions as Array<Record<string, unknown>> }
  }

  // A session that Stytch no longer accepts ends here as on GET /session: its cookies expire.
  const expireWhenInvalid = (reply: FastifyReply, err: unknown): never => {
    if (isSessionOver(err)) cookieJar.apply(reply, SESSION_OVER)
    throw err
  }

  const sessionSchema = { $ref: `#/components/schemas/${b2b ? 'api_b2b_session_v1_MemberSession' : 'api_session_v1_Session'}` }
  const listDocs = {
    200: {
      description: `Stytch's sessions/get answer without any token; each of \`${listField}\` carries \`current\``,
      schema: { type: 'object', required: ['request_id', listField], properties: { request_id: { type: 'string' }, status_code: { type: 'integer' }, [listField]: { type: 'array', items: { allOf: [sessionSchema, { type: 'object', required: ['current'], properties: { current: { type: 'boolean' } } }] } } } }
    },
    401: { description: 'session_missing, or session_invalid (cookies expired)', schema: { $ref: '#/components/schemas/ErrorEnvelope' } }
  }
  app.get('/sessions', {
    schema: { tags: TAGS, summary: 'The signed-in member\'s or user\'s live sessions, the current one marked (no tokens)' },
    config: { docs: { responses: listDocs } }
  }, async (request, reply) => {
    const { caller, refresh } = await signedIn(request).catch((err: unknown) => expireWhenInvalid(reply, err))
    const { answer, sessions } = await listSessions(caller)
    cookieJar.apply(reply, refresh)
    return reply.send({
      ...withoutTokensDeep(answer) as StytchBody,
      [listField]: sessions.map((session) => ({ ...withoutTokensDeep(session) as StytchBody, current: session[idField] === caller.sessionId }))
    })
  })

  app.post('/sessions/revoke', {
    schema: { body: REVOKE_BODY, tags: TAGS, summary: 'End one of the caller\'s own sessions; another member\'s or user\'s session id is 404 session_not_found' },
    config: {
      authLimited: true,
      docs: {
        responses: {
          200: { description: 'Stytch\'s sessions/revoke answer; revoking the current session expires every cookie', schema: { type: 'object', required: ['request_id'], properties: { request_id: { type: 'string' }, status_code: { type: 'integer' } } } },
          404: { description: 'session_not_found: not one of the caller\'s sessions (nothing revoked)', schema: { $ref: '#/components/schemas/ErrorEnvelope' } }
        }
      }
    }
  }, async (request, reply) => {
    const { session_id: sessionId } = request.body as z.infer<typeof REVOKE_BODY>
    const { caller, refresh } = await signedIn(request).catch((err: unknown) => expireWhenInvalid(reply, err))
    // Ownership first: Stytch would revoke any session of the project by its id.
    const { sessions } = await listSessions(caller)
    if (!sessions.some((session) => session[idField] === sessionId)) throw errors.sessionNotFound()
    const answer = await stytch.post(paths.revoke, { [idField]: sessionId })
    if (sessionId === caller.sessionId) cookieJar.expire(reply, COOKIE_KINDS)
    else cookieJar.apply(reply, refresh)
    return reply.send(withoutTokens(answer))
  })

  // Every session of the caller: B2B revokes by member_id in one call; consumer revoke takes one
  // session at a time, so each listed session is revoked (one that ended meanwhile is skipped).
  // The cookies expire whatever happens; a failure is still reported, since other devices may
  // then still be signed in.
  const logoutEverywhere = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const { caller } = await signedIn(request)
      if (b2b) {
        await stytch.post(paths.revoke, { member_id: caller.subjectId })
      } else {
        const { sessions } = await listSessions(caller)
        for (const session of sessions) {
          try {
            await stytch.post(paths.revoke, { session_id: session.session_id })
          } catch (err) {
            if (!(err instanceof BffError && err.errorType === 'session_not_found')) throw err
          }
        }
      }
    } finally {
      cookieJar.expire(reply, COOKIE_KINDS)
    }
    return reply.code(204).send()
  }

  app.post('/logout', {
    schema: { body: LOGOUT_BODY, tags: TAGS, summary: 'Log out: revoke this session (or with {"everywhere": true} every session of the member/user) and expire every cookie' },
    config: { emptyBodyAllowed: true, authLimited: endsEverySession, docs: { responses: { 204: { description: 'Logged out: every cookie expired, whatever Stytch answered (everywhere: a failure is reported, the cookies are expired anyway)' } } } }
  }, async (request, reply) => {
    if ((request.body as z.infer<typeof LOGOUT_BODY>)?.everywhere === true) return logoutEverywhere(request, reply)
    let cookies: CookieValues = {}
    try { cookies = cookieJar.read(request) } catch { /* duplicate cookies: still log the browser out */ }
    const credential = cookies.session ? { session_token: cookies.session } : cookies.jwt ? { session_jwt: cookies.jwt } : undefined
    if (credential) {
      try {
        await stytch.post(paths.revoke, credential)
      } catch (err) {
        request.log.warn({ error_type: err instanceof BffError ? err.errorType : 'unknown' }, 'session revoke failed; cookies expired anyway')
      }
    }
    cookieJar.expire(reply, COOKIE_KINDS)
    return reply.code(204).send()
  })
}

function callerOf (b2b: boolean, answer: StytchBody): Caller | undefined {
  const session = (b2b ? answer.member_session : answer.session) as Record<string, unknown> | undefined
  const sessionId = session?.[b2b ? 'member_session_id' : 'session_id']
  const subjectId = session?.[b2b ? 'member_id' : 'user_id']
  const organizationId = session?.organization_id
  if (typeof sessionId !== 'string' || typeof subjectId !== 'string') return undefined
  if (b2b && typeof organizationId !== 'string') return undefined
  return { sessionId, subjectId, organizationId: typeof organizationId === 'string' ? organizationId : undefined }
}

const TOKEN_FIELDS = new Set(['session_token', 'session_jwt', 'intermediate_session_token'])

/** A Stytch answer minus every token field at any depth: a session list names many sessions. */
function withoutTokensDeep (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTokensDeep)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) if (!TOKEN_FIELDS.has(key)) out[key] = withoutTokensDeep(inner)
  return out
}
