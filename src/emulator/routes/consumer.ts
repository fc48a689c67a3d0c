import type { EmulatorContext } from '../context.js'
import { errors, fail } from '../errors.js'
import { optString, reqString, resetMinutes, sessionMinutes, type Body } from '../fields.js'
import { redeemReset, startReset } from '../reset.js'
import { sessionJson, userJson } from '../render.js'
import { get, post, type EmulatorRoute } from '../route.js'
import {
  exactlyOne,
  revokeNamedSession,
  assertRecentlyAuthenticated,
  createSession,
  passwordFactor,
  revokeAllSessions,
  sessionFromBody,
  sessionJwt,
  touchSession
} from '../sessions.js'
import type { Session, User } from '../store.js'
import { checkStrength } from '../strength.js'
import { strengthCheckResponse } from './strength-check.js'

function userOrFail (ctx: EmulatorContext, email: string): User {
  return ctx.store.findUser(email) ?? errors.emailNotFound()
}

function assertStrong (password: string, email: string): void {
  if (!checkStrength(password, email).valid) errors.weakPassword()
}

async function sessionFields (ctx: EmulatorContext, session: Session | undefined): Promise<Record<string, unknown>> {
  if (!session) return { session_token: '', session_jwt: '' }
  return { session_token: session.token, session_jwt: await sessionJwt(ctx, session), session: sessionJson(session) }
}

/**
 * A consumer authentication: extends the session passed in (if it is this user's), else creates one
 * only when `session_duration_minutes` is sent, else no session (empty tokens, no `session`).
 */
async function userLogin (ctx: EmulatorContext, body: Body, user: User, existing?: Session): Promise<Record<string, unknown>> {
  const minutes = sessionMinutes(body)
  const factor = passwordFactor(ctx, user.email_id, user.email)
  const session =
    existing && existing.subject_id === user.user_id
      ? touchSession(ctx, existing, minutes, body, [factor])
      : minutes !== undefined
        ? createSession(ctx, { vertical: 'consumer', subject_id: user.user_id, factors: [factor], roles: ['stytch_user'], minutes, body })
        : undefined
  return { user_id: user.user_id, user: userJson(user), ...(await sessionFields(ctx, session)) }
}

export const consumerRoutes: EmulatorRoute[] = [
  post('/v1/passwords', async (ctx, body) => {
    const email = reqString(body, 'email')
    const password = reqString(body, 'password')
    sessionMinutes(body)
    if (ctx.store.findUser(email)) fail(400, 'duplicate_email', 'A user with this email already exists.')
    assertStrong(password, email)
    const user = ctx.store.createUser(email, password)
    return { email_id: user.email_id, ...(await userLogin(ctx, body, user)) }
  }),

  post('/v1/passwords/authenticate', async (ctx, body) => {
    const email = reqString(body, 'email')
    const password = reqString(body, 'password')
    sessionMinutes(body)
    const existing = await sessionFromBody(ctx, body, 'consumer', false)
    const user = userOrFail(ctx, email)
    if (user.password !== password) errors.unauthorized()
    return userLogin(ctx, body, user, existing)
  }),

  post('/v1/passwords/strength_check', (_ctx, body) => {
    const s = checkStrength(reqString(body, 'password'), optString(body, 'email'))
    return {
      ...strengthCheckResponse(s),
      feedback: { warning: s.warning, suggestions: s.suggestions, luds_requirements: s.luds }
    }
  }),

  post('/v1/passwords/email/reset/start', (ctx, body) => {
    const email = reqString(body, 'email')
    const minutes = resetMinutes(body)
    const user = userOrFail(ctx, email)
    startReset(ctx, body, {
      vertical: 'consumer',
      email: user.email,
      subject_id: user.user_id,
      minutes
    })
    return { user_id: user.user_id, email_id: user.email_id }
  }),

  post('/v1/passwords/email/reset', async (ctx, body) => {
    const token = reqString(body, 'token')
    const password = reqString(body, 'password')
    sessionMinutes(body)
    const reset = redeemReset(ctx, 'consumer', token, optString(body, 'code_verifier'))
    const user = ctx.store.users.get(reset.subject_id ?? '') ?? errors.emailNotFound()
    assertStrong(password, user.email)
    reset.used = true
    user.password = password
    revokeAllSessions(ctx, user.user_id)
    return userLogin(ctx, body, user)
  }),

  post('/v1/passwords/existing_password/reset', async (ctx, body) => {
    const email = reqString(body, 'email')
    const existingPassword = reqString(body, 'existing_password')
    const newPassword = reqString(body, 'new_password')
    sessionMinutes(body)
    const user = userOrFail(ctx, email)
    if (user.password !== existingPassword) errors.unauthorized()
    assertStrong(newPassword, email)
    user.password = newPassword
    revokeAllSessions(ctx, user.user_id)
    return userLogin(ctx, body, user)
  }),

  post('/v1/passwords/session/reset', async (ctx, body) => {
    const password = reqString(body, 'password')
    const minutes = sessionMinutes(body)
    const session = (await sessionFromBody(ctx, body, 'consumer', true))!
    const user = ctx.store.users.get(session.subject_id) ?? errors.sessionNotFound()
    assertRecentlyAuthenticated(ctx, session)
    assertStrong(password, user.email)
    user.password = password
    revokeAllSessions(ctx, user.user_id, session)
    touchSession(ctx, session, minutes, body)
    return { user_id: user.user_id, user: userJson(user), ...(await sessionFields(ctx, session)) }
  }),

  post('/v1/sessions/authenticate', async (ctx, body) => {
    const minutes = sessionMinutes(body)
    const session = (await sessionFromBody(ctx, body, 'consumer', true))!
    const user = ctx.store.users.get(session.subject_id) ?? errors.sessionNotFound()
    touchSession(ctx, session, minutes, body)
    return { user: userJson(user), ...(await sessionFields(ctx, session)) }
  }),

  // GET /v1/sessions?user_id=: the user's active sessions, oldest first.
  get('/v1/sessions', (ctx, query) => {
    const user = ctx.store.users.get(reqString(query, 'user_id')) ?? errors.userNotFound()
    const sessions = ctx.store.activeSessions(user.user_id).filter((s) => s.vertical === 'consumer')
    return { sessions: sessions.map(sessionJson) }
  }),

  post('/v1/sessions/revoke', async (ctx, body) => {
    const id = optString(body, 'session_id')
    const token = optString(body, 'session_token')
    const jwt = optString(body, 'session_jwt')
    exactlyOne(['session_id', 'session_token', 'session_jwt'], [id, token, jwt])
    await revokeNamedSession(ctx, 'consumer', { id, token, jwt })
    return {}
  })
]
