import { randomUUID } from 'node:crypto'
import type { EmulatorContext } from './context.js'
import { errors, fail } from './errors.js'
import { optObject, optString, type Body } from './fields.js'
import { opaqueToken, stytchId } from './keys.js'
import { factorJson, iso } from './render.js'
import type { Factor, IntermediateSession, Session } from './store.js'

export const JWT_LIFETIME_SECONDS = 300
export const IST_LIFETIME_MS = 10 * 60_000
export const SESSION_CLAIM = 'https://stytch.com/session'
export const ORGANIZATION_CLAIM = 'https://stytch.com/organization'
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', SESSION_CLAIM, ORGANIZATION_CLAIM])

/** A factor of this type replaces an older one of the same type and delivery method. */
export function mergeFactors (existing: Factor[], added: Factor[]): Factor[] {
  const same = (a: Factor, b: Factor) => a.type === b.type && a.delivery_method === b.delivery_method
  return [...existing.filter((f) => !added.some((a) => same(a, f))), ...added]
}

/** `session_custom_claims`: reserved claims ignored, null deletes a key. */
export function applyClaims (current: Record<string, unknown>, body: Body): Record<string, unknown> {
  const claims = optObject(body, 'session_custom_claims')
  if (!claims) return current
  const next = { ...current }
  for (const [key, value] of Object.entries(claims)) {
    if (RESERVED_CLAIMS.has(key)) continue
    if (value === null) delete next[key]
    else next[key] = value
  }
  if (JSON.stringify(next).length > 4096) fail(400, 'invalid_session_custom_claims', 'Custom claims cannot exceed 4 KB.')
  return next
}

export interface NewSession {
  vertical: Session['vertical']
  subject_id: string
  organization_id?: string
  factors: Factor[]
  roles: string[]
  minutes: number
  body: Body
}

export function createSession (ctx: EmulatorContext, input: NewSession): Session {
  const now = ctx.clock.now()
  const session: Session = {
    vertical: input.vertical,
    session_id: stytchId(input.vertical === 'b2b' ? 'member-session' : 'session'),
    token: opaqueToken(),
    subject_id: input.subject_id,
    ...(input.organization_id !== undefined ? { organization_id: input.organization_id } : {}),
    started_at: now,
    last_accessed_at: now,
    expires_at: now + input.minutes * 60_000,
    revoked: false,
    factors: input.factors,
    custom_claims: applyClaims({}, input.body),
    roles: input.roles
  }
  ctx.store.addSession(session)
  return session
}

/** Marks a session used now; `minutes` (when sent) extends it from now; custom claims are applied. */
export function touchSession (ctx: EmulatorContext, session: Session, minutes: number | undefined, body: Body, added: Factor[] = []): Session {
  const now = ctx.clock.now()
  session.last_accessed_at = now
  if (minutes !== undefined) session.expires_at = now + minutes * 60_000
  session.custom_claims = applyClaims(session.custom_claims, body)
  session.factors = mergeFactors(session.factors, added)
  return session
}

function live (ctx: EmulatorContext, session: Session | undefined, vertical: Session['vertical']): Session | undefined {
  if (!session || session.revoked || session.vertical !== vertical) return undefined
  return session.expires_at > ctx.clock.now() ? session : undefined
}

/** The session a JWT names (signature checked, `exp` not: Stytch refreshes expired JWTs of live sessions). */
export async function sessionFromJwt (ctx: EmulatorContext, jwt: string, vertical: Session['vertical']): Promise<Session | undefined> {
  const claims = await ctx.keys.verifySignature(jwt)
  if (!claims) fail(401, 'unable_to_parse_session_jwt', 'The session JWT could not be parsed or its signature is invalid.')
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (claims.iss !== `stytch.com/${ctx.projectId}` || !audience.includes(ctx.projectId)) {
    fail(401, 'unable_to_parse_session_jwt', 'The session JWT was not issued for this project.')
  }
  const sessionClaim = claims[SESSION_CLAIM] as { id?: unknown } | undefined
  const id = typeof sessionClaim?.id === 'string' ? sessionClaim.id : undefined
  return live(ctx, id === undefined ? undefined : ctx.store.sessions.get(id), vertical)
}

export function sessionFromId (ctx: EmulatorContext, id: string, vertical: Session['vertical']): Session | undefined {
  return live(ctx, ctx.store.sessions.get(id), vertical)
}

export function sessionFromToken (ctx: EmulatorContext, token: string, vertical: Session['vertical']): Session | undefined {
  const id = ctx.store.sessionIdsByToken.get(token)
  return live(ctx, id === undefined ? undefined : ctx.store.sessions.get(id), vertical)
}

/**
 * The session named by `session_token` or `session_jwt` (exactly one when `required`).
 * Returns undefined when neither is sent and the session is optional.
 */
export async function sessionFromBody (
  ctx: EmulatorContext,
  body: Body,
  vertical: Session['vertical'],
  required: boolean
): Promise<Session | undefined> {
  const token = optString(body, 'session_token')
  const jwt = optString(body, 'session_jwt')
  if (token !== undefined && jwt !== undefined) {
    fail(400, 'too_many_session_arguments', 'Provide exactly one of session_token or session_jwt.')
  }
  if (token === undefined && jwt === undefined) {
    if (required) fail(400, 'no_session_arguments', 'Provide one of session_token or session_jwt.')
    return undefined
  }
  const session = token !== undefined ? sessionFromToken(ctx, token, vertical) : await sessionFromJwt(ctx, jwt!, vertical)
  return session ?? errors.sessionNotFound()
}

/** Stytch's "exactly one of" rule for session arguments. */
export function exactlyOne (names: string[], values: Array<string | undefined>): void {
  const given = values.filter((v) => v !== undefined).length
  if (given > 1) fail(400, 'too_many_session_arguments', `Provide exactly one of ${names.join(', ')}.`)
  if (given === 0) fail(400, 'no_session_arguments', `Provide one of ${names.join(', ')}.`)
}

/** Revokes the session named by its id, opaque token or JWT (exactly one given). */
export async function revokeNamedSession (
  ctx: EmulatorContext,
  vertical: Session['vertical'],
  ref: { id?: string | undefined; token?: string | undefined; jwt?: string | undefined }
): Promise<void> {
  const session =
    ref.id !== undefined
      ? sessionFromId(ctx, ref.id, vertical)
      : ref.token !== undefined
        ? sessionFromToken(ctx, ref.token, vertical)
        : await sessionFromJwt(ctx, ref.jwt!, vertical)
  revokeSession(ctx, session ?? errors.sessionNotFound())
}

export function revokeSession (ctx: EmulatorContext, session: Session): void {
  session.revoked = true
  ctx.store.sessionIdsByToken.delete(session.token)
}

/** Revokes every live session of a member or user, except `keep`. */
export function revokeAllSessions (ctx: EmulatorContext, subjectId: string, keep?: Session): void {
  for (const s of ctx.store.activeSessions(subjectId)) if (s !== keep) revokeSession(ctx, s)
}

/** A fresh session JWT (5 minutes, RS256) for a session. */
export async function sessionJwt (ctx: EmulatorContext, session: Session, organization?: { id: string; slug: string }): Promise<string> {
  const iat = Math.floor(ctx.clock.now() / 1000)
  return ctx.keys.sign({
    ...session.custom_claims,
    sub: session.subject_id,
    iss: `stytch.com/${ctx.projectId}`,
    aud: [ctx.projectId],
    iat,
    nbf: iat,
    exp: iat + JWT_LIFETIME_SECONDS,
    jti: randomUUID(),
    [SESSION_CLAIM]: {
      id: session.session_id,
      started_at: iso(session.started_at),
      last_accessed_at: iso(session.last_accessed_at),
      expires_at: iso(session.expires_at),
      attributes: { ip_address: '', user_agent: '' },
      authentication_factors: session.factors.map(factorJson),
      roles: session.roles
    },
    ...(organization ? { [ORGANIZATION_CLAIM]: { organization_id: organization.id, slug: organization.slug } } : {})
  })
}

export function createIntermediateSession (ctx: EmulatorContext, input: Omit<IntermediateSession, 'token' | 'expires_at'>): IntermediateSession {
  const ist: IntermediateSession = { ...input, token: opaqueToken(), expires_at: ctx.clock.now() + IST_LIFETIME_MS }
  ctx.store.addIntermediateSession(ist)
  return ist
}

export function intermediateSession (ctx: EmulatorContext, token: string | undefined): IntermediateSession {
  const ist = token === undefined ? undefined : ctx.store.intermediateSessions.get(token)
  if (!ist || ist.expires_at <= ctx.clock.now()) return errors.istNotFound()
  return ist
}

export function consumeIntermediateSession (ctx: EmulatorContext, ist: IntermediateSession): void {
  ctx.store.intermediateSessions.delete(ist.token)
}

/** Session reset: the newest factor must be under 5 minutes old. */
export function assertRecentlyAuthenticated (ctx: EmulatorContext, session: Session): void {
  const newest = Math.max(...session.factors.map((f) => f.last_authenticated_at))
  if (ctx.clock.now() - newest > 5 * 60_000) {
    fail(400, 'session_too_old_to_reset_password', 'The session must have been authenticated in the last 5 minutes to reset the password.')
  }
}

export function passwordFactor (ctx: EmulatorContext, emailId: string, email: string): Factor {
  const now = ctx.clock.now()
  return {
    type: 'password',
    delivery_method: 'knowledge',
    created_at: now,
    last_authenticated_at: now,
    email_factor: { email_id: emailId, email_address: email }
  }
}
