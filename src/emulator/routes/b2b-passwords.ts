import { completeB2B, discoveredOrganizations, organizationOrFail } from '../b2b.js'
import type { EmulatorContext } from '../context.js'
import { errors, fail } from '../errors.js'
import { normalizeEmail, optString, reqString, resetMinutes, sessionMinutes, type Body } from '../fields.js'
import { memberJson } from '../render.js'
import { redeemReset, startReset } from '../reset.js'
import { post, type EmulatorRoute } from '../route.js'
import {
  assertRecentlyAuthenticated,
  createIntermediateSession,
  intermediateSession,
  passwordFactor,
  revokeAllSessions,
  sessionFromBody
} from '../sessions.js'
import type { Member, Organization } from '../store.js'
import { checkStrength } from '../strength.js'
import { strengthCheckResponse } from './strength-check.js'

function assertStrong (password: string, email: string): void {
  if (!checkStrength(password, email).valid) errors.weakPassword()
}

/** Member and organization named by `organization_id` (id or slug) and `email_address`. */
function memberOf (ctx: EmulatorContext, body: Body): { org: Organization; member: Member | undefined; email: string } {
  const org = organizationOrFail(ctx, reqString(body, 'organization_id'))
  const email = reqString(body, 'email_address')
  return { org, member: ctx.store.memberIn(org.organization_id, email), email }
}

function checkPassword (ctx: EmulatorContext, email: string, password: string): void {
  if (ctx.store.memberPasswords.get(normalizeEmail(email)) !== password) errors.unauthorized()
}

/** Sets the cross-organization password of the member's email, after the strength check. */
function setPassword (ctx: EmulatorContext, member: Member, password: string): void {
  assertStrong(password, member.email_address)
  ctx.store.setMemberPassword(member.email_address, password)
  member.updated_at = ctx.clock.now()
}

export const b2bPasswordRoutes: EmulatorRoute[] = [
  post('/v1/b2b/passwords/authenticate', async (ctx, body) => {
    const { org, member, email } = memberOf(ctx, body)
    const password = reqString(body, 'password')
    sessionMinutes(body)
    const existing = await sessionFromBody(ctx, body, 'b2b', false)
    const istToken = optString(body, 'intermediate_session_token')
    const ist = istToken === undefined ? undefined : intermediateSession(ctx, istToken)
    if (!member) return errors.unauthorized()
    checkPassword(ctx, email, password)
    const sameMember = existing?.subject_id === member.member_id
    const result = await completeB2B(ctx, {
      member,
      org,
      body,
      added: [passwordFactor(ctx, member.member_email_id, member.email_address)],
      ...(sameMember && existing ? { extend: existing } : {}),
      ...(ist && ist.email === member.email_address ? { ist } : {})
    })
    return { organization_id: org.organization_id, ...result }
  }),

  post('/v1/b2b/passwords/strength_check', (_ctx, body) => {
    const s = checkStrength(reqString(body, 'password'), optString(body, 'email_address'))
    return {
      ...strengthCheckResponse(s),
      luds_feedback: s.luds,
      zxcvbn_feedback: { warning: s.warning, suggestions: s.suggestions }
    }
  }),

  post('/v1/b2b/passwords/email/reset/start', (ctx, body) => {
    const { org, member } = memberOf(ctx, body)
    const minutes = resetMinutes(body)
    if (!member) return errors.memberNotFound()
    startReset(ctx, body, {
      vertical: 'b2b',
      email: member.email_address,
      subject_id: member.member_id,
      organization_id: org.organization_id,
      minutes
    })
    return { member_id: member.member_id, member_email_id: member.member_email_id, member: memberJson(member) }
  }),

  post('/v1/b2b/passwords/email/reset', async (ctx, body) => {
    const token = reqString(body, 'password_reset_token')
    const password = reqString(body, 'password')
    sessionMinutes(body)
    const reset = redeemReset(ctx, 'b2b', token, optString(body, 'code_verifier'))
    const member = ctx.store.members.get(reset.subject_id ?? '') ?? errors.memberNotFound()
    const org = organizationOrFail(ctx, member.organization_id)
    setPassword(ctx, member, password)
    reset.used = true
    revokeAllSessions(ctx, member.member_id)
    const result = await completeB2B(ctx, {
      member,
      org,
      body,
      added: [passwordFactor(ctx, member.member_email_id, member.email_address)]
    })
    return { organization_id: org.organization_id, member_email_id: member.member_email_id, ...result }
  }),

  post('/v1/b2b/passwords/existing_password/reset', async (ctx, body) => {
    const { org, member, email } = memberOf(ctx, body)
    const existingPassword = reqString(body, 'existing_password')
    const newPassword = reqString(body, 'new_password')
    sessionMinutes(body)
    if (!member) return errors.unauthorized()
    checkPassword(ctx, email, existingPassword)
    setPassword(ctx, member, newPassword)
    revokeAllSessions(ctx, member.member_id)
    return completeB2B(ctx, {
      member,
      org,
      body,
      added: [passwordFactor(ctx, member.member_email_id, member.email_address)]
    })
  }),

  post('/v1/b2b/passwords/session/reset', async (ctx, body) => {
    const org = organizationOrFail(ctx, reqString(body, 'organization_id'))
    const password = reqString(body, 'password')
    sessionMinutes(body)
    const session = (await sessionFromBody(ctx, body, 'b2b', true))!
    if (session.organization_id !== org.organization_id) {
      fail(400, 'session_organization_mismatch', 'The session does not belong to this organization.')
    }
    const member = ctx.store.members.get(session.subject_id) ?? errors.memberNotFound()
    assertRecentlyAuthenticated(ctx, session)
    setPassword(ctx, member, password)
    revokeAllSessions(ctx, member.member_id, session)
    return completeB2B(ctx, { member, org, body, added: [], extend: session })
  }),

  post('/v1/b2b/passwords/discovery/authenticate', (ctx, body) => {
    const email = normalizeEmail(reqString(body, 'email_address'))
    const password = reqString(body, 'password')
    if (ctx.store.membersByEmail(email).length === 0) return errors.unauthorized()
    checkPassword(ctx, email, password)
    const member = ctx.store.membersByEmail(email)[0]!
    const ist = createIntermediateSession(ctx, {
      email,
      discovery: true,
      factors: [passwordFactor(ctx, member.member_email_id, email)]
    })
    return {
      email_address: email,
      intermediate_session_token: ist.token,
      discovered_organizations: discoveredOrganizations(ctx, email, ist.factors)
    }
  }),

  post('/v1/b2b/passwords/discovery/email/reset/start', (ctx, body) => {
    const email = normalizeEmail(reqString(body, 'email_address'))
    const minutes = resetMinutes(body)
    if (ctx.store.membersByEmail(email).length === 0) return errors.memberNotFound()
    startReset(ctx, body, {
      vertical: 'discovery',
      email,
      minutes
    })
    return {}
  }),

  post('/v1/b2b/passwords/discovery/email/reset', (ctx, body) => {
    const token = reqString(body, 'password_reset_token')
    const password = reqString(body, 'password')
    const reset = redeemReset(ctx, 'discovery', token, optString(body, 'pkce_code_verifier'))
    const members = ctx.store.membersByEmail(reset.email)
    const first = members[0] ?? errors.memberNotFound()
    setPassword(ctx, first, password)
    reset.used = true
    for (const m of members) revokeAllSessions(ctx, m.member_id)
    const ist = createIntermediateSession(ctx, {
      email: reset.email,
      discovery: true,
      factors: [passwordFactor(ctx, first.member_email_id, reset.email)]
    })
    return {
      intermediate_session_token: ist.token,
      email_address: reset.email,
      discovered_organizations: discoveredOrganizations(ctx, reset.email, ist.factors)
    }
  })
]
